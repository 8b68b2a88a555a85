"""Demo kiosk fleet for ``make run``: the tablets the demo's kiosk ratings came from, and a few ratings to review.

Registered as a step of ``survey.demo`` (which may not import ``kiosk``) when the ``hailong`` commands
load ``kiosk.cli``.  Each unit with kiosk ratings gets a tablet at "Quầy 1" (the busiest units a second one
at "Quầy 2"); the ratings are spread over them.  One tablet also gets a staff member's burst of
"Rất hài lòng" presses on the last working day and two ratings after closing time; the real screening
(:func:`kiosk.screening.screen_period`) then flags them, so the review queue has work in it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiosk.models import KioskDevice
from kiosk.services import hash_pin
from survey import audit
from survey.demo import _row, demo_step
from survey.settings import Settings

DEMO_EXIT_PIN = "2026"
BURST = 9  # presses of "Rất hài lòng", a couple of seconds apart


@demo_step
async def seed_kiosk_fleet(session: AsyncSession, settings: Settings, rng: np.random.Generator, actor: str) -> dict[str, int]:
    from survey.db.models import Response
    from survey.responses import readmodel
    from survey.responses.services import Submission, check_submission

    per_unit = dict((await session.execute(
        select(Response.unit_id, func.count()).where(Response.channel == "kiosk").group_by(Response.unit_id)
    )).all())
    if not per_unit:
        return {}
    now = datetime.now(UTC)
    busiest = sorted(per_unit, key=lambda u: -per_unit[u])[:3]
    devices: dict[int, list[KioskDevice]] = {}
    for unit_id in sorted(per_unit):
        for k in range(2 if unit_id in busiest else 1):
            device = KioskDevice(
                unit_id=unit_id, counter=f"Quầy {k + 1}", name=f"Máy tính bảng {k + 1}",
                credential_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(), exit_pin_hash=hash_pin(DEMO_EXIT_PIN),
                idle_seconds=settings.kiosk_idle_seconds, app_version="1.0.0",
                last_heartbeat_at=now - timedelta(minutes=int(rng.integers(1, 50))), queued_count=0,
                heartbeat_skew_seconds=int(rng.integers(-3, 4)),
            )
            session.add(device)
            devices.setdefault(unit_id, []).append(device)
    await session.flush()
    for device in (d for ds in devices.values() for d in ds):
        audit.record(session, actor, "kiosk.enrol", "kiosk_device", device.id, unit_id=device.unit_id, counter=device.counter)

    # spread each unit's ratings over its tablets
    rows = (await session.execute(select(Response.id, Response.unit_id).where(Response.channel == "kiosk").order_by(Response.id))).all()
    assign = []
    for r in rows:
        ds = devices[r.unit_id]
        d = ds[int(rng.integers(len(ds)))]
        assign.append({"id": r.id, "device_id": d.id, "extra": {"counter": d.counter}, "packed": None})
    await session.execute(update(Response), assign)  # bulk UPDATE by primary key
    await session.run_sync(lambda s: readmodel.fill_missing(s.connection()))  # the device is in the read model: pack again

    # a staff member games one tablet on the last working day, and two ratings come in after closing
    tz = ZoneInfo(settings.timezone)
    day = now.astimezone(tz).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    target = devices[busiest[0]][0]
    start = datetime.combine(day, time(10, 12), tz).astimezone(UTC)
    moments = [start + timedelta(seconds=float(s)) for s in np.cumsum(rng.uniform(1.5, 3.5, BURST))]
    moments += [datetime.combine(day, time(19, 40 + i * 7), tz).astimezone(UTC) for i in range(2)]
    fakes = []
    for at in moments:
        sub = Submission(
            questionnaire_id="kiosk", questionnaire_version=1, channel="kiosk", unit_id=target.unit_id, answers={},
            overall=5, device_time=at, client_uuid=str(uuid.UUID(bytes=rng.bytes(16), version=4)), device_id=target.id,
            extra={"counter": target.counter},
        )
        fakes.append(_row(sub, at + timedelta(seconds=2), check_submission, settings))
    await session.execute(insert(Response), fakes)
    await session.commit()

    from kiosk.screening import screen_period

    first = day - timedelta(days=6)  # the last working week (the whole period would only slow the demo down)
    summary = await screen_period(session, settings, first, now.astimezone(tz).date())
    audit.record(session, actor, "kiosk.screen", "kiosk", None, first=first.isoformat(), last=now.astimezone(tz).date().isoformat(),
                 flagged=summary.flagged, changed=summary.changed)
    await session.commit()
    return {"kiosk_devices": sum(len(d) for d in devices.values()), "kiosk_flagged": summary.flagged}
