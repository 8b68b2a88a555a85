"""SQLite write turns: this process's writing transactions queue on an asyncio lock (no-op on PostgreSQL)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.pool import StaticPool

T = TypeVar("T")

#: one per event loop: on SQLite, this process's writing transactions take turns (see sqlite_write_turn)
_WRITE_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _write_turn() -> asyncio.Lock:
    """This event loop's lock that SQLite writers of this process queue on."""
    loop = asyncio.get_running_loop()
    lock = _WRITE_TURNS.get(loop)
    if lock is None:
        lock = _WRITE_TURNS[loop] = asyncio.Lock()
    return lock


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
    async with _write_turn():
        yield


# --------------------------------------------------------------------------- one-row inserts in one turn

#: per SQLite database file: a synchronous engine and the one thread its writes run on
_SQLITE_WRITERS: dict[tuple[str, str], tuple[Engine, ThreadPoolExecutor]] = {}


#: writer and reader threads kept open at once (two in production; tests open many databases one after another)
_MAX_WRITERS = 8


def _sqlite_writer(async_url: str, role: str = "writer") -> tuple[Engine, ThreadPoolExecutor]:
    writer = _SQLITE_WRITERS.get((async_url, role))
    if writer is None:
        while len(_SQLITE_WRITERS) >= _MAX_WRITERS:  # close the oldest (its pending writes finish first)
            old_engine, old_executor = _SQLITE_WRITERS.pop(next(iter(_SQLITE_WRITERS)))
            old_executor.submit(old_engine.dispose)
            old_executor.shutdown(wait=False)
        url = make_url(async_url).set(drivername="sqlite")
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, poolclass=StaticPool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        writer = _SQLITE_WRITERS[(async_url, role)] = (engine, ThreadPoolExecutor(1, thread_name_prefix=f"hailong-sqlite-{role}"))
    return writer


def _insert(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    conn.execute(insert(table), values)


async def insert_row(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """Insert one row and commit it, holding SQLite's write lock as briefly as possible.

    On PostgreSQL (and on SQLite when ``session`` is already inside a writing transaction) this is
    a Core INSERT and a commit on the session.  On SQLite otherwise the INSERT and its COMMIT run
    back to back in one call on a writer thread, inside this process's write turn: the database
    lock is held for one trip to a thread instead of two (flush, then commit), each of which had to
    wait for the busy event loop to resume the coroutine that held the lock.  Raises
    ``sqlalchemy.exc.IntegrityError`` on a unique violation, as a flush would.
    """
    holding = await _holds_sqlite_transaction(session)
    if holding is None or holding:
        await session.execute(insert(table), values)
        await session.commit()
        return
    url = session.bind.url.render_as_string(hide_password=False)
    if make_url(url).database in (None, "", ":memory:"):  # an in-memory database exists only on its own connection
        await session.execute(insert(table), values)
        await session.commit()
        return
    await session.commit()  # end this session's transaction (nothing written in it) so it sees the row afterwards
    await sqlite_writer_call(url, _insert, table, values)


def sqlite_file_url(engine: AsyncEngine) -> str | None:
    """The URL of ``engine`` when it is a SQLite database file (one the writer thread can open), else None."""
    if engine.dialect.name != "sqlite":
        return None
    url = engine.url
    if url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def _in_transaction(engine: Engine, fn: Callable[..., T], args: tuple) -> T:
    with engine.begin() as conn:  # the statements and their COMMIT back to back on the writer thread
        return fn(conn, *args)


async def sqlite_writer_call(async_url: str, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(connection, *args)`` in one transaction on the SQLite writer thread, in this process's write turn.

    The write lock is taken and released inside that one call (BEGIN, statements, COMMIT without a trip
    back to the event loop in between), so the next writer gets it as soon as the driver is done.
    """
    loop = asyncio.get_running_loop()
    async with _write_turn():
        engine, executor = _sqlite_writer(async_url)  # looked up and used with no await between
        return await loop.run_in_executor(executor, _in_transaction, engine, fn, args)


# --------------------------------------------------------------------------- group commit

#: per event loop, per (database URL, function): the rows waiting for the next group (see sqlite_group_call)
_GROUPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, Callable], _Group]] = weakref.WeakKeyDictionary()
#: most rows committed in one group (bounds how long one transaction holds the write lock)
MAX_GROUP = 128


class _Group:
    __slots__ = ("pending", "task")

    def __init__(self) -> None:
        self.pending: list[tuple[Any, asyncio.Future]] = []
        self.task: asyncio.Task | None = None


async def sqlite_group_call(async_url: str, fn: Callable[[Connection, Any], T], item: Any) -> T:
    """Run ``fn(connection, item)`` on the SQLite writer thread, committed together with the other calls of
    ``fn`` waiting at the same time (group commit): one trip to the thread, one transaction and one WAL sync
    for the whole group instead of one each.

    Returns (or raises) what ``fn`` returned (raised) for this item, and only once the group's COMMIT has
    succeeded: an acknowledged row is durable.  If the COMMIT fails, every call of the group raises.  ``fn``
    should be one statement (and reads): a statement that fails is undone by SQLite alone and the group goes
    on; if SQLite rolls back the whole transaction instead, the group is run again without the failing item.
    Items of one group run in arrival order, each sees the rows of the ones before it (a second answer for the
    same receipt in one group is refused like any other).  Groups queue on the process's write turn, as every
    other writer does; a group is formed when the turn comes, so under no load a group is one row.
    """
    loop = asyncio.get_running_loop()
    per_loop = _GROUPS.get(loop)
    if per_loop is None:
        per_loop = _GROUPS[loop] = {}
    group = per_loop.get((async_url, fn))
    if group is None:
        group = per_loop[(async_url, fn)] = _Group()
    future = loop.create_future()
    group.pending.append((item, future))
    if group.task is None:  # its own task: a caller that goes away (client disconnect) does not strand the others
        group.task = loop.create_task(_drain(group, async_url, fn))
    return await future


async def _drain(group: _Group, async_url: str, fn: Callable) -> None:
    loop = asyncio.get_running_loop()
    try:
        while group.pending:
            async with _write_turn():
                batch, group.pending = group.pending[:MAX_GROUP], group.pending[MAX_GROUP:]
                engine, executor = _sqlite_writer(async_url)
                try:
                    results = await loop.run_in_executor(executor, _group_in_transaction, engine, fn, [item for item, _ in batch])
                except BaseException as exc:  # the COMMIT (or the thread) failed: nothing of the group is acknowledged
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("group commit interrupted"))
                    if not isinstance(exc, Exception):
                        raise
                    continue
            for (_, future), (ok, value) in zip(batch, results, strict=True):
                if not future.done():  # a caller that was cancelled meanwhile
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
    except BaseException:  # pragma: no cover - the loop is shutting down: the rows not yet taken are not written
        for _, future in group.pending:
            if not future.done():
                future.cancel()
        group.pending = []
        raise
    finally:
        group.task = None


def _group_in_transaction(engine: Engine, fn: Callable, items: list) -> list[tuple[bool, Any]]:
    """On the writer thread: every item in one transaction; (True, result) or (False, exception) per item."""
    results: list[tuple[bool, Any]] = [(False, None)] * len(items)
    todo = list(range(len(items)))
    while todo:
        with engine.begin() as conn:  # its COMMIT at the end: an exception there reaches every caller
            driver = conn.connection.driver_connection
            for n, i in enumerate(todo):
                try:
                    results[i] = (True, fn(conn, items[i]))
                except Exception as exc:
                    results[i] = (False, exc)
                    if not driver.in_transaction:  # SQLite rolled back the whole transaction: again without this item
                        todo = [j for j in todo[:n] if results[j][0]] + todo[n + 1 :]
                        break
            else:
                todo = []
    return results


def _read(engine: Engine, fn: Callable[..., T], args: tuple) -> T:
    with engine.connect() as conn:
        return fn(conn, *args)


async def sqlite_reader_call(async_url: str, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(connection, *args)`` (reads only) on this database's reader thread: one trip to a thread
    instead of aiosqlite's several (execute, fetch, close, rollback).  WAL lets it read while a write runs."""
    engine, executor = _sqlite_writer(async_url, "reader")
    return await asyncio.get_running_loop().run_in_executor(executor, _read, engine, fn, args)


def dispose_sqlite_writers() -> None:
    """Close the writer engines (tests and shutdown)."""
    for engine, executor in _SQLITE_WRITERS.values():
        executor.shutdown(wait=True)
        engine.dispose()
    _SQLITE_WRITERS.clear()
