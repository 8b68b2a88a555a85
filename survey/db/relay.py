"""Pooled connections handed from a finishing request straight to a waiting one (the PostgreSQL intake).

Under load more requests want a connection than the pool holds (64 clients, 10 connections).  Taking a
connection out of SQLAlchemy's pool and putting it back costs two greenlet switches and the pool's own
bookkeeping (about 0.1 ms of CPU per JSON response, a fifth of what the server spends on one).  A
:class:`ConnectionRelay` lets at most pool-size (+ overflow) requests hold a connection at once, like
:func:`survey.db.engine.checkout_gate`, and when a request is done with its connection while others
wait, the first waiter gets that connection as it is; only when nobody waits does it go back to the
pool.  So nothing is held idle: with no load the pool has every connection.

Under a sustained burst the waiters never run out, so a connection is handed on only while it is
healthy and younger than :data:`MAX_HOLD_SECONDS` since it left the pool; then it goes back, and the
pool gives it to whoever waits there first (a page, a session lookup) before the relay's next
checkout.  Other parts of the app thus wait at most about that long for a connection, as they would
in the pool's own queue, and the pool's recycling and invalidation still apply to every connection.
It uses the pool's public API only (``AsyncEngine.raw_connection``, ``close``, ``invalidate``).
Statements run on a relayed connection must leave it as the pool would (no open transaction): the
intake's one autocommit statement does.
"""

from __future__ import annotations

import asyncio
import collections
import time
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from survey.db.engine import pool_capacity

#: a connection out of the pool longer than this goes back to it instead of to a waiter (at 2,000 answers/s
#: and 10 connections: 20 checkouts a second instead of 2,000, and a page waits at most about this long)
MAX_HOLD_SECONDS = 0.5


class Lease:
    """A pooled DBAPI connection (SQLAlchemy's adapted connection) and when it left the pool."""

    __slots__ = ("raw", "since")

    def __init__(self, raw: Any, since: float) -> None:
        self.raw = raw
        self.since = since

    @property
    def driver(self) -> Any:
        """The driver's own connection (asyncpg's ``Connection``)."""
        return self.raw.driver_connection


class ConnectionRelay:
    """At most ``capacity`` leases at once; a released lease goes to the first waiter, else to the pool."""

    def __init__(self, engine: AsyncEngine, capacity: int, max_hold: float = MAX_HOLD_SECONDS) -> None:
        self._engine = weakref.ref(engine)  # the registry below is keyed by the engine: no strong reference back
        self._free = capacity  # slots nobody holds: a coroutine taking one checks out from the pool
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._closing: set[asyncio.Task] = set()
        self.max_hold = max_hold

    async def acquire(self) -> Lease:
        """A connection: a free slot checks out from the pool; otherwise wait for one handed on (FIFO)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return await self._checkout()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            handed = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # given a lease or a slot just before the cancellation
                self._pass_on(waiter.result())
            else:
                self._waiters.remove(waiter)
            raise
        return handed if handed is not None else await self._checkout()

    async def release(self, lease: Lease, *, reusable: bool = True) -> None:
        """Hand ``lease`` to the first waiter if it is ``reusable`` and not held too long; else return it to the pool."""
        if reusable and time.monotonic() - lease.since < self.max_hold and self._hand_to_waiter(lease):
            return
        try:
            await greenlet_spawn(lease.raw.close)
        finally:
            self._slot_freed()

    async def _checkout(self) -> Lease:
        try:
            engine = self._engine()
            if engine is None:
                raise RuntimeError("the engine of this connection relay is gone")
            raw = await engine.raw_connection()
        except BaseException:
            self._slot_freed()
            raise
        return Lease(raw, time.monotonic())

    def _hand_to_waiter(self, lease: Lease | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(lease)
                return True
        return False

    def _slot_freed(self) -> None:
        """A slot is free again: the first waiter takes it (and checks out itself), or it stays free."""
        if not self._hand_to_waiter(None):
            self._free += 1

    def _pass_on(self, given: Lease | None) -> None:
        """What a cancelled waiter was given goes to the next waiter, or back to the pool (without awaiting)."""
        if given is None:
            self._slot_freed()
        elif not self._hand_to_waiter(given):
            task = asyncio.get_running_loop().create_task(self.release(given, reusable=False))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


#: per (sync) engine and event loop: its relay (asyncpg connections belong to one loop)
_RELAYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


#: the last relay looked up, by (engine, loop): one app process has one of each (it keeps that engine alive)
_last: tuple[Any, Any, ConnectionRelay | None] = (None, None, None)


def connection_relay(engine: AsyncEngine) -> ConnectionRelay | None:
    """The relay of ``engine`` for the running loop, as wide as its pool; None for a pool without a fixed size."""
    global _last
    loop = asyncio.get_running_loop()
    if _last[0] is engine and _last[1] is loop:
        return _last[2]
    relay = _relay_for(engine, loop)
    _last = (engine, loop, relay)
    return relay


def _relay_for(engine: AsyncEngine, loop: asyncio.AbstractEventLoop) -> ConnectionRelay | None:
    capacity = pool_capacity(engine)
    if capacity is None:
        return None
    per_loop = _RELAYS.setdefault(engine.sync_engine, {})
    relay = per_loop.get(loop)
    if relay is None:
        for old in [key for key in per_loop if key.is_closed()]:
            del per_loop[old]
        relay = per_loop[loop] = ConnectionRelay(engine, capacity)
    elif relay._engine() is not engine:  # another AsyncEngine over the same pool: check out through the live one
        relay._engine = weakref.ref(engine)
    return relay
