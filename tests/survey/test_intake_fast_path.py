"""The JSON intake's fast paths store what the SQLAlchemy path stored, and SQLite's group commit keeps its promises.

- The statement run on the raw driver (asyncpg; sqlite3 on the writer thread) is SQLAlchemy's own
  compilation, and its arguments are exactly the parameters SQLAlchemy's execution hands the driver.
- SQLite group commit: answers that wait for the same write turn are committed in one transaction;
  two answers for one receipt in one group still store one (the other gets AlreadyAnswered, a 409);
  a row that fails does not lose the others of its group, whether SQLite undoes only its statement
  or the whole transaction; a failed COMMIT acknowledges nothing.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from survey.db import write_turns
from survey.db.driver_sql import DriverStatement
from survey.db.engine import make_engine
from survey.db.models import Response
from survey.responses import pages, services
from tests.conftest import is_postgres, make_receipt, make_unit

GOOD = {"access": 4, "procedure": 5, "officer": 3, "result": 0, "feedback": 2}


def params_for(receipt_id: int, **kw) -> tuple[dict, dict]:
    sub = pages.receipt_submission(
        receipt_id,
        answers=dict(GOOD),
        overall=kw.pop("overall", 4),
        expectations=["time"],
        comment=kw.pop("comment", "Tốt"),
        language="vi",
    )
    values = services._row_values(sub)
    return values, services._bound(values)


async def receipts(db, n: int) -> list:
    unit = await make_unit(db)
    return [await make_receipt(db, unit, dossier_code=f"000.00.01.H01-261122-{i:04d}") for i in range(n)]


async def count(db) -> int:
    return await db.scalar(select(func.count()).select_from(Response))


async def test_driver_arguments_are_what_sqlalchemy_passes_the_driver(db, settings):
    """Execute the insert through SQLAlchemy, capture what reaches the DBAPI cursor, compare with DriverStatement."""
    (r,) = await receipts(db, 1)
    _, params = params_for(r.id)
    engine = make_engine(settings.database_url)
    dialect = "postgresql" if is_postgres() else "sqlite"
    stmt = services._INSERT[dialect]
    seen = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def capture(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, tuple(parameters)))

    try:
        async with engine.connect() as conn:
            await conn.execute(stmt, params)
            await conn.rollback()
        ours = DriverStatement(stmt, engine.sync_engine.dialect, services._INSERT_PARAMS)
        assert seen[0] == (ours.sql, tuple(ours.args(params)))
        why = DriverStatement(services._WHY_NOT, engine.sync_engine.dialect, frozenset(["rid"]))
        seen.clear()
        async with engine.connect() as conn:
            await conn.execute(services._WHY_NOT, {"rid": r.id})
        assert seen[0] == (why.sql, tuple(why.args({"rid": r.id})))
    finally:
        await engine.dispose()


async def test_fast_path_row_equals_the_sqlalchemy_paths_row(db, settings):
    first, second = await receipts(db, 2)
    engine = make_engine(settings.database_url)
    try:
        sub = pages.receipt_submission(
            first.id, answers=dict(GOOD), overall=4, expectations=["time"], comment="Tốt", language="en"
        )
        fast = await services.store_receipt_response(engine, sub)
        values, params = params_for(second.id)
        params.update(language="en")
        inserted, _ = await services._store_async(engine, params)
        assert inserted == values["id"]
    finally:
        await engine.dispose()
    a = await db.get(Response, fast.id)
    b = await db.get(Response, inserted)
    columns = [
        c.name
        for c in Response.__table__.columns
        if c.name not in ("id", "receipt_id", "submitted_at", "packed")
    ]
    assert {c: getattr(a, c) for c in columns} == {c: getattr(b, c) for c in columns}
    assert a.packed[36:][:30] == b.packed[36:][:30]  # unit, procedure, device: from the receipt row alike
    assert a.packed[78:] == b.packed[78:]  # channels, overall, questionnaire, answers, expectations
    assert a.submitted_at.tzinfo is not None and b.submitted_at.tzinfo is not None


# --------------------------------------------------------------------------- SQLite group commit

sqlite_only = pytest.mark.sqlite_only  # group commit is SQLite's (PostgreSQL commits each statement itself)


async def _in_one_group(coros, monkeypatch) -> tuple[list, list[int]]:
    """Start ``coros`` while this process's write turn is held, so they all wait for the same group."""
    sizes: list[int] = []
    original = write_turns._group_in_transaction

    def recording(engine, fn, items):
        sizes.append(len(items))
        return original(engine, fn, items)

    monkeypatch.setattr(write_turns, "_group_in_transaction", recording)
    async with write_turns._write_turn():
        tasks = [asyncio.ensure_future(c) for c in coros]
        for _ in range(5):
            await asyncio.sleep(0)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return results, sizes


async def test_a_duplicate_inside_one_group_is_refused_and_the_rest_stored(db, settings, monkeypatch):
    """(On PostgreSQL the same answers race each other on the pool's connections: the same outcome.)"""
    rs = await receipts(db, 6)
    engine = make_engine(settings.database_url)

    def answer(receipt_id: int):
        sub = pages.receipt_submission(
            receipt_id, answers=dict(GOOD), overall=4, expectations=[], comment=None, language="vi"
        )
        return services.store_receipt_response(engine, sub)

    try:
        # the first receipt answered 8 times, the others once, all in one group
        results, sizes = await _in_one_group(
            [answer(rs[0].id) for _ in range(8)] + [answer(r.id) for r in rs[1:]], monkeypatch
        )
    finally:
        await engine.dispose()
    assert sizes == ([] if is_postgres() else [13])
    dup, rest = results[:8], results[8:]
    stored = [x for x in dup if isinstance(x, services.StoredResponse)]
    refused = [x for x in dup if isinstance(x, services.AlreadyAnswered)]
    assert len(stored) == 1 and len(refused) == 7 and {x.response_id for x in refused} == {stored[0].id}
    assert all(isinstance(x, services.StoredResponse) and x.created for x in rest)
    assert await count(db) == 6


def _row_or_fail(conn, item):
    """A group member for the tests: ("ok", params) stores an answer; ("bad", params) breaks a CHECK constraint
    (SQLite undoes the statement); ("abort", _) makes SQLite's whole transaction go away, then fails."""
    kind, params = item
    if kind == "ok":
        return services._store_sqlite_row(conn, params)
    if kind == "bad":
        conn.connection.driver_connection.execute(
            "INSERT INTO responses (id, unit_id, questionnaire_id, questionnaire_version, channel, answers, review_status)"
            " VALUES (?, 1, 'x', 1, 'no-such-channel', '{}', 'accepted')",
            (params["id"],),
        )
        raise AssertionError("the CHECK constraint should have refused the row")  # pragma: no cover
    conn.connection.driver_connection.rollback()
    raise RuntimeError("the transaction was lost")


@sqlite_only
@pytest.mark.parametrize("failure", ["bad", "abort"])
async def test_a_failing_row_does_not_lose_the_others_of_its_group(db, settings, monkeypatch, failure):
    rs = await receipts(db, 5)
    url = settings.database_url
    items = [("ok", params_for(r.id)[1]) for r in rs]
    items.insert(2, (failure, params_for(rs[0].id)[1]))
    results, sizes = await _in_one_group(
        [write_turns.sqlite_group_call(url, _row_or_fail, it) for it in items], monkeypatch
    )
    assert sizes == [6]
    failed = results.pop(2)
    assert isinstance(failed, RuntimeError if failure == "abort" else Exception) and not isinstance(
        failed, AssertionError
    )
    assert [inserted for inserted, _ in results] == [it[1]["id"] for it in items if it[0] == "ok"]
    assert await count(db) == 5


@sqlite_only
async def test_a_failed_commit_acknowledges_nothing(db, settings, monkeypatch):
    rs = await receipts(db, 3)
    url = settings.database_url
    original = write_turns._group_in_transaction

    def commit_fails(engine, fn, items):
        @event.listens_for(engine, "commit", once=True)
        def _boom(_conn):
            raise SAIntegrityError("COMMIT", None, Exception("disk gone"))

        return original(engine, fn, items)

    monkeypatch.setattr(write_turns, "_group_in_transaction", commit_fails)
    async with write_turns._write_turn():
        tasks = [
            asyncio.ensure_future(
                write_turns.sqlite_group_call(url, _row_or_fail, ("ok", params_for(r.id)[1]))
            )
            for r in rs
        ]
        for _ in range(5):
            await asyncio.sleep(0)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(x, SAIntegrityError) for x in results)
    assert await count(db) == 0


@sqlite_only
async def test_without_load_a_group_is_one_row(db, settings, monkeypatch):
    rs = await receipts(db, 3)
    engine = make_engine(settings.database_url)
    sizes: list[int] = []
    original = write_turns._group_in_transaction
    monkeypatch.setattr(
        write_turns,
        "_group_in_transaction",
        lambda e, f, items: (sizes.append(len(items)), original(e, f, items))[1],
    )
    try:
        for r in rs:
            sub = pages.receipt_submission(
                r.id, answers=dict(GOOD), overall=4, expectations=[], comment=None, language="vi"
            )
            assert (await services.store_receipt_response(engine, sub)).created
    finally:
        await engine.dispose()
    assert sizes == [1, 1, 1]
    assert await count(db) == 3
