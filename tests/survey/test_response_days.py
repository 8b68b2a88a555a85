"""The read model by day (``response_days``): an index run's loader reads closed days compacted and gets
exactly what reading every row gives, whatever happened to the table after the days were compacted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select, text

from survey.db.models import Response, ResponseDay
from survey.questionnaires import registry
from survey.responses.days import compact_days, compacted_period, day_bounds

SHORT = registry.get("sipas-short")
ITEMS = SHORT.item_ids()
AREAS = [o.id for o in SHORT.expectations.options]
COMPATIBLE = ("kiosk", "sipas-short")


async def load(db, settings, start, end, *, compact=True, channels=("qr", "kiosk", "campaign")):
    from survey.stats import load_index_responses

    return await load_index_responses(db, period_start=start, period_end=end, items=ITEMS, areas=AREAS, channels=channels,
                                      questionnaires=COMPATIBLE, timezone=settings.timezone, compact=compact)


def assert_same(a, b) -> None:
    """Every column of two loads is equal (rows in the same order)."""
    assert len(a) == len(b)
    for name in a.__slots__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y), name
        else:
            assert x == y, name


async def demo_period(settings):
    from survey.demo import ensure_demo_async

    await ensure_demo_async(settings, "127.0.0.1", 8123)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    return today - timedelta(days=100), today


async def add_response(db, *, at: datetime, channel: str = "qr", review: str = "accepted", overall: int = 2) -> str:
    unit_id = (await db.execute(select(Response.unit_id).limit(1))).scalar_one()
    rid = str(uuid.uuid4())
    db.add(Response(id=rid, unit_id=unit_id, questionnaire_id="sipas-short", questionnaire_version=1, channel=channel,
                    answers={i: 2 for i in ITEMS}, overall=overall, expectations=[AREAS[0]], submitted_at=at, review_status=review))
    await db.commit()
    return rid


async def test_closed_days_are_compacted_and_read_back_exactly(settings, db):
    start, end = await demo_period(settings)
    rowwise = await load(db, settings, start, end, compact=False)
    first = await load(db, settings, start, end)  # compacts the closed days
    again = await load(db, settings, start, end)  # reads them compacted
    assert len(rowwise) > 1000
    assert_same(rowwise, first)
    assert_same(rowwise, again)
    assert {int(c) for c in rowwise.review_codes.tolist()} >= {0, 1}  # pending rows are in compacted days too
    days = (await db.execute(select(ResponseDay.day, ResponseDay.n))).all()
    assert len(days) == 100  # every closed day of the period, today excluded
    today = end
    assert today not in {d for d, _n in days}
    for day, n in days:
        lo, hi = day_bounds(day, settings.timezone)
        count = await db.scalar(select(func.count()).select_from(Response).where(Response.submitted_at >= lo, Response.submitted_at < hi))
        assert n == count
    assert sum(n for _d, n in days) > 1000


async def test_a_late_arrival_a_review_and_a_lost_record_show_through(settings, db):
    start, end = await demo_period(settings)
    await load(db, settings, start, end)
    day = (await db.execute(select(ResponseDay.day).where(ResponseDay.n > 0).order_by(ResponseDay.day).limit(1))).scalar_one()
    lo, _hi = day_bounds(day, settings.timezone)
    before = (await db.execute(select(ResponseDay.n).where(ResponseDay.day == day))).scalar_one()
    late = await add_response(db, at=lo + timedelta(hours=3))  # an offline kiosk's replay, a paper form keyed in late
    flagged = (await db.execute(
        select(Response.id).where(Response.submitted_at >= lo + timedelta(days=20), Response.channel == "qr").limit(1)
    )).scalar_one()
    await db.execute(text("UPDATE responses SET review_status = 'rejected' WHERE id = :i"), {"i": flagged})
    await db.commit()
    got = await load(db, settings, start, end)
    want = await load(db, settings, start, end, compact=False)
    assert_same(want, got)
    ids = got.response_id_strings()
    assert late in ids
    assert int(got.review_codes[ids.index(flagged)]) == 2
    # the changed day was read row by row and compacted again
    assert (await db.execute(select(ResponseDay.n).where(ResponseDay.day == day))).scalar_one() == before + 1
    assert_same(want, await load(db, settings, start, end))


async def test_channels_today_and_other_time_zones(settings, db):
    start, end = await demo_period(settings)
    today_lo, _ = day_bounds(end, settings.timezone)
    now_id = await add_response(db, at=max(today_lo, datetime.now(UTC) - timedelta(minutes=1)), channel="web")
    await load(db, settings, start, end)
    only_qr = await load(db, settings, start, end, channels=("qr",))
    assert_same(await load(db, settings, start, end, channels=("qr",), compact=False), only_qr)
    assert set(only_qr.channels.tolist()) == {"qr"}
    web = await load(db, settings, start, end, channels=("web",))
    assert web.response_id_strings() == [now_id]  # today's row: read row by row, never compacted
    # days compacted for another time zone are not used for this one (their bounds differ)
    other = "Asia/Tokyo"
    n_before = await db.scalar(select(func.count()).select_from(ResponseDay))
    await compact_days(db.bind, other, [start + timedelta(days=3)])
    assert await db.scalar(select(func.count()).select_from(ResponseDay)) == n_before + 1
    period = await compacted_period(db, start=day_bounds(start, settings.timezone)[0], end=day_bounds(end, settings.timezone)[1],
                                    period_start=start, period_end=end, timezone=settings.timezone, compact=False)
    assert len(period.entries) == 100 and all(e.hi - e.lo == timedelta(days=1) for e in period.entries)
    assert period.uncovered == [day_bounds(end, settings.timezone)]


async def test_a_stale_part_and_a_writing_session(settings, db):
    start, end = await demo_period(settings)
    await load(db, settings, start, end)
    # a day compacted when a questionnaire version was not known (its records kept as headers only) is rebuilt
    row = (await db.execute(select(ResponseDay).where(ResponseDay.n > 0).order_by(ResponseDay.day).limit(1))).scalar_one()
    day = row.day
    parts = [dict(p, known=False) for p in row.parts]
    await db.execute(text("UPDATE response_days SET parts = :p WHERE id = :i").bindparams(
        __import__("sqlalchemy").bindparam("p", type_=ResponseDay.__table__.c.parts.type)), {"p": parts, "i": row.id})
    await db.commit()
    db.expire_all()
    period = await compacted_period(db, start=day_bounds(start, settings.timezone)[0], end=day_bounds(end, settings.timezone)[1],
                                    period_start=start, period_end=end, timezone=settings.timezone, compact=False)
    assert day not in {e.day for e in period.entries}
    assert day_bounds(day, settings.timezone) in period.uncovered
    # a session inside its own writing transaction reads correctly (and on SQLite does not wait on itself)
    lo, _hi = day_bounds(day, settings.timezone)
    rid = str(uuid.uuid4())
    unit_id = (await db.execute(select(Response.unit_id).limit(1))).scalar_one()
    db.add(Response(id=rid, unit_id=unit_id, questionnaire_id="sipas-short", questionnaire_version=1, channel="qr",
                    answers={i: 4 for i in ITEMS}, overall=4, expectations=[], submitted_at=lo + timedelta(hours=1)))
    await db.flush()
    got = await load(db, settings, start, end)
    assert rid in got.response_id_strings()
    assert_same(await load(db, settings, start, end, compact=False), got)
    await db.rollback()
    got = await load(db, settings, start, end)
    assert rid not in got.response_id_strings()
    assert_same(await load(db, settings, start, end, compact=False), got)


async def test_a_day_in_an_older_layout_is_rebuilt_as_columns(settings, db):
    from survey.responses.days import DAY_FORMAT, part_columns, part_size
    from survey.responses.readmodel import HEADER_WIDTH

    start, end = await demo_period(settings)
    await load(db, settings, start, end)
    row = (await db.execute(select(ResponseDay).where(ResponseDay.n > 0).order_by(ResponseDay.day).limit(1))).scalar_one()
    day, blob, parts = row.day, bytes(row.records), row.parts
    # the stored bytes are the columns of the day's rows, in id order within each questionnaire version
    lo, hi = day_bounds(day, settings.timezone)
    off = 0
    for p in parts:
        assert p["format"] == DAY_FORMAT and p["ints"] == "<i4"
        cols, body = part_columns(blob, off, p["n"], p["width"] - HEADER_WIDTH, p["ints"])
        off += part_size(p["n"], p["width"] - HEADER_WIDTH, p["ints"])
        ids = [b.decode().rstrip() for b in cols["ids"].tolist()]
        assert ids == sorted(ids)
        stored = {r.id: r for r in (await db.execute(select(Response).where(
            Response.submitted_at >= lo, Response.submitted_at < hi, Response.questionnaire_id == p["q"]))).scalars()}
        assert set(ids) == set(stored)
        for i, rid in enumerate(ids):
            r = stored[rid]
            assert (int(cols["unit"][i]), int(cols["overall"][i])) == (r.unit_id, r.overall or 0)
            assert int(cols["epoch"][i]) == int(r.submitted_at.timestamp())
    assert off == len(blob)
    # a day written in the earlier layout (ASCII records, no "format") is not read as columns: it is rebuilt
    old = [{k: v for k, v in p.items() if k not in ("format", "ints")} for p in parts]
    await db.execute(text("UPDATE response_days SET parts = :p WHERE id = :i").bindparams(
        __import__("sqlalchemy").bindparam("p", type_=ResponseDay.__table__.c.parts.type)), {"p": old, "i": row.id})
    await db.commit()
    db.expire_all()
    got = await load(db, settings, start, end)
    assert_same(await load(db, settings, start, end, compact=False), got)
    rebuilt = (await db.execute(select(ResponseDay.parts).where(ResponseDay.day == day))).scalar_one()
    assert all(p["format"] == DAY_FORMAT for p in rebuilt)
