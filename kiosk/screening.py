"""The database side of integrity screening: on ingest (one device-day) and as a batch job (a period).

Both load plain arrays and call the pure :func:`kiosk.integrity.screen`.  A flagged rating is kept with
the names of the rules that fired in ``responses.integrity_flags`` and ``review_status = "pending"``
(excluded from indices until an admin accepts it).  Ratings an admin has already decided
(``extra.reviewed_by``) are never changed by screening.

Time of a rating: the device's clock (``device_time``), because offline answers reach the server
late; the fleet page shows each device's clock skew so a wrong clock is visible.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiosk import integrity
from kiosk.models import KioskDevice
from survey.db.models import Receipt, Response
from survey.db.write_turns import sqlite_write_turn
from survey.settings import Settings

PILLAR_SLOTS = 8  # at most this many optional taps enter the answer signature


def thresholds_from(settings: Settings) -> integrity.Thresholds:
    return integrity.Thresholds(
        burst_count=settings.kiosk_burst_count,
        burst_seconds=settings.kiosk_burst_seconds,
        opening=integrity.parse_opening_hours(settings.kiosk_opening_hours),
        closed_weekdays=integrity.parse_closed_weekdays(settings.kiosk_closed_weekdays),
        closed_days=integrity.parse_closed_dates(settings.kiosk_closed_dates),
        receipt_ratio=settings.kiosk_receipt_ratio_percent / 100,
        receipt_slack=settings.kiosk_receipt_slack,
        skew_min_count=settings.kiosk_skew_min_count,
        skew_min_reference=settings.kiosk_skew_min_reference,
        skew_distance=settings.kiosk_skew_distance_percent / 100,
        identical_run=settings.kiosk_identical_run,
        identical_seconds=settings.kiosk_identical_seconds,
    )


def _signature(overall: int | None, answers: dict[str, int]) -> int:
    taps = [answers[k] for k in sorted(answers)][:PILLAR_SLOTS]
    keys = sorted(answers)[:PILLAR_SLOTS]
    # the tapped item ids matter too: a stable hash of them goes into the high bits
    key_bits = zlib.crc32("|".join(keys).encode()) & 0xFFFF if keys else 0
    sig = int(overall or 0)
    for i, v in enumerate(taps):
        sig += int(v) * 6 ** (i + 1)
    return sig + (key_bits << 40)


def _local_day_bounds(moment: datetime, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


async def _receipts_at_counter(session: AsyncSession, unit_id: int, counter: str, start: datetime, end: datetime) -> int:
    """Receipts at the counter that day; -1 when the unit reports no counters that day (rule not applicable)."""
    row = (await session.execute(
        select(func.count(), func.sum(case((Receipt.counter == counter, 1), else_=0)))  # one query for both counts
        .select_from(Receipt)
        .where(Receipt.unit_id == unit_id, Receipt.received_at >= start, Receipt.received_at < end, Receipt.counter.is_not(None))
    )).one()
    with_counter, at_counter = row[0] or 0, row[1] or 0
    if with_counter == 0:
        return -1
    return int(at_counter)


async def screen_on_ingest(
    session: AsyncSession, device: KioskDevice, sub, received: datetime, settings: Settings
) -> tuple[list[str], dict[str, list[str]]]:
    """Flags of a new rating, screened with the device's other ratings of that local day.

    Returns (flags of the new rating, {id of an earlier rating: rules that now fire on it}) — e.g. the
    first ratings of a burst are only recognisable once the burst is complete.
    """
    moment = sub.device_time or received
    start, end = _local_day_bounds(moment, settings.timezone)
    rows = (await session.execute(
        select(Response.id, Response.device_time, Response.overall, Response.answers, Response.integrity_flags, Response.extra)
        .where(Response.device_id == device.id, Response.device_time >= start, Response.device_time < end)
    )).all()
    ref = (await session.execute(
        select(Response.overall, func.count())
        .where(Response.unit_id == device.unit_id, Response.submitted_at >= start, Response.submitted_at < end,
               (Response.device_id.is_(None)) | (Response.device_id != device.id), Response.overall.is_not(None),
               Response.review_status != "rejected")
        .group_by(Response.overall)
    )).all()
    receipts = await _receipts_at_counter(session, device.unit_id, device.counter, start, end)
    ref_overall = [int(o) for o, c in ref for _ in range(int(c))]
    n_dev = len(rows) + 1
    n = n_dev + len(ref_overall)
    utc_t = np.array([_epoch(r.device_time) for r in rows] + [_epoch(moment)] + [_epoch(start) + 43200] * len(ref_overall), dtype=np.int64)
    flags = integrity.screen(
        device=np.r_[np.full(n_dev, device.id), np.full(len(ref_overall), -1)].astype(np.int64),
        local_t=integrity.to_local_seconds(utc_t, settings.timezone),
        overall=np.array([r.overall or 0 for r in rows] + [sub.overall or 0] + ref_overall, dtype=np.int64),
        signature=np.array([_signature(r.overall, r.answers or {}) for r in rows] + [_signature(sub.overall, sub.answers)] + ref_overall, dtype=np.int64),
        counter=np.zeros(n, dtype=np.int64),
        receipts_that_day=np.full(n, receipts, dtype=np.int64),
        thresholds=thresholds_from(settings),
    )
    new_flags = integrity.flag_names(flags[len(rows)])
    earlier: dict[str, list[str]] = {}
    for r, mask in zip(rows, flags[: len(rows)], strict=True):
        if (r.extra or {}).get("reviewed_by"):
            continue
        have = list(r.integrity_flags or [])
        merged = [name for name in integrity.RULES if name in have or name in integrity.flag_names(mask)]
        if merged != have:
            earlier[r.id] = merged
    return new_flags, earlier


async def add_flags(session: AsyncSession, flags_by_id: dict[str, list[str]]) -> None:
    """Write new flag lists (never touching admin-reviewed ratings) and mark them pending."""
    if not flags_by_id:
        return
    table = Response.__table__
    stmt = (
        update(table)
        .where(table.c.id == bindparam("rid"))
        .values(integrity_flags=bindparam("flags"), review_status=bindparam("status"))
    )
    params = [{"rid": rid, "flags": flags, "status": "pending" if flags else "accepted"} for rid, flags in flags_by_id.items()]
    async with sqlite_write_turn(session):
        conn = await session.connection()
        await conn.execute(stmt, params)  # one executemany
        await session.commit()


# --------------------------------------------------------------------------- batch job


@dataclass(frozen=True, slots=True)
class ScreeningSummary:
    screened: int
    flagged: int
    changed: int
    by_rule: dict[str, int]
    seconds_screening: float


async def screen_period(session: AsyncSession, settings: Settings, first_day: date, last_day: date) -> ScreeningSummary:
    """Re-screen every kiosk rating whose device time falls in [first_day, last_day] (local days)."""
    import time as _time

    zone = ZoneInfo(settings.timezone)
    start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    kiosk_rows = (await session.execute(
        select(Response.id, Response.device_id, Response.unit_id, Response.device_time, Response.submitted_at, Response.overall,
               Response.answers, Response.integrity_flags, Response.extra)
        .where(Response.channel == "kiosk", Response.device_id.is_not(None),
               func.coalesce(Response.device_time, Response.submitted_at) >= start,
               func.coalesce(Response.device_time, Response.submitted_at) < end)
    )).all()
    ref_rows = (await session.execute(
        select(Response.unit_id, Response.submitted_at, Response.overall)
        .where(Response.channel != "kiosk", Response.overall.is_not(None), Response.review_status != "rejected",
               Response.submitted_at >= start, Response.submitted_at < end)
    )).all()
    devices = {d.id: d for d in (await session.execute(select(KioskDevice))).scalars()}
    receipt_rows = (await session.execute(
        select(Receipt.unit_id, Receipt.counter, Receipt.received_at).where(Receipt.received_at >= start, Receipt.received_at < end)
    )).all()

    tz = settings.timezone
    counters: dict[tuple[int, str], int] = {}
    rec_counts: Counter = Counter()
    units_with_counter: set[tuple[int, int]] = set()
    if receipt_rows:
        rday = integrity.to_local_seconds(np.array([_epoch(r.received_at) for r in receipt_rows], dtype=np.int64), tz) // 86400
        for r, d in zip(receipt_rows, rday, strict=True):
            if r.counter is not None:
                rec_counts[(r.unit_id, r.counter, int(d))] += 1
                units_with_counter.add((r.unit_id, int(d)))

    n_k, n_r = len(kiosk_rows), len(ref_rows)
    utc_t = np.array([_epoch(r.device_time or r.submitted_at) for r in kiosk_rows] + [_epoch(r.submitted_at) for r in ref_rows], dtype=np.int64)
    local_t = integrity.to_local_seconds(utc_t, tz)
    days = local_t // 86400
    counter_key = np.zeros(n_k + n_r, dtype=np.int64)
    receipts = np.full(n_k + n_r, -1, dtype=np.int64)
    for i, r in enumerate(kiosk_rows):
        dev = devices.get(r.device_id)
        if dev is None:
            continue
        counter_key[i] = counters.setdefault((dev.unit_id, dev.counter), len(counters) + 1)
        d = int(days[i])
        if (dev.unit_id, d) in units_with_counter:
            receipts[i] = rec_counts.get((dev.unit_id, dev.counter, d), 0)
    t0 = _time.perf_counter()
    masks = integrity.screen(
        device=np.array([r.device_id for r in kiosk_rows] + [-1] * n_r, dtype=np.int64),
        local_t=local_t,
        overall=np.array([r.overall or 0 for r in kiosk_rows] + [r.overall for r in ref_rows], dtype=np.int64),
        signature=np.array([_signature(r.overall, r.answers or {}) for r in kiosk_rows] + [r.overall for r in ref_rows], dtype=np.int64),
        unit=np.array([r.unit_id for r in kiosk_rows] + [r.unit_id for r in ref_rows], dtype=np.int64),
        counter=counter_key,
        receipts_that_day=receipts,
        thresholds=thresholds_from(settings),
    )
    elapsed = _time.perf_counter() - t0
    changes: dict[str, list[str]] = {}
    by_rule: Counter = Counter()
    flagged = 0
    for r, mask in zip(kiosk_rows, masks[:n_k], strict=True):
        names = integrity.flag_names(mask)
        flagged += bool(names)
        by_rule.update(names)
        if (r.extra or {}).get("reviewed_by"):
            continue
        if names != list(r.integrity_flags or []):
            changes[r.id] = names
    await add_flags(session, changes)
    return ScreeningSummary(n_k, flagged, len(changes), {k: by_rule.get(k, 0) for k in integrity.RULES}, elapsed)
