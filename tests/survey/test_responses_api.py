"""POST /api/v1/responses: the JSON twin of the citizen survey, authorised by the receipt token alone."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from survey.db.models import Response
from survey.questionnaires import registry
from tests.conftest import make_procedure, make_receipt, make_unit
from tests.survey.test_citizen_survey import token_for

SHORT = registry.get("sipas-short")
URL = "/api/v1/responses"


@pytest.fixture
async def receipt(db):
    unit = await make_unit(db)
    return await make_receipt(db, unit, await make_procedure(db))


@pytest.fixture
def token(settings, receipt):
    return token_for(settings, receipt.id)


def body(token: str, **over) -> dict:
    data = {"token": token, "answers": {i.id: 4 for i in SHORT.items}, "overall": 4, "expectations": ["time"], "comment": None, "language": "en"}
    data.update(over)
    return data


async def count(db) -> int:
    db.expire_all()
    return await db.scalar(select(func.count()).select_from(Response))


def fields(r) -> set[str]:
    return {e["field"] for e in r.json()["errors"]}


async def test_created(client, db, receipt, token):
    r = await client.post(URL, json=body(token.lower(), comment="Tốt"))
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    row = await db.get(Response, rid)
    assert row is not None
    assert (row.questionnaire_id, row.questionnaire_version, row.channel) == (SHORT.id, SHORT.version, "qr")
    assert row.receipt_id == receipt.id and row.unit_id == receipt.unit_id and row.procedure_id == receipt.procedure_id
    assert row.answers == {i.id: 4 for i in SHORT.items} and row.overall == 4 and row.expectations == ["time"]
    assert row.language == "en" and row.comment == "Tốt"


async def test_second_response_is_409(client, db, token):
    assert (await client.post(URL, json=body(token))).status_code == 201
    r = await client.post(URL, json=body(token, overall=1))
    assert r.status_code == 409 and "already" in r.json()["detail"]
    assert await count(db) == 1


async def test_forged_and_unknown_tokens_are_404(client, db, settings, receipt, token):
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, "ZZZZ", token_for(settings, receipt.id + 50)):
        r = await client.post(URL, json=body(bad))
        assert r.status_code == 404, bad
    assert await count(db) == 0


async def test_expired_token_is_410(client, db, settings, receipt):
    expired = token_for(settings, receipt.id, expires_on=date.today() - timedelta(days=1))
    r = await client.post(URL, json=body(expired))
    assert r.status_code == 410
    assert await count(db) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"answers": {"access": 4, "procedure": 4, "result": 4, "feedback": 4}}, "answers.officer"),
        ({"answers": {"access": 4, "procedure": 4, "officer": 6, "result": 4, "feedback": 4}}, "answers.officer"),
        ({"answers": {"access": -1, "procedure": 4, "officer": 4, "result": 4, "feedback": 4}}, "answers.access"),
        ({"answers": {**{i.id: 3 for i in SHORT.items}, "nonsense": 3}}, "answers.nonsense"),
        ({"overall": 0}, "overall"),
        ({"overall": None}, "overall"),
        ({"expectations": ["time", "fees", "online", "simplify"]}, "expectations"),
        ({"expectations": ["teleport"]}, "expectations"),
        ({"comment": "x" * 1001}, "comment"),
        ({"language": "fr"}, "language"),
    ],
)
async def test_invalid_answers_are_422_naming_the_field(client, db, token, change, field):
    r = await client.post(URL, json=body(token, **change))
    assert r.status_code == 422, r.text
    assert field in fields(r)
    assert all(e["message"] for e in r.json()["errors"])
    assert await count(db) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"answers": {"officer": "x"}}, "answers.officer"),
        ({"answers": {"officer": 4.5}}, "answers.officer"),
        ({"answers": {"officer": True}}, "answers.officer"),
        ({"answers": []}, "answers"),
        ({"overall": "rất tốt"}, "overall"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_wrong_types_are_422_naming_the_field(client, db, token, payload, field):
    r = await client.post(URL, json=body(token, **payload))
    assert r.status_code == 422, r.text
    assert field in fields(r)
    assert await count(db) == 0


async def test_missing_token_is_422(client, db, token):
    data = body(token)
    del data["token"]
    r = await client.post(URL, json=data)
    assert r.status_code == 422 and "token" in fields(r)


async def test_malformed_json_is_400(client, db, token):
    for raw in (b'{"token": ', b"not json", json.dumps(body(token)).encode()[:-1]):
        r = await client.post(URL, content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400, raw
        assert r.json()["status_code"] == 400
    assert await count(db) == 0


async def test_body_over_64_kb_is_413(client, db, settings, token):
    r = await client.post(URL, json=body(token, comment="a" * 100_000))
    assert r.status_code == 413
    assert settings.max_body_bytes == 64 * 1024
    assert await count(db) == 0


async def test_no_api_key_needed_and_documented(client):
    schema = (await client.get("/schema/openapi.json")).json()
    op = schema["paths"][URL]["post"]
    assert {"201", "400", "404", "409", "410", "413", "422"} <= set(op["responses"])
    assert not op.get("security")


async def test_a_response_is_stored_although_the_pooled_connections_died(client, app, db, settings, receipt, token):
    """No pre-ping: a statement on a dead pooled connection is retried once on a fresh one (PostgreSQL),
    and the retry recognises its own row rather than answering 409."""
    from tests.conftest import is_postgres

    second = await make_receipt(db, await make_unit(db, code="000.00.02.H99"), dossier_code="000.00.02.H99-261201-0002")
    assert (await client.post(URL, json=body(token))).status_code == 201  # the app's pool now holds a connection
    if is_postgres():
        killer = create_async_engine(settings.database_url, poolclass=NullPool)  # ends every other backend, the app's pooled one too
        async with killer.connect() as conn:
            ended = await conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
        await killer.dispose()
        assert ended >= 1
    else:  # SQLite has no server to lose: every pooled connection is closed under the app instead
        await app.state.engine.dispose()
    r = await client.post(URL, json=body(token_for(settings, second.id)))
    assert r.status_code == 201, r.text
    r = await client.post(URL, json=body(token_for(settings, second.id)))
    assert r.status_code == 409


def test_a_retry_that_finds_its_own_row_is_a_201_not_a_409():
    from survey.responses.services import AlreadyAnswered, UnknownReceipt, _outcome

    assert _outcome("id-1", None, ("id-1", True)).created  # committed, then the connection was lost
    with pytest.raises(AlreadyAnswered):
        _outcome("id-2", None, ("id-1", True))
    with pytest.raises(UnknownReceipt):
        _outcome("id-2", None, (None, False))
    assert _outcome("id-3", "id-3", None).id == "id-3"
