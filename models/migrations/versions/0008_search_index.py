"""thread search: search_grams and search_state

search_grams: the bigram inverted index of threads' titles and posts' bodies (gram, thread_id),
a WITHOUT ROWID table on SQLite so the primary key is the table, clustered by gram;
search_state: the indexer's cursors (one row), also its lock. The index is filled by the
indexer (models.search_store.SearchStore.index_search), not here: after the upgrade the next
poll indexes the stored history in batches.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_grams',
    sa.Column('gram', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('thread_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('gram', 'thread_id'),
    sqlite_with_rowid=False
    )
    op.create_table('search_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('revision_id', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('count_id', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('thread_id', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('gaps', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO search_state (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table('search_state')
    op.drop_table('search_grams')
