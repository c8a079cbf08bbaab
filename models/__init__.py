"""Storage: SQLAlchemy 2 models, the repository, and Alembic migrations."""
