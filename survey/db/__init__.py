"""Database: engine and session setup, typed ORM models (one module per aggregate), Alembic migrations."""
