"""Admin pages of kiosk mode: enrolment codes, fleet, revoke, review queue with audited decisions, batch screening."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kiosk.models import KioskDevice
from survey.db.models import AuditLog, Response
from tests.conftest import make_unit
from tests.kiosk.helpers import HTML, answer, enrol_device, post_form, sign_in_admin


async def test_admin_pages_need_an_admin(client):
    r = await client.get("/admin/kiosk/", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")
    r = await client.post("/admin/kiosk/devices/1/revoke", headers=HTML, follow_redirects=False)
    assert r.status_code in (303, 401, 403)


async def test_code_is_shown_once_and_enrols_a_device_listed_on_the_fleet_page(client, db, settings):
    unit = await make_unit(db)
    unit_id = unit.id
    await sign_in_admin(client, db)
    bad = await post_form(client, "/admin/kiosk/codes", {"unit_id": str(unit_id), "name": "Máy A", "counter": "Quầy 5", "exit_pin": "12", "idle_seconds": "20"}, "/admin/kiosk/codes")
    assert bad.status_code == 400 and "PIN" in bad.text
    r = await post_form(client, "/admin/kiosk/codes", {"unit_id": str(unit_id), "name": "Máy A", "counter": "Quầy 5", "exit_pin": "4321", "idle_seconds": "15"}, "/admin/kiosk/codes")
    assert r.status_code == 201, r.text
    code = re.search(r'id="new-code">([A-Z0-9-]+)<', r.text).group(1)
    listing = await client.get("/admin/kiosk/codes", headers=HTML)
    assert code not in listing.text  # shown once only
    enrol = await client.post("/kiosk/api/enrol", json={"code": code})
    assert enrol.status_code == 201
    cred = enrol.json()["credential"]
    device_id = enrol.json()["config"]["device_id"]
    assert enrol.json()["config"]["idle_seconds"] == 15
    late = datetime.now(UTC) - timedelta(seconds=90)
    await client.post("/kiosk/api/heartbeat", json={"app_version": "9.9.9", "queued": 6}, headers={"authorization": f"Bearer {cred}"})
    await client.post("/kiosk/api/responses", json=answer(4, when=late), headers={"authorization": f"Bearer {cred}"})
    fleet = await client.get("/admin/kiosk/", headers=HTML)
    assert fleet.status_code == 200
    row = re.search(rf'<tr data-device="{device_id}">(.*?)</tr>', fleet.text, re.S).group(1)
    assert "Máy A" in row and "9.9.9" in row and ">6<" in row
    assert re.search(r">(8[5-9]|9[0-9])[^0-9]", row), row  # clock skew ≈ 90 s (received − device time)
    # revoke: the next submission fails cleanly
    rv = await post_form(client, f"/admin/kiosk/devices/{device_id}/revoke", {})
    assert rv.status_code == 303
    after = await client.post("/kiosk/api/responses", json=answer(5), headers={"authorization": f"Bearer {cred}"})
    assert after.status_code == 401
    db.expire_all()
    assert (await db.get(KioskDevice, device_id)).revoked_at is not None
    actions = list(await db.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert "kiosk.code.create" in actions and "kiosk.enrol" in actions and "kiosk.device.revoke" in actions


async def test_review_accept_and_reject_are_audited_and_batch_screening_flags(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    night = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0) - timedelta(days=1)  # 23:00 local
    ids = []
    for i in range(2):
        r = await client.post("/kiosk/api/responses", json=answer(5, when=night + timedelta(minutes=10 * i)), headers=dev.auth)
        ids.append(r.json()["id"])
    await sign_in_admin(client, db)
    queue = await client.get("/admin/kiosk/review", headers=HTML)
    assert all(f'data-response="{i}"' in queue.text for i in ids) and "Ngoài giờ làm việc" in queue.text
    assert (await post_form(client, f"/admin/kiosk/review/{ids[0]}", {"decision": "accept"})).status_code == 303
    assert (await post_form(client, f"/admin/kiosk/review/{ids[1]}", {"decision": "reject"})).status_code == 303
    assert (await post_form(client, f"/admin/kiosk/review/{ids[1]}", {"decision": "maybe"})).status_code == 400
    db.expire_all()
    statuses = {r.id: r.review_status for r in await db.scalars(select(Response))}
    assert statuses == {ids[0]: "accepted", ids[1]: "rejected"}
    audit = list(await db.scalars(select(AuditLog).where(AuditLog.action.like("kiosk.review.%")).order_by(AuditLog.id)))
    assert [(a.action, a.target_id, a.actor) for a in audit] == [("kiosk.review.accept", ids[0], "noivu"), ("kiosk.review.reject", ids[1], "noivu")]
    # batch re-screening with a stricter opening-hours setting keeps admin decisions and flags new rows
    day = (night + timedelta(hours=7)).date()
    ok = await client.post("/kiosk/api/responses", json=answer(3, when=night - timedelta(hours=10)), headers=dev.auth)  # 13:00 local
    assert ok.json()["flags"] == []
    from dataclasses import replace

    from kiosk.screening import screen_period

    strict = replace(settings, kiosk_opening_hours="07:00-11:30")
    summary = await screen_period(db, strict, day, day)
    assert summary.screened == 3 and summary.by_rule["outside_hours"] == 3
    db.expire_all()
    rows = {r.id: r for r in await db.scalars(select(Response))}
    assert rows[ok.json()["id"]].integrity_flags == ["outside_hours"] and rows[ok.json()["id"]].review_status == "pending"
    assert rows[ids[0]].review_status == "accepted" and rows[ids[1]].review_status == "rejected"


def test_screen_kiosk_command(monkeypatch, settings, capsys):
    from survey.cli import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    assert main(["screen-kiosk", "--from", "2026-01-01", "--to", "2026-01-02"]) == 0
    assert "screened 0 kiosk ratings" in capsys.readouterr().out
