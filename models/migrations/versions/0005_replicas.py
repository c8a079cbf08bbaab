"""replicas on one database: live nodes, shared job schedule, work done once

nodes: each running daemon and its last beat; job_schedule: when a forum's poll (or the
periodic check) is next due and who claimed it, with the forum's failure streak;
once_marks: the day's digest and each delivery, done at most once across nodes and restarts;
response_cases: an index on (unit_id, state) for the cases per unit that /metrics counts.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import models.tables


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nodes',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', models.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('beat_at', models.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('job_schedule',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('next_due_at', models.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', models.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('failing_since', models.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('alerted', sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('once_marks',
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('node', sa.String(length=200), nullable=False),
    sa.Column('at', models.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('job', 'key')
    )
    op.create_index('ix_cases_unit_state', 'response_cases', ['unit_id', 'state'])


def downgrade() -> None:
    op.drop_index('ix_cases_unit_state', table_name='response_cases')
    op.drop_table('once_marks')
    op.drop_table('job_schedule')
    op.drop_table('nodes')
