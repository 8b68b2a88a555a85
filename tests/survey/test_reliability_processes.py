"""Concurrency across processes: two app processes on one database, 50 concurrent submissions of one
token split across both, for the citizen form, the JSON API and the kiosk (same UUID; same and
different answers) -> exactly one stored, every other answer a 409 or an idempotent 200, no 5xx.

On the PostgreSQL pass of `make test` both processes share the PostgreSQL test database; on the SQLite
pass they share one SQLite file.  To cover another channel (the expert invitation, once it exists),
add a function to ``CHANNELS`` below: it arranges one token, sends one submission, and says which
statuses are the winner's and which the losers' may be.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from survey.db.models import Response
from survey.questionnaires import registry
from tests.conftest import make_receipt, make_unit, run_db
from tests.kiosk.helpers import new_code
from tests.survey.reliability import AppProcess
from tests.survey.test_citizen_survey import token_for

N = 50
ITEMS = [i.id for i in registry.get("sipas-short").items]
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def settings(_migrated_template, tmp_path_factory):
    """One database for the whole module (the two processes stay up across its tests; each test uses its own unit)."""
    import os
    import shutil
    from dataclasses import replace

    from survey.settings import Settings
    from tests.conftest import _truncate_all, is_postgres

    if is_postgres():
        _truncate_all(_migrated_template)
        url = _migrated_template
    else:
        path = tmp_path_factory.mktemp("processes") / "hailong.sqlite3"
        shutil.copy(_migrated_template, path)
        url = f"sqlite+aiosqlite:///{path}"
    return replace(Settings(), database_url=url, secret_key=os.environ["HAILONG_SECRET_KEY"], public_url="http://testserver.local")


@pytest.fixture(scope="module")
def two_processes(settings):
    a, b = AppProcess(settings).start(), None
    try:
        b = AppProcess(settings).start()
        yield a, b
    finally:
        a.stop()
        if b is not None:
            b.stop()


def _unit_code() -> str:
    return "U" + uuid.uuid4().hex[:10].upper()


def _receipt(settings) -> tuple[str, int]:
    async def arrange(session):
        unit = await make_unit(session, code=_unit_code())
        receipt = await make_receipt(session, unit, dossier_code=f"000.00.01.H01-261122-{uuid.uuid4().int % 10000:04d}")
        return receipt.id

    receipt_id = run_db(settings.database_url, arrange)
    return token_for(settings, receipt_id), receipt_id


def _stored(settings, **where) -> int:
    async def count(session):
        stmt = select(func.count()).select_from(Response)
        for name, value in where.items():
            stmt = stmt.where(getattr(Response, name) == value)
        return await session.scalar(stmt)

    return run_db(settings.database_url, count)


async def _fan_out(servers, one) -> Counter:
    """N submissions at once, alternating between the two processes, each its own client (connection, cookies)."""
    clients = [httpx.AsyncClient(base_url=servers[n % 2].url, timeout=60) for n in range(N)]
    try:
        return Counter(await asyncio.gather(*(one(clients[n], n) for n in range(N))))
    finally:
        for c in clients:
            await c.aclose()


def test_json_api_one_token_across_two_processes(two_processes, settings):
    token, receipt_id = _receipt(settings)

    async def one(client, n):
        payload = {"token": token, "answers": {i: 1 + n % 5 for i in ITEMS}, "overall": 1 + n % 5}
        return (await client.post("/api/v1/responses", json=payload)).status_code

    statuses = asyncio.run(_fan_out(two_processes, one))
    assert statuses == Counter({201: 1, 409: N - 1}), statuses
    assert _stored(settings, receipt_id=receipt_id) == 1


def test_citizen_form_one_token_across_two_processes(two_processes, settings):
    token, receipt_id = _receipt(settings)
    html = {"accept": "text/html"}

    async def one(client, n):
        page = await client.get(f"/r/{token}?start=1", headers=html)  # the form and its CSRF cookie, from this process
        if page.status_code != 200:
            return page.status_code  # already answered by the time this citizen opened the form: 409 page
        form = {"_csrf_token": CSRF_RE.search(page.text).group(1), "overall": str(1 + n % 5),
                **{f"answers.{i}": str(1 + n % 5) for i in ITEMS}}
        r = await client.post(f"/r/{token}", data=form, headers=html, follow_redirects=False)
        return r.status_code

    statuses = asyncio.run(_fan_out(two_processes, one))
    # the winner is redirected to the thank-you page (Post/Redirect/Get); the others see "already answered"
    assert statuses == Counter({303: 1, 409: N - 1}), statuses
    assert _stored(settings, receipt_id=receipt_id) == 1


def _kiosk_device(settings, server) -> dict[str, str]:
    async def arrange(session):
        unit = await make_unit(session, code=_unit_code())
        return await new_code(session, settings, unit.id)

    code = run_db(settings.database_url, arrange)
    r = httpx.post(server.url + "/kiosk/api/enrol", json={"code": code}, timeout=30)
    assert r.status_code == 201, r.text
    return {"authorization": f"Bearer {r.json()['credential']}"}


@pytest.mark.parametrize("same_answers", [True, False], ids=["same-answers", "different-answers"])
def test_kiosk_one_uuid_across_two_processes(two_processes, settings, same_answers):
    auth = _kiosk_device(settings, two_processes[0])
    client_uuid = str(uuid.uuid4())
    device_time = datetime.now(UTC).isoformat()

    async def one(client, n):
        overall = 4 if same_answers else 1 + n % 5
        body = {"client_uuid": client_uuid, "device_time": device_time, "questionnaire_id": "kiosk",
                "questionnaire_version": 1, "overall": overall, "answers": {}}
        r = await client.post("/kiosk/api/responses", json=body, headers=auth)
        return r.status_code, overall

    results = asyncio.run(_fan_out(two_processes, one))
    statuses = Counter()
    for (status, _overall), count in results.items():
        statuses[status] += count
    assert not [s for s in statuses if s >= 500], results
    assert statuses[201] == 1, results
    assert _stored(settings, client_uuid=client_uuid) == 1

    async def stored_overall(session):
        return await session.scalar(select(Response.overall).where(Response.client_uuid == client_uuid))

    winner = run_db(settings.database_url, stored_overall)
    for (status, overall), _count in results.items():
        if status == 201:
            assert overall == winner
        elif overall == winner:
            assert status == 200  # an identical replay is an idempotent 200
        else:
            assert status == 409  # the same UUID with other answers is refused
    if same_answers:
        assert statuses == Counter({201: 1, 200: N - 1}), results


def _expert_invitation(settings) -> tuple[str, int]:
    """One expert (a People's Council delegate) who has rated every assigned unit but not yet submitted."""
    from datetime import date, timedelta

    from survey.experts import services as experts
    from survey.par import methodology as meth

    async def arrange(session):
        for n in range(2):
            await make_unit(session, code=_unit_code(), name=f"Xã Thử {n}", kind="commune")
        panel_id = await experts.create_panel(session, year=2026, name="Điều tra xã hội học 2026",
                                              methodology_ids=["par-commune-2025-v1"],
                                              expires_on=date.today() + timedelta(days=30), actor="test")
        await experts.import_members(session, panel_id, "group,name,title,unit,contact\nhdnd,Đại biểu A,Ông,,\n".encode(), "test")
        await experts.generate_matrix(session, panel_id, "test")
        await experts.create_invitations(session, panel_id, "test")
        (inv,) = await experts.invitation_list(session, panel_id, settings)
        link = await experts.open_invitation(session, inv["token"], settings)
        units = await experts.assigned_units(session, link)
        assert units
        for unit in units:
            criteria = meth.get(unit.methodology_id).criteria_of("expert_survey")
            await experts.save_unit(session, link, unit.code, {c.id: 7 for c in criteria})
        return inv["token"], link.invitation_id

    return run_db(settings.database_url, arrange)


def test_expert_invitation_submitted_once_across_two_processes(two_processes, settings):
    from survey.db.models import ExpertSubmission

    token, invitation_id = _expert_invitation(settings)
    html = {"accept": "text/html"}

    async def one(client, n):
        page = await client.get(f"/e/{token}", headers=html)
        if page.status_code != 200:
            return page.status_code  # already submitted by the time this one opened the page: 409
        form = {"_csrf_token": CSRF_RE.search(page.text).group(1)}
        return (await client.post(f"/e/{token}/gui", data=form, headers=html, follow_redirects=False)).status_code

    statuses = asyncio.run(_fan_out(two_processes, one))
    assert statuses == Counter({303: 1, 409: N - 1}), statuses

    async def submissions(session):
        return await session.scalar(select(func.count()).select_from(ExpertSubmission).where(ExpertSubmission.invitation_id == invitation_id))

    assert run_db(settings.database_url, submissions) == 1


#: the channels covered above; a new one (another token-bearing form) gets a test of the same shape
CHANNELS = ["json_api", "citizen_form", "kiosk", "expert_invitation"]
