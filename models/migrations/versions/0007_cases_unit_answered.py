"""a unit's latest answers: ix_cases_unit_answered

The bulletin compares each answer of the period with the unit's latest earlier answers
(boilerplate); this index reads them newest first without sorting the unit's whole history.

Revision ID: 0007
Revises: 0006
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_unit_answered', 'response_cases', ['unit_id', 'answered_at'])


def downgrade() -> None:
    op.drop_index('ix_cases_unit_answered', table_name='response_cases')
