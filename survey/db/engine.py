"""Async engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


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
    # no pre-ping (a round trip before every checkout): a dead connection fails its statement, SQLAlchemy
    # then invalidates it and every older pooled connection, and the next checkout connects afresh; the
    # intake path retries such a statement once (survey/responses/services.py)
    kwargs.setdefault("pool_recycle", 3600)
    # no JIT compilation: the platform's queries are short, and on the few aggregates over a whole period
    # (an index run's receipt counts) PostgreSQL's cost estimate switches JIT on and spends ~0.2 s compiling
    # a query that then runs in ~0.1 s
    # JSON parameters encoded by msgspec, not the json module (a few µs per JSON response): JSONB keeps the
    # parsed value, so the text's spacing and escapes do not reach the database
    kwargs.setdefault("json_serializer", _json_text)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("server_settings", {}).setdefault("jit", "off")
    return create_async_engine(url, connect_args=connect_args, **kwargs)


DEFAULT_POOL_SIZE = 10


def _json_text(value) -> str:
    return msgspec.json.encode(value).decode()


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


def pool_capacity(engine: AsyncEngine) -> int | None:
    """The most connections ``engine``'s pool lends at once (size + overflow); None for a pool without a fixed size."""
    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", -1)  # QueuePool keeps max_overflow only here
    if not callable(size) or overflow < 0:
        return None
    return size() + overflow


#: per engine and event loop: a semaphore as wide as the engine's pool (see checkout_gate)
_GATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def checkout_gate(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager:
    """An ``async with`` that lets at most pool-size (+ overflow) coroutines check out a connection at once.

    Under more concurrent requests than connections, waiting on an asyncio semaphore (one future, FIFO)
    costs far less than waiting inside the pool's checkout (on Python 3.11 a task and a timer per waiter).
    The pool's own timeout still applies once through the gate.  A pool without a fixed size: no gate.
    """
    capacity = pool_capacity(engine)
    if capacity is None:
        return contextlib.nullcontext()
    per_loop = _GATES.setdefault(engine.sync_engine, {})
    loop = asyncio.get_running_loop()
    gate = per_loop.get(loop)
    if gate is None:
        for old in [key for key in per_loop if key.is_closed()]:
            del per_loop[old]
        gate = per_loop[loop] = asyncio.Semaphore(capacity)
    return gate


@contextlib.asynccontextmanager
async def single_statement_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for one self-contained statement: autocommit on PostgreSQL (no BEGIN and
    COMMIT/ROLLBACK round trips around it).  On SQLite the driver starts no transaction for a SELECT,
    and switching aiosqlite's mode would cost two trips to its thread, so the connection is as it is."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
