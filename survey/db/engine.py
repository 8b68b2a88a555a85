"""Async engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs) -> AsyncEngine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so concurrent writers queue."""
    if is_sqlite(url):
        if make_url(url).database not in (None, "", ":memory:"):
            # a fixed pool: an overflow connection is a new driver thread plus the pragmas below, each time
            kwargs.setdefault("pool_size", DEFAULT_POOL_SIZE)
            kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # a fixed pool and no overflow by default: overflow connections are closed when returned and
    # reopened on the next burst (connection churn), and N workers x (pool + overflow) must stay
    # under the server's max_connections (see pool_options and `hailong serve --workers`)
    kwargs.setdefault("pool_size", DEFAULT_POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


DEFAULT_POOL_SIZE = 10


def pool_options(settings) -> dict:
    """Engine keyword arguments for the pool of one app process (HAILONG_DB_POOL_SIZE, ..._MAX_OVERFLOW, ..._POOL_TIMEOUT)."""
    if is_sqlite(settings.database_url):
        if make_url(settings.database_url).database in (None, "", ":memory:"):
            return {}
        return {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
    return {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow, "pool_timeout": settings.db_pool_timeout}


def connections_per_process(settings) -> int:
    """The most connections one app process opens to PostgreSQL."""
    return settings.db_pool_size + settings.db_max_overflow


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
