"""corrections by the office: case_overrides

case_overrides: every assign / exclude / include the office recorded for a thread, with its
reason, who and when (kept as history); the rules check applies the latest ones, read by
thread id through ix_case_overrides_thread.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import models.tables


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.String(length=64), nullable=False),
    sa.Column('tid', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by_user', sa.String(length=200), nullable=False),
    sa.Column('at', models.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_case_overrides_thread', 'case_overrides', ['thread_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_case_overrides_thread', table_name='case_overrides')
    op.drop_table('case_overrides')
