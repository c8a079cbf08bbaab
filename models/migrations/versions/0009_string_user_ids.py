"""user ids as text: threads.author_uid, posts.author_uid, account_presence.uid

A forum's user id is a number on Discuz! and phpwind but a name on many others (profile links
``/user/<name>``, ``/u/<name>/summary``), so the columns become VARCHAR(200); every stored
number becomes its decimal string (1001 → '1001'), and nothing else changes.

PostgreSQL: ALTER COLUMN … TYPE … USING author_uid::text (the table is rewritten in place).
SQLite: threads and posts are referenced by other tables, and recreating a table (what batch
mode does to change a type) drops it, which the foreign keys refuse while rows reference it;
so a text column is added, filled from the number, the old column dropped (ALTER TABLE DROP
COLUMN, SQLite 3.35+) and the new one renamed — the column moves to the end of the table,
which nothing depends on. account_presence (referenced by nothing) is recreated in batch mode.

Downgrade: numeric ids go back to numbers; a name id has no number, so it becomes NULL on
threads and posts, and its account_presence row (a cache of profile checks) is deleted.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_TEXT = sa.String(length=200)
_AUTHORED = ('threads', 'posts')
# a text id that is a number a BIGINT holds (at most 18 digits: never out of range)
_PG_NUMERIC = "author_uid ~ '^[0-9]{1,18}$'"
_SQLITE_NUMERIC = ("author_uid <> '' AND author_uid NOT GLOB '*[^0-9]*' AND length(author_uid) <= 18")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for table in _AUTHORED:
            _swap_sqlite_column(table, _TEXT, "CAST(author_uid AS TEXT)", "author_uid IS NOT NULL")
    else:
        for table in _AUTHORED:
            op.alter_column(table, 'author_uid', type_=_TEXT, existing_type=sa.BigInteger(),
                            existing_nullable=True, postgresql_using='author_uid::text')
    with op.batch_alter_table('account_presence', schema=None) as batch_op:
        batch_op.alter_column('uid', type_=_TEXT, existing_type=sa.BigInteger(), existing_nullable=False,
                              postgresql_using='uid::text')


def downgrade() -> None:
    op.execute(f"DELETE FROM account_presence WHERE NOT ({_numeric('uid')})")
    with op.batch_alter_table('account_presence', schema=None) as batch_op:
        batch_op.alter_column('uid', type_=sa.BigInteger(), existing_type=_TEXT, existing_nullable=False,
                              postgresql_using='uid::bigint')
    if op.get_bind().dialect.name == 'sqlite':
        for table in _AUTHORED:
            _swap_sqlite_column(table, sa.BigInteger(), "CAST(author_uid AS INTEGER)", _SQLITE_NUMERIC)
    else:
        for table in _AUTHORED:
            op.alter_column(table, 'author_uid', type_=sa.BigInteger(), existing_type=_TEXT, existing_nullable=True,
                            postgresql_using=f"CASE WHEN {_PG_NUMERIC} THEN author_uid::bigint END")


def _numeric(column: str) -> str:
    """SQL: the text id in ``column`` is a number (either database)."""
    pattern = _PG_NUMERIC if op.get_bind().dialect.name != 'sqlite' else _SQLITE_NUMERIC
    return pattern.replace('author_uid', column)


def _swap_sqlite_column(table: str, type_, value: str, where: str) -> None:
    """Give ``table.author_uid`` the type ``type_`` on SQLite without recreating the table:
    a new column filled with ``value`` where ``where`` holds, the old one dropped, the new renamed."""
    import sqlite3
    if sqlite3.sqlite_version_info < (3, 35):  # DROP COLUMN; checked before anything changes
        raise RuntimeError(f"this migration needs SQLite 3.35 or newer (DROP COLUMN); this Python has "
                           f"{sqlite3.sqlite_version}: use a newer Python, or PostgreSQL")
    with op.batch_alter_table(table, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('author_uid_new', type_, nullable=True))
    op.execute(f"UPDATE {table} SET author_uid_new = {value} WHERE {where}")
    with op.batch_alter_table(table, recreate='never') as batch_op:
        batch_op.drop_column('author_uid')
    with op.batch_alter_table(table, recreate='never') as batch_op:
        batch_op.alter_column('author_uid_new', new_column_name='author_uid', existing_type=type_,
                              existing_nullable=True)
