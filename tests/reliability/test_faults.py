"""Regression tests for the faults of issues 13 and 14 that are not a whole class of input (those are
in test_bad_input.py): each fails if its fault comes back.  SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kiosk.models import KioskDevice
from kiosk.services import MAX_SKEW_SECONDS
from survey.db.models import Receipt
from survey.imports import services as imports
from survey.receipts import services, tokens
from survey.receipts.clients import create_api_client
from tests.conftest import make_procedure, make_unit
from tests.kiosk.helpers import enrol_device


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def count(db) -> int:
    db.expire_all()
    return await db.scalar(select(func.count()).select_from(Receipt))


def code_for(settings, at: datetime, seq: int = 1) -> str:
    return f"999.99.99.H98-{services.local_day(settings, at):%y%m%d}-{seq:04d}"


def receipt(settings, at: datetime, seq: int = 1, **over) -> dict:
    return {"dossier_code": code_for(settings, at, seq), "unit_code": "000.00.01.H99", "received_at": at.isoformat(), "channel": "direct", **over}


@pytest.fixture
async def unit(db):
    return await make_unit(db, code="000.00.01.H99", name="Trung tâm Phục vụ hành chính công", kind="province")


# --------------------------------------------------------------------------- fault 1: old received_at


async def test_old_receipt_is_a_clear_422_every_time_and_nothing_is_stored(client, db, settings, unit):
    _c, key = await create_api_client(db, "một cửa")
    old = datetime(2019, 10, 1, 8, 0, tzinfo=UTC)
    for _attempt in range(3):  # the client retries: the same clear answer, never a 500
        r = await client.post("/api/v1/receipts", json=receipt(settings, old), headers=auth(key))
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["received_at"] and "2020-01-01" in r.text
    assert await count(db) == 0
    assert (await client.get(f"/api/v1/receipts/{code_for(settings, old)}", headers=auth(key))).status_code == 404
    # a batch with one such item commits nothing and names the item
    now = datetime.now(UTC) - timedelta(hours=1)
    items = [receipt(settings, now, 1), receipt(settings, old, 2), receipt(settings, now, 3)]
    r = await client.post("/api/v1/receipts/batch", json={"items": items}, headers=auth(key))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["items[1].received_at"]
    assert await count(db) == 0


async def test_import_receipts_with_an_old_row_reports_its_line_and_writes_nothing(db, settings, unit, tmp_path, capsys):
    from survey.imports.cli import run_import

    now = datetime.now(UTC) - timedelta(hours=2)
    old = datetime(2019, 6, 1, 9, 0, tzinfo=UTC)
    lines = ["dossier_code,unit_code,procedure_code,received_at,appointment_date,returned_at,channel,counter"]
    lines.append(f"{code_for(settings, now, 1)},000.00.01.H99,,{now.isoformat()},,,direct,Quầy 1")
    lines.append(f"{code_for(settings, old, 2)},000.00.01.H99,,{old.isoformat()},,,direct,Quầy 1")
    path = tmp_path / "receipts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(imports.CsvImportError) as info:
        await imports.import_receipts(db, path.read_bytes(), settings)
    assert str(info.value.errors[0]).startswith("line 3: received_at:")
    assert await count(db) == 0
    # the command: a line-numbered message and exit code 1, no traceback
    assert await asyncio.to_thread(run_import, "receipts", path, settings, show_progress=False) == 1
    err = capsys.readouterr().err
    assert "line 3: received_at" in err and "Traceback" not in err
    assert await count(db) == 0


async def test_a_row_stored_before_the_fix_still_answers(client, db, settings, unit):
    """Rows with an expiry before the token epoch exist on old databases: they answer, with an expired link."""
    client_row, key = await create_api_client(db, "một cửa")
    at = datetime(2019, 10, 1, 1, 0, tzinfo=UTC)
    db.add(Receipt(dossier_code=code_for(settings, at), unit_id=unit.id, received_at=at, channel="direct",
                   api_client_id=client_row.id, token_expires_at=at + timedelta(days=60)))
    await db.commit()
    r = await client.get(f"/api/v1/receipts/{code_for(settings, at)}", headers=auth(key))
    assert r.status_code == 200, r.text
    assert (await client.get(f"/qr/{r.json()['token']}.svg")).status_code == 410


async def test_tokens_are_minted_before_the_commit(db, settings, unit, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("cannot mint")

    monkeypatch.setattr(tokens, "mint", broken)
    now = datetime.now(UTC) - timedelta(hours=1)
    item = services.ReceiptInput(dossier_code=code_for(settings, now), unit_code=unit.code, received_at=now)
    with pytest.raises(ValueError, match="cannot mint"):
        await services.register_receipt(db, item, None, settings)
    assert await count(db) == 0  # no row left behind for every retry to trip over


# --------------------------------------------------------------------------- fault 5: other clients' receipts


async def test_a_client_cannot_take_over_another_clients_receipt(client, db, settings, unit):
    _a, key_a = await create_api_client(db, "hệ thống A")
    _b, key_b = await create_api_client(db, "hệ thống B")
    now = datetime.now(UTC) - timedelta(hours=1)
    first = await client.post("/api/v1/receipts", json=receipt(settings, now), headers=auth(key_a))
    assert first.status_code == 201
    token = first.json()["token"]
    steal = await client.post("/api/v1/receipts", json=receipt(settings, now, returned_at=now.isoformat()), headers=auth(key_b))
    assert steal.status_code == 409 and token not in steal.text
    assert [e["field"] for e in steal.json()["errors"]] == ["dossier_code"]
    db.expire_all()
    stored = await db.scalar(select(Receipt))
    assert stored.returned_at is None  # not changed by the other client
    assert (await client.get(f"/api/v1/receipts/{code_for(settings, now)}", headers=auth(key_b))).status_code == 404
    batch = await client.post("/api/v1/receipts/batch", json={"items": [receipt(settings, now)]}, headers=auth(key_b))
    assert batch.status_code == 409 and token not in batch.text
    # its own client replays it as before
    again = await client.post("/api/v1/receipts", json=receipt(settings, now), headers=auth(key_a))
    assert again.status_code == 200 and again.json()["token"] == token


async def test_unit_sharing_is_explicit_configuration(db, settings, unit):
    from litestar.testing import AsyncTestClient

    from survey.app import create_app

    child = await make_unit(db, code="000.00.02.H99", name="Quầy chi nhánh", kind="ward", parent_id=unit.id)
    _a, key_a = await create_api_client(db, "hệ thống A", unit.id)
    _b, key_b = await create_api_client(db, "hệ thống B", unit.id)
    _c, key_c = await create_api_client(db, "hệ thống C", child.id)
    now = datetime.now(UTC) - timedelta(hours=1)
    shared = replace(settings, api_share_unit_receipts=True)
    async with AsyncTestClient(app=create_app(shared), base_url="http://testserver.local") as c:
        first = await c.post("/api/v1/receipts", json=receipt(settings, now), headers=auth(key_a))
        assert first.status_code == 201
        same_unit = await c.post("/api/v1/receipts", json=receipt(settings, now), headers=auth(key_b))
        assert same_unit.status_code == 200 and same_unit.json()["token"] == first.json()["token"]
        assert (await c.get(f"/api/v1/receipts/{code_for(settings, now)}", headers=auth(key_b))).status_code == 200
        # a client of a unit below sees only its own units' receipts, even when sharing
        assert (await c.get(f"/api/v1/receipts/{code_for(settings, now)}", headers=auth(key_c))).status_code == 404


# --------------------------------------------------------------------------- fault 7: kiosk clock in 2100


@pytest.mark.parametrize("device_time", ["2100-01-01T00:00:00+00:00", "1970-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"])
async def test_heartbeat_from_a_wild_clock_is_stored_clamped(client, db, settings, device_time):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    for _ in range(2):
        r = await client.post("/kiosk/api/heartbeat", json={"app_version": "1.0.0", "device_time": device_time}, headers=dev.auth)
        assert r.status_code == 200, r.text
    db.expire_all()
    device = await db.get(KioskDevice, dev.id)
    assert abs(device.heartbeat_skew_seconds) == MAX_SKEW_SECONDS


async def test_heartbeat_device_time_must_be_a_string(client, db, settings):
    unit = await make_unit(db)
    dev = await enrol_device(client, db, settings, unit.id)
    for bad in (0, 1764547200, 1.5, True):
        r = await client.post("/kiosk/api/heartbeat", json={"app_version": "1.0.0", "device_time": bad}, headers=dev.auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "device_time", (bad, r.text)
    db.expire_all()
    assert (await db.get(KioskDevice, dev.id)).heartbeat_skew_seconds is None


# --------------------------------------------------------------------------- issue 14, item 5


async def test_receipt_format_errors_are_all_reported_in_one_422(client, db, settings, unit):
    await make_procedure(db)
    _c, key = await create_api_client(db, "một cửa")
    now = datetime.now(UTC) - timedelta(hours=1)
    naive = now.astimezone(services.local_zone(settings)).replace(tzinfo=None).isoformat()
    r = await client.post("/api/v1/receipts", json=receipt(settings, now, received_at=naive), headers=auth(key))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["received_at"] and "timezone" in r.text
    body = receipt(settings, now, dossier_code="nope", received_at=naive, channel="fax", counter=7)
    r = await client.post("/api/v1/receipts", json=body, headers=auth(key))
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"dossier_code", "received_at", "channel", "counter"}
    assert await count(db) == 0


async def test_dossier_code_date_must_be_the_day_received(client, db, settings, unit):
    _c, key = await create_api_client(db, "một cửa")
    now = datetime.now(UTC) - timedelta(hours=1)
    wrong_day = f"999.99.99.H98-{services.local_day(settings, now - timedelta(days=3)):%y%m%d}-0001"
    r = await client.post("/api/v1/receipts", json=receipt(settings, now, dossier_code=wrong_day), headers=auth(key))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dossier_code" and "received_at" in r.text
    assert await count(db) == 0
    # the local day counts: 00:30 in Hà Nội is "today" there, although the UTC date is still yesterday
    late = datetime.now(services.local_zone(settings)).replace(hour=0, minute=30, second=0, microsecond=0)
    ok = await client.post("/api/v1/receipts", json=receipt(settings, late, 2), headers=auth(key))
    assert ok.status_code == 201, ok.text


async def test_survey_url_in_json_is_canonical_and_the_qr_keeps_upper_case(client, db, settings, unit):
    _c, key = await create_api_client(db, "một cửa")
    now = datetime.now(UTC) - timedelta(hours=1)
    r = await client.post("/api/v1/receipts", json=receipt(settings, now), headers=auth(key))
    out = r.json()
    assert out["survey_url"] == f"{settings.public_url}/r/{out['token']}"
    assert services.survey_url(settings, out["token"]) == out["survey_url"].replace("/r/", "/R/").upper()
    page = await client.get(out["survey_url"].replace(settings.public_url, ""))
    assert page.status_code == 200


# --------------------------------------------------------------------------- fault 3: NUL in a CSV cell


async def test_csv_cells_with_control_characters_name_their_line_and_column(db, settings, unit):
    from survey.campaigns.frame_csv import FrameCsvError, parse_frame_csv

    now = datetime.now(UTC) - timedelta(hours=2)
    header = "dossier_code,unit_code,procedure_code,received_at,appointment_date,returned_at,channel,counter"
    good = f"{code_for(settings, now, 1)},000.00.01.H99,,{now.isoformat()},,,direct,Quầy 1"
    bad = f"{code_for(settings, now, 2)},000.00.01.H99,,{now.isoformat()},,,direct,Quầy\x002"
    with pytest.raises(imports.CsvImportError) as info:
        await imports.import_receipts(db, "\n".join([header, good, bad]).encode(), settings)
    assert str(info.value.errors[0]).startswith("line 3: counter:") and "U+0000" in str(info.value)
    assert await count(db) == 0
    units = "code,name,kind,parent_code\nX1,Phường\x1b[2J,ward,\n"
    with pytest.raises(imports.CsvImportError, match="line 2: name"):
        await imports.import_units(db, units.encode())
    with pytest.raises(FrameCsvError, match="line 2: unit_code"):
        parse_frame_csv("dossier_code,unit_code,field,channel,received_at\nA-1,SNV\x00,Hộ tịch,direct,2026-11-20\n")
