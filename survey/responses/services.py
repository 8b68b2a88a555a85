"""Store a response, whichever channel it comes from. The one way answers enter the database.

One response per receipt is enforced by the unique constraint on ``responses.receipt_id``; replays
of a kiosk answer are idempotent on ``client_uuid``.  Either way the database decides, not a cookie,
so concurrent submissions for one receipt store exactly one response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.base import utcnow
from survey.db.models import Receipt, Response
from survey.db.write_turns import insert_row
from survey.questionnaires import registry
from survey.responses import readmodel
from survey.responses.validation import AnswerValidationError, FieldError, validate_answers


@dataclass(slots=True)
class Submission:
    """What any channel hands to :func:`store_response`."""

    questionnaire_id: str
    questionnaire_version: int
    channel: str
    unit_id: int
    answers: dict[str, int | None]
    overall: int | None = None
    expectations: list[str] = field(default_factory=list)
    comment: str | None = None
    language: str = "vi"
    receipt_id: int | None = None
    procedure_id: int | None = None
    device_id: int | None = None
    device_time: datetime | None = None
    client_uuid: str | None = None
    integrity_flags: list[str] = field(default_factory=list)
    review_status: str = "accepted"
    extra: dict[str, Any] = field(default_factory=dict)
    #: the receipt's procedure and channel, for the read model (looked up when a receipt is named without them)
    receipt_procedure_id: int | None = None
    receipt_channel: str | None = None


class AlreadyAnswered(Exception):
    """The receipt already has a response."""

    def __init__(self, response_id: str | None):
        super().__init__("this receipt has already been answered")
        self.response_id = response_id


class ConflictingReplay(Exception):
    """A client UUID was replayed with different answers."""

    def __init__(self, response_id: str):
        super().__init__("client_uuid was already used for different answers")
        self.response_id = response_id


class UnknownQuestionnaire(LookupError):
    def __init__(self, questionnaire_id: str, version: int):
        super().__init__(f"questionnaire {questionnaire_id!r} version {version} does not exist")
        self.questionnaire_id = questionnaire_id
        self.version = version


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    created: bool  # False when an identical replay returned the existing response


def _clean_answers(answers: dict[str, int | None]) -> dict[str, int]:
    return {k: v for k, v in answers.items() if v is not None}


def _same_content(existing: Response, sub: Submission) -> bool:
    return (
        existing.answers == _clean_answers(sub.answers)
        and existing.overall == sub.overall
        and list(existing.expectations or []) == list(sub.expectations)
        and (existing.comment or None) == (sub.comment or None)
        and existing.questionnaire_id == sub.questionnaire_id
        and existing.questionnaire_version == sub.questionnaire_version
    )


def check_submission(sub: Submission, comment_max_chars: int) -> None:
    """Raise UnknownQuestionnaire or AnswerValidationError; nothing is written."""
    try:
        q = registry.get(sub.questionnaire_id, sub.questionnaire_version)
    except KeyError:
        raise UnknownQuestionnaire(sub.questionnaire_id, sub.questionnaire_version) from None
    errors = validate_answers(q, sub.answers, sub.overall, sub.expectations, sub.comment, comment_max_chars)
    if sub.comment is not None and "\x00" in sub.comment:
        errors.append(FieldError("comment", "Ý kiến chứa ký tự không hợp lệ.", "The comment contains an invalid character."))
    if errors:
        raise AnswerValidationError(errors)


async def store_response(session: AsyncSession, sub: Submission, *, comment_max_chars: int = 1000) -> StoredResponse:
    """Validate and store one response in its own transaction (commits on success, rolls back otherwise).

    Raises AnswerValidationError, UnknownQuestionnaire, AlreadyAnswered or ConflictingReplay.
    """
    check_submission(sub, comment_max_chars)
    comment = (sub.comment or "").strip() or None
    values = {
        "id": str(uuid.uuid4()),
        "receipt_id": sub.receipt_id,
        "unit_id": sub.unit_id,
        "procedure_id": sub.procedure_id,
        "questionnaire_id": sub.questionnaire_id,
        "questionnaire_version": sub.questionnaire_version,
        "channel": sub.channel,
        "answers": _clean_answers(sub.answers),
        "overall": sub.overall,
        "expectations": list(sub.expectations),
        "comment": comment,
        "language": sub.language,
        "submitted_at": utcnow(),
        "device_time": sub.device_time,
        "client_uuid": sub.client_uuid,
        "device_id": sub.device_id,
        "integrity_flags": list(sub.integrity_flags),
        "review_status": sub.review_status,
        "extra": dict(sub.extra),
    }
    values["packed"] = await _packed(session, sub, values)
    try:
        # one Core INSERT and its commit (no unit-of-work flush); on SQLite both in one write turn
        await insert_row(session, Response.__table__, values)
    except IntegrityError:
        await session.rollback()
        return await _resolve_conflict(session, sub)
    return StoredResponse(values["id"], created=True)


async def _packed(session: AsyncSession, sub: Submission, values: dict[str, Any]) -> str:
    """The read-model record of the row (``survey.responses.readmodel``)."""
    rproc, rchan = sub.receipt_procedure_id, sub.receipt_channel
    if sub.receipt_id is not None and rchan is None:
        row = (await session.execute(select(Receipt.procedure_id, Receipt.channel).where(Receipt.id == sub.receipt_id))).first()
        rproc, rchan = (row[0], row[1]) if row is not None else (None, None)
    return readmodel.pack_values(values, rproc, rchan)


async def _resolve_conflict(session: AsyncSession, sub: Submission) -> StoredResponse:
    """After a unique violation: an identical replay is fine; anything else is refused."""
    if sub.client_uuid is not None:
        existing = await session.scalar(
            select(Response).where(Response.client_uuid == sub.client_uuid).execution_options(populate_existing=True)
        )
        if existing is not None:
            if _same_content(existing, sub) and existing.receipt_id == sub.receipt_id:
                return StoredResponse(existing.id, created=False)
            raise ConflictingReplay(existing.id)
    if sub.receipt_id is not None:
        existing_id = await session.scalar(select(Response.id).where(Response.receipt_id == sub.receipt_id))
        if existing_id is not None:
            raise AlreadyAnswered(existing_id)
    raise RuntimeError("integrity error not explained by receipt or client_uuid")  # pragma: no cover


async def receipt_has_response(session: AsyncSession, receipt_id: int) -> bool:
    return await session.scalar(select(Response.id).where(Response.receipt_id == receipt_id)) is not None
