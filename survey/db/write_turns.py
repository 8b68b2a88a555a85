"""SQLite write turns: this process's writing transactions queue on an asyncio lock (no-op on PostgreSQL)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

#: one per event loop: on SQLite, this process's writing transactions take turns (see sqlite_write_turn)
_WRITE_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def _holds_sqlite_transaction(session: AsyncSession) -> bool | None:
    """None when the session is not on SQLite; else whether its connection is inside BEGIN ... COMMIT."""
    bind = session.bind
    if bind is None or bind.dialect.name != "sqlite":
        return None
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return bool(getattr(raw.driver_connection, "in_transaction", False))


@asynccontextmanager
async def sqlite_write_turn(session: AsyncSession) -> AsyncIterator[None]:
    """Wrap a session's writes and their commit: on SQLite, one writing transaction at a time per process.

    SQLite allows one writer; a second one waits in SQLite's busy handler, which sleeps in growing
    steps (up to 100 ms) and under load makes tail latency jump to seconds.  Queueing the writers of
    this process on an asyncio lock instead hands the write lock over as soon as it is released.
    Other processes (CLI imports) still meet the busy timeout as before.  A session already inside a
    writing transaction does not wait (it may hold the database lock another turn is waiting for).
    No-op on PostgreSQL.
    """
    holding = await _holds_sqlite_transaction(session)
    if holding is None or holding:
        yield
        return
    loop = asyncio.get_running_loop()
    lock = _WRITE_TURNS.get(loop)
    if lock is None:
        lock = _WRITE_TURNS[loop] = asyncio.Lock()
    async with lock:
        yield
