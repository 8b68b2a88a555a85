"""POST/GET /api/v1/receipts: API-key auth, idempotency, validation naming fields, batches, OpenAPI."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from survey.db.models import ApiClient, Receipt, Unit
from survey.receipts import services
from survey.receipts.clients import authenticate_api_client, create_api_client, revoke_api_client
from tests.conftest import make_procedure, make_unit

CODE = "000.00.01.H01-261122-0001"


def body(**over):
    data = {
        "dossier_code": CODE,
        "unit_code": "SNV",
        "procedure_code": "1.001234",
        "received_at": "2026-11-22T08:30:00+07:00",
        "appointment_date": "2026-11-25",
        "channel": "direct",
        "counter": "Quầy 2",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not ...}


@pytest.fixture
async def key(db):
    await make_unit(db)
    await make_procedure(db)
    _client, plaintext = await create_api_client(db, "Hệ thống một cửa")
    return plaintext


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def count_receipts(db) -> int:
    return await db.scalar(select(func.count()).select_from(Receipt))


# --------------------------------------------------------------------------- API clients


async def test_key_is_hashed_prefixed_and_authenticates(db, key):
    row = await db.scalar(select(ApiClient))
    assert key.startswith(row.key_prefix + "_") and row.key_prefix.startswith("hl_")
    assert key not in row.key_hash and len(row.key_hash) == 64  # SHA-256 hex only
    assert len(key) - len(row.key_prefix) > 40  # token_urlsafe(32)
    found = await authenticate_api_client(db, key)
    assert found is not None and found.id == row.id and found.last_used_at is not None
    assert await authenticate_api_client(db, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert await authenticate_api_client(db, "") is None
    await revoke_api_client(db, row.id)
    assert await authenticate_api_client(db, key) is None
    with pytest.raises(LookupError):
        await revoke_api_client(db, 9999)


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "Missing API key"),
        ({"Authorization": "Bearer hl_00000000_nope"}, "Invalid API key"),
        ({"X-API-Key": "not-a-key"}, "Invalid API key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Missing API key"),
    ],
)
async def test_missing_or_invalid_key_is_401_json(client, key, db, headers, message):
    r = await client.post("/api/v1/receipts", json=body(), headers=headers)
    assert r.status_code == 401
    assert message in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert await count_receipts(db) == 0


async def test_revoked_key_is_401_and_x_api_key_works(client, db, key):
    r = await client.post("/api/v1/receipts", json=body(), headers={"X-API-Key": key})
    assert r.status_code == 201
    row = await db.scalar(select(ApiClient))
    await revoke_api_client(db, row.id)
    r = await client.post("/api/v1/receipts", json=body(dossier_code="000.00.01.H01-261122-0002"), headers=auth(key))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


# --------------------------------------------------------------------------- registration


async def test_created_then_idempotent(client, db, key):
    r1 = await client.post("/api/v1/receipts", json=body(), headers=auth(key))
    assert r1.status_code == 201, r1.text
    first = r1.json()
    assert first["created"] is True and first["dossier_code"] == CODE
    # JSON carries the canonical link; only the QR code and the slip use the upper-case form
    assert first["survey_url"] == f"http://testserver.local/r/{first['token']}"
    assert first["qr_svg_url"].endswith(f"/qr/{first['token']}.svg") and first["qr_png_url"].endswith(".png")
    assert first["slip_url"].endswith(f"/slip/{first['token']}")
    # expiry = local receipt date + token_ttl_days
    assert date.fromisoformat(first["expires_on"]) == date(2026, 11, 22) + timedelta(days=60)
    assert first["appointment_date"] == "2026-11-25"

    r2 = await client.post("/api/v1/receipts", json=body(dossier_code=CODE.lower()), headers=auth(key))
    assert r2.status_code == 200
    assert r2.json()["token"] == first["token"] and r2.json()["created"] is False
    assert await count_receipts(db) == 1

    got = await client.get(f"/api/v1/receipts/{CODE}", headers=auth(key))
    assert got.status_code == 200 and got.json()["token"] == first["token"]


async def test_same_code_other_unit_is_409(client, db, key):
    await make_unit(db, code="STP", name="Sở Tư pháp")
    assert (await client.post("/api/v1/receipts", json=body(), headers=auth(key))).status_code == 201
    r = await client.post("/api/v1/receipts", json=body(unit_code="STP"), headers=auth(key))
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "dossier_code"
    assert await count_receipts(db) == 1


async def test_other_client_cannot_read_receipt(client, db, key):
    assert (await client.post("/api/v1/receipts", json=body(), headers=auth(key))).status_code == 201
    _other, other_key = await create_api_client(db, "Hệ thống khác")
    assert (await client.get(f"/api/v1/receipts/{CODE}", headers=auth(other_key))).status_code == 404
    assert (await client.get(f"/api/v1/receipts/{CODE}")).status_code == 401


async def test_unit_restricted_client(client, db, key):
    parent = (await db.scalars(select(Unit).where(Unit.code == "SNV"))).one()
    await make_unit(db, code="X.A", name="Xã A", kind="commune", parent_id=parent.id)
    await make_unit(db, code="STP", name="Sở Tư pháp")
    _c, restricted = await create_api_client(db, "Một cửa SNV", unit_id=parent.id)
    ok = await client.post("/api/v1/receipts", json=body(unit_code="X.A"), headers=auth(restricted))
    assert ok.status_code == 201
    r = await client.post("/api/v1/receipts", json=body(dossier_code="000.00.01.H01-261122-0009", unit_code="STP"), headers=auth(restricted))
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "unit_code"


@pytest.mark.parametrize(
    "code",
    [
        "garbage",
        "000.00.01.H01-261122",  # no sequence
        "000.00.01.H01-261322-0001",  # month 13
        "000.00.01.H01-260230-0001",  # 30 February
        "000.00.01-261122-0001",  # agency code of 3 parts
        "000.00.01.101-261122-0001",  # level-1 code must start with a letter
        "000.00.01.H01-261122-0000",  # sequence zero
        "000.00.01.H01-261122-01",  # sequence too short
        "000.00.01.H01 -261122-0001",
    ],
)
async def test_bad_dossier_code_is_422_naming_the_field(client, db, key, code):
    r = await client.post("/api/v1/receipts", json=body(dossier_code=code), headers=auth(key))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["dossier_code"]
    assert await count_receipts(db) == 0


@pytest.mark.parametrize("code", ["000.00.01.H01-261122-0001", "000.20.35.H29-250701-12345", "A12.01.0B.G05-240229-0042"])
def test_real_world_dossier_codes_are_accepted(code):
    parsed = services.parse_dossier_code(code.lower())
    assert parsed.code == code
    assert parsed.received_on.year >= 2024


@pytest.mark.parametrize(
    "over, field",
    [
        ({"unit_code": "KHONGCO"}, "unit_code"),
        ({"procedure_code": "9.999999"}, "procedure_code"),
        ({"appointment_date": "2026-11-01"}, "appointment_date"),
        ({"received_at": "2099-01-01T00:00:00"}, "received_at"),
        ({"returned_at": "2026-11-01T00:00:00+07:00"}, "returned_at"),
    ],
)
async def test_semantic_errors_are_422_naming_the_field(client, db, key, over, field):
    r = await client.post("/api/v1/receipts", json=body(**over), headers=auth(key))
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await count_receipts(db) == 0


@pytest.mark.parametrize(
    "content, needle, status",
    [
        (b'{"dossier_code": ', "truncated", 400),
        (b"{dossier_code: 1}", "JSON is malformed", 400),
        # a body that is JSON but not a receipt: 422, every wrong field named at once
        (b'{"dossier_code": "000.00.01.H01-261122-0001"}', "unit_code", 422),
        (b'{"dossier_code": "000.00.01.H01-261122-0001", "unit_code": "SNV", "received_at": "yesterday"}', "received_at", 422),
        (b'{"dossier_code": "000.00.01.H01-261122-0001", "unit_code": "SNV", "received_at": "2026-11-22T08:00:00+07:00", "channel": "fax"}', "channel", 422),
        (b'{"dossier_code": "000.00.01.H01-261122-0001", "unit_code": "SNV", "received_at": "2026-11-22T08:00:00+07:00", "citizen_name": "A"}', "citizen_name", 422),
    ],
)
async def test_malformed_body_is_400_wrong_shape_422(client, db, key, content, needle, status):
    r = await client.post("/api/v1/receipts", content=content, headers={**auth(key), "content-type": "application/json"})
    assert r.status_code == status, r.text
    assert needle in r.text
    assert await count_receipts(db) == 0


# --------------------------------------------------------------------------- batch


def batch_items(n: int, **over) -> list[dict]:
    return [body(dossier_code=f"000.00.01.H01-261122-{i + 1:04d}", **over) for i in range(n)]


async def test_batch_all_or_nothing(client, db, key):
    items = batch_items(5)
    items[3]["dossier_code"] = "000.00.01.H01-261199-0004"
    items[1]["unit_code"] = "KHONGCO"
    r = await client.post("/api/v1/receipts/batch", json={"items": items}, headers=auth(key))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"items[3].dossier_code", "items[1].unit_code"}
    assert await count_receipts(db) == 0

    good = batch_items(5)
    r = await client.post("/api/v1/receipts/batch", json={"items": good}, headers=auth(key))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["created"] == 5 and out["existing"] == 0
    assert [i["dossier_code"] for i in out["items"]] == [g["dossier_code"] for g in good]
    assert len({i["token"] for i in out["items"]}) == 5
    assert await count_receipts(db) == 5

    again = await client.post("/api/v1/receipts/batch", json={"items": good[:2] + batch_items(7)[5:]}, headers=auth(key))
    assert again.status_code == 201 and again.json()["created"] == 2 and again.json()["existing"] == 2
    assert again.json()["items"][0]["token"] == out["items"][0]["token"]


async def test_batch_duplicates_and_limits(client, db, key):
    dup = batch_items(2)
    dup[1]["dossier_code"] = dup[0]["dossier_code"]
    r = await client.post("/api/v1/receipts/batch", json={"items": dup}, headers=auth(key))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items[1].dossier_code"
    r = await client.post("/api/v1/receipts/batch", json={"items": []}, headers=auth(key))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items"
    assert await count_receipts(db) == 0


async def test_batch_of_500_fits_the_body_limit(client, db, key):
    r = await client.post("/api/v1/receipts/batch", json={"items": batch_items(500)}, headers=auth(key))
    assert r.status_code == 201, r.text[:300]
    assert await count_receipts(db) == 500
    r = await client.post("/api/v1/receipts/batch", json={"items": batch_items(501)}, headers=auth(key))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items"


async def test_bulk_service_matches_single_registration(db, settings):
    await make_unit(db, code="U1", name="Phường Một", kind="ward")
    items = services.synthetic_receipts(50, "U1")
    results = await services.register_receipts_bulk(db, items, None, settings)
    assert all(r.created for r in results) and len({r.dossier_code for r in results}) == 50
    single = await services.register_receipt(db, items[7], None, settings)
    assert single.created is False and single.token == results[7].token


# --------------------------------------------------------------------------- OpenAPI


async def test_openapi_documents_routes_and_security(client):
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/api/v1/receipts", "/api/v1/receipts/batch", "/api/v1/receipts/{dossier_code}", "/qr/{name}", "/slip/{token}"):
        assert path in paths
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerApiKey"]["scheme"] == "bearer"
    assert schemes["headerApiKey"] == {**schemes["headerApiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    post = paths["/api/v1/receipts"]["post"]
    assert {"bearerApiKey": []} in post["security"]
    assert {"201", "200", "401", "409", "422"} <= set(post["responses"])
    assert "ReceiptCreate" in str(post["requestBody"])


async def test_concurrent_registrations_of_one_code_store_one_receipt(client, db, key):
    import asyncio

    responses = await asyncio.gather(*(client.post("/api/v1/receipts", json=body(), headers=auth(key)) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [201], [r.text for r in responses]
    assert len({r.json()["token"] for r in responses}) == 1
    assert await count_receipts(db) == 1


async def test_concurrent_overlapping_batches(client, db, key):
    import asyncio

    a, b = batch_items(6)[:4], batch_items(6)[2:]
    r1, r2 = await asyncio.gather(
        client.post("/api/v1/receipts/batch", json={"items": a}, headers=auth(key)),
        client.post("/api/v1/receipts/batch", json={"items": b}, headers=auth(key)),
    )
    assert {r1.status_code, r2.status_code} <= {200, 201}, (r1.text, r2.text)
    assert r1.json()["created"] + r2.json()["created"] == 6
    assert await count_receipts(db) == 6
