"""The connection relay (survey/db/relay.py): pooled connections handed from one request to the next waiting one.

With a stand-in engine whose "pool" counts checkouts and returns, the relay's promises are checked one by one:
never more leases than the pool lends, a released connection goes to the first waiter unchanged, nothing is
kept when nobody waits, a broken or old connection goes back to the pool, and a waiter that is cancelled
loses nothing.  Then the real intake under a burst larger than the pool, on the test database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest
from sqlalchemy import event, func, select, text

from survey.db.engine import make_engine
from survey.db.models import Response
from survey.db.relay import ConnectionRelay
from survey.responses import pages, services
from tests.conftest import is_postgres, make_receipt, make_unit


class FakeRaw:
    """A checked-out connection: ``close`` returns it to the fake pool."""

    def __init__(self, pool: FakePool, n: int) -> None:
        self.pool, self.n = pool, n

    def close(self) -> None:
        self.pool.returned.append(self.n)
        self.pool.out -= 1


class FakePool:
    def __init__(self) -> None:
        self.numbers = itertools.count(1)
        self.out = 0  # connections lent right now
        self.most_out = 0
        self.returned: list[int] = []
        self.fail_next = False

    async def raw_connection(self) -> FakeRaw:  # the AsyncEngine method the relay calls
        await asyncio.sleep(0)
        if self.fail_next:
            self.fail_next = False
            raise ConnectionRefusedError("database down")
        self.out += 1
        self.most_out = max(self.most_out, self.out)
        return FakeRaw(self, next(self.numbers))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_no_more_leases_than_the_pool_lends_and_the_next_waits():
    pool = FakePool()
    relay = ConnectionRelay(pool, capacity=2)
    a, b = await relay.acquire(), await relay.acquire()
    third = asyncio.ensure_future(relay.acquire())
    await settle()
    assert not third.done() and pool.out == 2
    await relay.release(a)
    assert (await third) is a  # handed on as it is: not returned, no new checkout
    assert pool.returned == [] and pool.out == 2
    await relay.release(b)
    await relay.release(a)
    assert sorted(pool.returned) == [1, 2] and pool.out == 0  # nobody waiting: both back in the pool


async def test_waiters_are_served_in_arrival_order():
    pool = FakePool()
    relay = ConnectionRelay(pool, capacity=1)
    lease = await relay.acquire()
    order = []

    async def want(name: str) -> None:
        got = await relay.acquire()
        order.append(name)
        await relay.release(got)

    tasks = [asyncio.ensure_future(want(n)) for n in "xyz"]
    await settle()
    await relay.release(lease)
    await asyncio.gather(*tasks)
    assert order == ["x", "y", "z"]
    assert pool.most_out == 1 and pool.out == 0 and pool.returned == [1]  # one connection served all four


async def test_a_broken_connection_goes_back_and_the_waiter_checks_out_a_fresh_one():
    pool = FakePool()
    relay = ConnectionRelay(pool, capacity=1)
    broken = await relay.acquire()
    waiter = asyncio.ensure_future(relay.acquire())
    await settle()
    await relay.release(broken, reusable=False)
    fresh = await waiter
    assert fresh is not broken and pool.returned == [broken.raw.n] and pool.out == 1


async def test_a_connection_held_too_long_goes_back_to_the_pool():
    pool = FakePool()
    relay = ConnectionRelay(pool, capacity=1, max_hold=10.0)
    old = await relay.acquire()
    old.since -= 11.0  # out of the pool for 11 s
    waiter = asyncio.ensure_future(relay.acquire())
    await settle()
    await relay.release(old)
    assert (await waiter) is not old and pool.returned == [old.raw.n]


async def test_a_waiter_cancelled_while_waiting_takes_nothing():
    pool = FakePool()
    relay = ConnectionRelay(pool, capacity=1)
    lease = await relay.acquire()
    gone = asyncio.ensure_future(relay.acquire())
    await settle()
    gone.cancel()
    await settle()
    later = asyncio.ensure_future(relay.acquire())
    await settle()
    await relay.release(lease)
    assert (await later) is lease and gone.cancelled()


async def test_a_waiter_cancelled_after_it_was_handed_a_connection_passes_it_on():
    pool = FakePool()
    relay = ConnectionRelay(pool, capacity=1)
    lease = await relay.acquire()
    first = asyncio.ensure_future(relay.acquire())
    second = asyncio.ensure_future(relay.acquire())
    await settle()
    await relay.release(lease)  # handed to `first`, which has not run yet
    first.cancel()
    assert (await second) is lease  # not lost with the cancelled task
    await relay.release(lease)
    assert pool.out == 0

    lone = await relay.acquire()
    cancelled = asyncio.ensure_future(relay.acquire())
    await settle()
    await relay.release(lone)
    cancelled.cancel()  # nobody else waits: the connection goes back to the pool
    await settle()
    assert pool.out == 0 and pool.returned[-1] == lone.raw.n


async def test_a_failed_checkout_frees_its_slot():
    pool = FakePool()
    relay = ConnectionRelay(pool, capacity=1)
    pool.fail_next = True
    with pytest.raises(ConnectionRefusedError):
        await relay.acquire()
    lease = await asyncio.wait_for(relay.acquire(), 1)  # the slot was not lost
    await relay.release(lease)
    assert pool.out == 0


async def test_intake_burst_larger_than_the_pool(db, settings):
    """60 answers at once on a pool of 3: each stored once, all connections back in the pool afterwards, and on
    PostgreSQL most answers got their connection from the answer before them, not from the pool."""
    unit = await make_unit(db)
    receipts = [await make_receipt(db, unit, dossier_code=f"000.00.01.H01-261202-{i:04d}") for i in range(60)]
    engine = make_engine(settings.database_url, pool_size=3, max_overflow=0)
    checkouts = []
    event.listen(engine.sync_engine.pool, "checkout", lambda *_: checkouts.append(1))

    async def answer(receipt_id: int) -> bool:
        sub = pages.receipt_submission(receipt_id, answers={"access": 4, "procedure": 5, "officer": 3, "result": 4, "feedback": 2},
                                       overall=4, expectations=[], comment=None, language="vi")
        return (await services.store_receipt_response(engine, sub)).created

    try:
        first = await asyncio.gather(*(answer(r.id) for r in receipts))
        again = await asyncio.gather(*(answer(r.id) for r in receipts[:10]), return_exceptions=True)
        assert all(first)
        assert all(isinstance(e, services.AlreadyAnswered) for e in again)
        assert engine.sync_engine.pool.checkedout() == 0  # nothing kept once the burst is over
        if is_postgres():
            assert len(checkouts) < 35, len(checkouts)  # 70 answers, most handed a connection directly
    finally:
        await engine.dispose()
    assert await db.scalar(select(func.count()).select_from(Response)) == 60


async def test_a_sustained_burst_does_not_starve_the_rest_of_the_app(db, settings):
    """While answers keep every connection busy, a page's own checkout still gets one before the pool's timeout:
    the relay gives a connection back to the pool after MAX_HOLD_SECONDS, where the page waits first in line."""
    unit = await make_unit(db)
    receipt = await make_receipt(db, unit, dossier_code="000.00.01.H01-261202-9999")
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=0, pool_timeout=3)
    sub = pages.receipt_submission(receipt.id, answers={"access": 4, "procedure": 5, "officer": 3, "result": 4, "feedback": 2},
                                   overall=4, expectations=[], comment=None, language="vi")
    stop = asyncio.Event()
    answered = 0

    async def keep_answering() -> None:  # the same receipt again and again: a 409 each time, through the relay
        nonlocal answered
        while not stop.is_set():
            with contextlib.suppress(services.AlreadyAnswered):
                await services.store_receipt_response(engine, sub)
            answered += 1

    burst = [asyncio.ensure_future(keep_answering()) for _ in range(12)]
    try:
        await asyncio.sleep(0.3)
        before = answered
        async with engine.connect() as conn:  # raises TimeoutError after 3 s if the relay kept both connections
            assert await conn.scalar(text("SELECT 1")) == 1
        assert answered > before  # the burst was still going while the page waited
    finally:
        stop.set()
        await asyncio.gather(*burst)
        await engine.dispose()
