"""50 concurrent submissions for one receipt against the real server and database: exactly one is stored."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy import func, select

from survey.db.models import Response
from survey.questionnaires import registry
from tests.conftest import make_receipt, make_unit
from tests.survey.test_citizen_survey import token_for

N = 50


async def test_fifty_concurrent_submissions_store_exactly_one(live_server, db, settings):
    unit = await make_unit(db)
    receipt = await make_receipt(db, unit)
    receipt_id = receipt.id
    token = token_for(settings, receipt_id)
    items = [i.id for i in registry.get("sipas-short").items]

    async def submit(client: httpx.AsyncClient, n: int) -> int:
        payload = {"token": token, "answers": {i: 1 + n % 5 for i in items}, "overall": 1 + n % 5}
        r = await client.post("/api/v1/responses", json=payload)
        return r.status_code

    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=limits) as client:
        statuses = Counter(await asyncio.gather(*(submit(client, n) for n in range(N))))

    assert statuses == Counter({201: 1, 409: N - 1}), statuses
    db.expire_all()
    assert await db.scalar(select(func.count()).select_from(Response).where(Response.receipt_id == receipt_id)) == 1
    assert await db.scalar(select(func.count()).select_from(Response)) == 1
