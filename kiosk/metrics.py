"""Kiosk figures for ``/metrics``: offline-queue lengths reported by the heartbeats, per unit.

Registered on the app by the composition root (``survey/app.py``) as a metric source, so ``survey``
itself never imports ``kiosk``.  Labels are unit codes only (no device names or counters' staff).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kiosk.models import KioskDevice
from survey.db.models import Unit


async def queue_lengths(session: AsyncSession) -> list:
    rows = (
        await session.execute(
            select(Unit.code, func.coalesce(func.sum(KioskDevice.queued_count), 0), func.count(KioskDevice.id))
            .join(Unit, Unit.id == KioskDevice.unit_id)
            .where(KioskDevice.revoked_at.is_(None))
            .group_by(Unit.code)
            .order_by(Unit.code)
        )
    ).all()
    return [
        ("hailong_kiosk_queued_responses", "Answers waiting in kiosk offline queues (last heartbeat), per unit", "gauge",
         ["unit"], [([code], float(queued)) for code, queued, _n in rows]),
        ("hailong_kiosk_devices", "Enrolled (not revoked) kiosk devices, per unit", "gauge",
         ["unit"], [([code], float(n)) for code, _q, n in rows]),
    ]
