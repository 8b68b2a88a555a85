"""The one response service: validation, one response per receipt, idempotent replays by client UUID."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from survey.db.models import Response
from survey.responses.services import (
    AlreadyAnswered,
    ConflictingReplay,
    Submission,
    UnknownQuestionnaire,
    store_response,
)
from survey.responses.validation import AnswerValidationError
from tests.conftest import make_receipt, make_unit

GOOD = {"access": 4, "procedure": 5, "officer": 3, "result": 0, "feedback": 2}


def short(unit_id: int, **kw) -> Submission:
    base = dict(questionnaire_id="sipas-short", questionnaire_version=1, channel="qr", unit_id=unit_id, answers=dict(GOOD), overall=4, expectations=["time"])
    base.update(kw)
    return Submission(**base)


async def count(db) -> int:
    return await db.scalar(select(func.count()).select_from(Response))


async def test_stores_version_channel_and_answers(db):
    unit = await make_unit(db)
    receipt = await make_receipt(db, unit)
    stored = await store_response(db, short(unit.id, receipt_id=receipt.id))
    row = await db.get(Response, stored.id)
    assert stored.created and (row.questionnaire_id, row.questionnaire_version, row.channel) == ("sipas-short", 1, "qr")
    assert row.answers == GOOD and row.overall == 4 and row.receipt_id == receipt.id


async def test_second_response_for_a_receipt_is_refused(db):
    unit = await make_unit(db)
    receipt = await make_receipt(db, unit)
    unit_id, receipt_id = unit.id, receipt.id
    first = await store_response(db, short(unit_id, receipt_id=receipt_id))
    with pytest.raises(AlreadyAnswered) as info:
        await store_response(db, short(unit_id, receipt_id=receipt_id, overall=1))
    assert info.value.response_id == first.id
    assert await count(db) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"answers": {**GOOD, "officer": 6}}, "answers.officer"),
        ({"answers": {k: v for k, v in GOOD.items() if k != "access"}}, "answers.access"),
        ({"answers": {**GOOD, "bogus": 3}}, "answers.bogus"),
        ({"overall": None}, "overall"),
        ({"overall": 0}, "overall"),
        ({"expectations": ["time", "fees", "online", "simplify"]}, "expectations"),
        ({"expectations": ["nope"]}, "expectations"),
        ({"comment": "x" * 1001}, "comment"),
    ],
)
async def test_invalid_answers_name_the_field_and_write_nothing(db, changes, field):
    unit = await make_unit(db)
    with pytest.raises(AnswerValidationError) as info:
        await store_response(db, short(unit.id, **changes))
    assert field in [e.field for e in info.value.errors]
    assert all(e.message_vi and e.message_en for e in info.value.errors)
    assert await count(db) == 0


async def test_unknown_questionnaire_version(db):
    unit = await make_unit(db)
    with pytest.raises(UnknownQuestionnaire):
        await store_response(db, short(unit.id, questionnaire_version=99))
    assert await count(db) == 0


async def test_client_uuid_replay_is_idempotent_and_conflicts_are_refused(db):
    unit_id = (await make_unit(db)).id
    cid = str(uuid.uuid4())
    kiosk = dict(questionnaire_id="kiosk", channel="kiosk", answers={"officer": 5}, expectations=[], client_uuid=cid)
    first = await store_response(db, short(unit_id, **kiosk))
    again = await store_response(db, short(unit_id, **kiosk))
    assert again.id == first.id and not again.created
    with pytest.raises(ConflictingReplay):
        await store_response(db, short(unit_id, **{**kiosk, "overall": 1}))
    assert await count(db) == 1
