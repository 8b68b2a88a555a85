"""Kiosk device API: enrolment, credentials, idempotent submissions, bad input, heartbeats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kiosk.models import EnrolmentCode, KioskDevice
from kiosk.services import ENROL_ATTEMPT, EnrolmentRefused, EnrolmentThrottled, enrol
from survey.db.models import AuditLog, LoginAttempt, Response
from survey.receipts import tokens
from tests.conftest import make_receipt, make_unit
from tests.kiosk.helpers import answer, enrol_device, new_code


async def _rows(db) -> list[Response]:
    db.expire_all()
    return list(await db.scalars(select(Response).order_by(Response.submitted_at)))


async def test_enrol_gives_a_credential_and_the_code_works_once(client, db, settings):
    unit = await make_unit(db)
    code = await new_code(db, settings, unit.id, counter="Quầy 3", idle_seconds=7)
    r = await client.post("/kiosk/api/enrol", json={"code": code.lower().replace("-", " ")})
    assert r.status_code == 201, r.text
    body = r.json()
    cfg = body["config"]
    assert cfg["counter"] == "Quầy 3" and cfg["idle_seconds"] == 7 and cfg["unit_name"] == "Sở Nội vụ"
    assert cfg["questionnaire"]["id"] == "kiosk" and len(cfg["questionnaire"]["items"]) == 5
    assert cfg["questionnaire"]["scale"]["5"]["vi"] == "Rất hài lòng"
    device = await db.get(KioskDevice, cfg["device_id"])
    assert body["credential"] not in device.credential_hash and len(device.credential_hash) == 64
    again = await client.post("/kiosk/api/enrol", json={"code": code})
    assert again.status_code == 400 and again.json()["errors"][0]["field"] == "code"
    assert (await db.scalar(select(func.count()).select_from(KioskDevice))) == 1
    # the code is stored only as a hash
    stored = (await db.scalars(select(EnrolmentCode))).one()
    assert code.replace("-", "") not in stored.code_hash


async def test_expired_or_unknown_code_is_refused(client, db, settings):
    unit = await make_unit(db)
    code = await new_code(db, settings, unit.id)
    row = (await db.scalars(select(EnrolmentCode))).one()
    row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    await db.commit()
    assert (await client.post("/kiosk/api/enrol", json={"code": code})).status_code == 400
    assert (await client.post("/kiosk/api/enrol", json={"code": "ABCD-EFGH"})).status_code == 400
    assert (await db.scalar(select(func.count()).select_from(KioskDevice))) == 0


async def test_submit_then_identical_replay_then_conflicting_replay(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    unit_id = unit.id
    body = answer(5, {"officer": 4})
    first = await client.post("/kiosk/api/responses", json=body, headers=dev.auth)
    assert first.status_code == 201, first.text
    replay = await client.post("/kiosk/api/responses", json=body, headers=dev.auth)
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"] and replay.json()["created"] is False
    changed = dict(body, overall=1)
    conflict = await client.post("/kiosk/api/responses", json=changed, headers=dev.auth)
    assert conflict.status_code == 409 and conflict.json()["errors"][0]["field"] == "client_uuid"
    rows = await _rows(db)
    assert len(rows) == 1
    row = rows[0]
    assert (row.channel, row.overall, row.answers, row.device_id, row.client_uuid) == ("kiosk", 5, {"officer": 4}, dev.id, body["client_uuid"])
    assert row.device_time is not None and row.submitted_at >= row.device_time - timedelta(seconds=5)
    assert row.unit_id == unit_id and row.extra["counter"] == "Quầy 1"


async def test_revoked_and_forged_credentials_get_401_and_store_nothing(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    forged = [f"{dev.id}.{'A' * 43}", "1.x", "garbage", dev.credential + "x", f"{dev.id + 1}.{dev.credential.split('.')[1]}"]
    for cred in forged:
        r = await client.post("/kiosk/api/responses", json=answer(), headers={"authorization": f"Bearer {cred}"})
        assert r.status_code == 401, (cred, r.text)
        assert r.json()["errors"][0]["field"] == "authorization"
    assert (await client.post("/kiosk/api/responses", json=answer())).status_code == 401
    device = await db.get(KioskDevice, dev.id)
    device.revoked_at = datetime.now(UTC)
    await db.commit()
    r = await client.post("/kiosk/api/responses", json=answer(), headers=dev.auth)
    assert r.status_code == 401
    hb = await client.post("/kiosk/api/heartbeat", json={"app_version": "1.0.0", "queued": 3}, headers=dev.auth)
    assert hb.status_code == 401
    assert await _rows(db) == []


async def test_questionnaire_version_the_device_does_not_have_is_422(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    for patch, field in (({"questionnaire_version": 2}, "questionnaire_version"), ({"questionnaire_id": "sipas-short"}, "questionnaire_version")):
        r = await client.post("/kiosk/api/responses", json=answer(**{}) | patch, headers=dev.auth)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field
    assert await _rows(db) == []


async def test_bad_answers_are_422_naming_the_field(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    cases = [
        (answer(overall=7), "overall"),
        (answer(overall=None), "overall"),
        (answer(answers={"officer": 9}), "answers.officer"),
        (answer(answers={"nope": 3}), "answers.nope"),
        (answer(answers={"officer": 0}), "answers.officer"),  # the kiosk form has no "no opinion"
    ]
    for body, field in cases:
        r = await client.post("/kiosk/api/responses", json=body, headers=dev.auth)
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]]
    bad_uuid = await client.post("/kiosk/api/responses", json=answer() | {"client_uuid": "not-a-uuid"}, headers=dev.auth)
    assert bad_uuid.status_code == 422 and bad_uuid.json()["errors"][0]["field"] == "client_uuid"
    naive = await client.post("/kiosk/api/responses", json=answer() | {"device_time": "2026-01-01T08:00:00"}, headers=dev.auth)
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "device_time"
    future = await client.post("/kiosk/api/responses", json=answer(when=datetime.now(UTC) + timedelta(days=3)), headers=dev.auth)
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "device_time"
    assert await _rows(db) == []


async def test_one_megabyte_body_is_413_and_stores_nothing(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    body = answer() | {"receipt_token": "x"}
    raw = ('{"pad":"' + "x" * (1024 * 1024) + '",' + str(body).replace("'", '"')[1:]).encode()
    r = await client.post("/kiosk/api/responses", content=raw, headers=dev.auth | {"content-type": "application/json"})
    assert r.status_code == 413
    assert await _rows(db) == []


async def _device_and_receipts(client, db, settings):
    """A device of one unit; the ids of a receipt of that unit and of a receipt of another unit."""
    unit = await make_unit(db)
    other = await make_unit(db, code="STP", name="Sở Tư pháp")
    receipt = await make_receipt(db, unit)
    foreign = await make_receipt(db, other, dossier_code="000.00.02.H01-261122-0002")
    ids = (receipt.id, foreign.id)
    return await enrol_device(client, db, settings, unit.id), *ids


def _receipt_token(settings, receipt_id: int, valid_days: int = 30) -> str:
    kid, keys = settings.signing_keys()
    return tokens.mint("receipt", receipt_id, datetime.now(UTC).date() + timedelta(days=valid_days), kid, keys)


async def test_receipt_bound_rating_one_per_receipt(client, db, settings):
    dev, receipt_id, foreign_id = await _device_and_receipts(client, db, settings)
    token = _receipt_token(settings, receipt_id)
    url = f"HTTP://TESTSERVER.LOCAL/R/{token}"
    r = await client.post("/kiosk/api/responses", json=answer(receipt_token=url), headers=dev.auth)
    assert r.status_code == 201, r.text
    second = await client.post("/kiosk/api/responses", json=answer(receipt_token=token.lower()), headers=dev.auth)
    assert second.status_code == 409 and second.json()["errors"][0]["field"] == "receipt_token"
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert (await client.post("/kiosk/api/responses", json=answer(receipt_token=forged), headers=dev.auth)).status_code == 422
    wrong_unit = await client.post("/kiosk/api/responses", json=answer(receipt_token=_receipt_token(settings, foreign_id)), headers=dev.auth)
    assert wrong_unit.status_code == 422 and wrong_unit.json()["errors"][0]["field"] == "receipt_token"
    rows = await _rows(db)
    assert [r.receipt_id for r in rows] == [receipt_id]


async def test_receipt_check_at_scan_time(client, db, settings):
    dev, receipt_id, foreign_id = await _device_and_receipts(client, db, settings)
    url = f"HTTP://TESTSERVER.LOCAL/R/{_receipt_token(settings, receipt_id)}"

    async def check(qr: str, auth: dict | None = None):
        return await client.post("/kiosk/api/receipt-check", json={"receipt_token": qr}, headers=dev.auth if auth is None else auth)

    fresh = await check(url)
    assert fresh.status_code == 200 and fresh.json() == {"ok": True}
    assert await _rows(db) == []  # checking stores nothing
    assert (await client.post("/kiosk/api/responses", json=answer(receipt_token=url), headers=dev.auth)).status_code == 201
    rated = await check(url.lower())
    assert rated.status_code == 409
    assert rated.json()["errors"][0] == {"field": "receipt_token", "message": "Giấy hẹn này đã được đánh giá.", "message_en": "This receipt has already been rated."}
    foreign_url = f"HTTP://TESTSERVER.LOCAL/R/{_receipt_token(settings, foreign_id)}"
    assert (await check(foreign_url)).json()["errors"][0]["message"] == "Giấy hẹn này không thuộc đơn vị của quầy."
    expired = await check(_receipt_token(settings, receipt_id, valid_days=-1))
    assert expired.status_code == 422 and "hết hạn" in expired.json()["errors"][0]["message"]
    assert (await check(url[:-2] + ("AA" if url[-2:] != "AA" else "BB"))).status_code == 422
    assert (await check(url, {"authorization": "Bearer 1.forged"})).status_code == 401
    empty = await client.post("/kiosk/api/receipt-check", json={"receipt_token": ""}, headers=dev.auth)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "receipt_token"
    assert len(await _rows(db)) == 1


async def test_heartbeat_records_version_queue_and_skew(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    device_time = datetime.now(UTC) - timedelta(minutes=5)
    r = await client.post("/kiosk/api/heartbeat", json={"app_version": "1.2.3", "queued": 4, "device_time": device_time.isoformat()}, headers=dev.auth)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["device_id"] == dev.id
    db.expire_all()
    device = await db.get(KioskDevice, dev.id)
    assert (device.app_version, device.queued_count) == ("1.2.3", 4)
    assert 295 <= device.heartbeat_skew_seconds <= 310 and device.last_heartbeat_at is not None


async def test_burst_is_flagged_on_ingest_including_its_first_ratings(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    # 10:00 local on a weekday, inside opening hours
    base = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=1)
    n = settings.kiosk_burst_count + 3
    for i in range(n):
        r = await client.post("/kiosk/api/responses", json=answer(5, when=base + timedelta(seconds=2 * i)), headers=dev.auth)
        assert r.status_code == 201
    honest = await client.post("/kiosk/api/responses", json=answer(3, when=base + timedelta(minutes=30)), headers=dev.auth)
    assert honest.json()["flags"] == []
    rows = await _rows(db)
    flagged = [r for r in rows if r.overall == 5]
    assert len(flagged) == n
    assert all("burst" in r.integrity_flags and r.review_status == "pending" for r in flagged)
    assert all("identical_sequence" in r.integrity_flags for r in flagged)
    clean = [r for r in rows if r.overall == 3]
    assert clean[0].integrity_flags == [] and clean[0].review_status == "accepted"


async def test_outside_hours_is_flagged(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    night = datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0) - timedelta(days=1)  # 23:00 local
    r = await client.post("/kiosk/api/responses", json=answer(4, when=night), headers=dev.auth)
    assert r.status_code == 201 and r.json()["flags"] == ["outside_hours"]


async def test_enrol_is_audited(client, db, settings):
    unit = await make_unit(db)
    await enrol_device(client, db, settings, unit.id)
    db.expire_all()
    actions = list(await db.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions == ["kiosk.code.create", "kiosk.enrol"]


async def test_pages_and_pwa_assets_are_served(client):
    shell = await client.get("/kiosk/", headers={"accept": "text/html"})
    assert shell.status_code == 200 and "Rất hài lòng" in shell.text and "Rất không hài lòng" in shell.text
    sw = await client.get("/kiosk/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"] and "caches.open" in sw.text
    assert (await client.get("/kiosk/manifest.webmanifest")).json()["scope"] == "/kiosk/"
    assert (await client.get("/kiosk/static/kiosk.js")).status_code == 200
    assert (await client.get("/kiosk/static/..%2Fmodels.py")).status_code == 404
    enrol = await client.get("/kiosk/enrol", headers={"accept": "text/html"})
    assert "Đăng ký thiết bị kiosk" in enrol.text
    assert (await client.get("/kiosk/enrol?lang=en", headers={"accept": "text/html"})).status_code == 200


async def test_unknown_uuid_format_never_stores_half(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    body = answer()
    body["client_uuid"] = str(uuid.uuid4()).upper()
    r = await client.post("/kiosk/api/responses", json=body, headers=dev.auth)
    assert r.status_code == 201
    again = await client.post("/kiosk/api/responses", json=body | {"client_uuid": body["client_uuid"].lower()}, headers=dev.auth)
    assert again.status_code == 200  # UUIDs are compared case-insensitively
    assert len(await _rows(db)) == 1


async def test_wrong_enrolment_codes_are_throttled_per_address(client, db, settings):
    unit = await make_unit(db)
    code = await new_code(db, settings, unit.id)
    for _ in range(settings.login_max_attempts):
        wrong = await client.post("/kiosk/api/enrol", json={"code": "ABCD-EFGH"})
        assert wrong.status_code == 400
    # from now on even the right code is refused from this address, and the code is not used up
    r = await client.post("/kiosk/api/enrol", json={"code": code})
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == str(settings.login_window_seconds)
    err = r.json()["errors"][0]
    assert err["field"] == "code" and "quá nhiều lần" in err["message"]
    assert (await db.scalar(select(func.count()).select_from(KioskDevice))) == 0
    db.expire_all()
    assert (await db.scalars(select(EnrolmentCode))).one().used_at is None
    # the attempts are kept under a keyed hash of the address, never the address itself
    keys = set(await db.scalars(select(LoginAttempt.client_key).where(LoginAttempt.username == ENROL_ATTEMPT)))
    assert len(keys) == 1 and all(len(k) == 64 and "testclient" not in k and "127.0.0.1" not in k for k in keys)


async def test_enrolment_throttle_is_per_address_and_a_success_resets_it(db, settings):
    unit = await make_unit(db)
    limit = settings.login_max_attempts
    for _ in range(limit - 1):
        with pytest.raises(EnrolmentRefused):
            await enrol(db, "WRONG-CODE", settings, "10.0.0.1")
    await enrol(db, await new_code(db, settings, unit.id), settings, "10.0.0.1")  # a success clears the count
    for _ in range(limit):
        with pytest.raises(EnrolmentRefused):
            await enrol(db, "WRONG-CODE", settings, "10.0.0.1")
    with pytest.raises(EnrolmentThrottled):
        await enrol(db, await new_code(db, settings, unit.id), settings, "10.0.0.1")
    device, _credential = await enrol(db, await new_code(db, settings, unit.id), settings, "10.0.0.2")
    assert device.unit_id == unit.id


async def test_a_rating_on_a_closed_date_is_flagged_on_ingest(db, settings):
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from survey.app import create_app

    holiday = datetime(2026, 9, 2, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội on Quốc khánh, within opening hours
    closed = replace(settings, kiosk_closed_dates="2026-09-01,2026-09-02")
    unit = await make_unit(db)
    async with AsyncTestClient(app=create_app(closed), base_url="http://testserver.local") as c:
        dev = await enrol_device(c, db, closed, unit.id)
        on_holiday = await c.post("/kiosk/api/responses", json=answer(5, when=holiday), headers=dev.auth)
        next_day = await c.post("/kiosk/api/responses", json=answer(4, when=holiday + timedelta(days=1)), headers=dev.auth)
    assert on_holiday.status_code == 201 and on_holiday.json()["flags"] == ["outside_hours"]
    assert next_day.status_code == 201 and next_day.json()["flags"] == []
