"""incremental check and per-thread poll bookkeeping

threads: read_pending, max_floor (what the poller needs, kept on the row), version and
checked_version (what the incremental check selects, through a partial index);
response_cases: an index on (state, due_at) for cases whose deadline passed, one on answered_at
for the digest of a past day; posts: an index on
the spokesperson posts' times, for answers that "now" has reached;
poll_runs.owner (host:pid) so a poll whose process died shows as abandoned, and an index
that finds each forum's newest run without reading the history;
check_state: the check's bookkeeping row, also its lock.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import models.tables


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_UNCHECKED = sa.text("version <> checked_version")
_SPOKESPERSON = sa.text("unit_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_pending', sa.Boolean(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('max_floor', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('checked_version', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE threads SET read_pending = (read_at IS NULL OR read_at < changed_at)")
    op.execute("UPDATE threads SET max_floor = COALESCE((SELECT max(p.floor) FROM posts p WHERE "
               "p.thread_id = threads.id AND p.deleted_at IS NULL), 0)")
    op.create_index('ix_threads_unchecked', 'threads', ['id'], sqlite_where=_UNCHECKED,
                    postgresql_where=_UNCHECKED)
    op.create_index('ix_cases_state_due', 'response_cases', ['state', 'due_at'])
    op.create_index('ix_cases_answered', 'response_cases', ['answered_at'])
    op.create_index('ix_posts_unit_posted', 'posts', ['posted_at'], sqlite_where=_SPOKESPERSON,
                    postgresql_where=_SPOKESPERSON)
    with op.batch_alter_table('poll_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=200), nullable=True))
    op.create_index('ix_poll_runs_forum_newest', 'poll_runs', ['forum_id', 'id'])
    op.create_table('check_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('checked_now', models.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', models.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('full_at', models.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO check_state (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table('check_state')
    op.drop_index('ix_poll_runs_forum_newest', table_name='poll_runs')
    with op.batch_alter_table('poll_runs', schema=None) as batch_op:
        batch_op.drop_column('owner')
    op.drop_index('ix_posts_unit_posted', table_name='posts')
    op.drop_index('ix_cases_answered', table_name='response_cases')
    op.drop_index('ix_cases_state_due', table_name='response_cases')
    op.drop_index('ix_threads_unchecked', table_name='threads')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_column('checked_version')
        batch_op.drop_column('version')
        batch_op.drop_column('max_floor')
        batch_op.drop_column('read_pending')
