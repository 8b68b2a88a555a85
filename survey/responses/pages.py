"""Services behind the citizen survey (QR channel): open a receipt link, shape the form, read it back.

Controllers stay thin: they call :func:`open_receipt` to turn a token into a :class:`ReceiptLink`
(or an error page), :func:`parse_form` to turn posted fields into a :class:`~survey.responses.services.Submission`
payload, and :func:`form_view` to build the plain dicts the template renders (never ORM objects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.models import Receipt
from survey.questionnaires import registry
from survey.questionnaires.registry import NOT_APPLICABLE, Questionnaire
from survey.receipts.tokens import TokenError, TokenExpired, verify
from survey.responses.services import Submission, receipt_has_response
from survey.responses.validation import FieldError
from survey.settings import Settings

#: The form a receipt's QR code opens: the latest version of the SIPAS short form.
QR_QUESTIONNAIRE = "sipas-short"
QR_CHANNEL = "qr"


class LinkNotFound(LookupError):
    """Forged or malformed token, or no such receipt (404)."""


class LinkExpired(LookupError):
    """The token verified but its survey period is over (410)."""


@dataclass(frozen=True, slots=True)
class ReceiptLink:
    """What a verified receipt token opens: ids only, no personal data."""

    token: str  # canonical (upper-case) form
    receipt_id: int
    unit_id: int
    procedure_id: int | None
    channel: str | None = None  # the receipt's (how the dossier was submitted)


def local_today(settings: Settings) -> date:
    """Today in the province's time zone (token expiry is a local date)."""
    return datetime.now(ZoneInfo(settings.timezone)).date()


def check_token(token: str, settings: Settings) -> int:
    """The receipt id a token names; LinkNotFound / LinkExpired otherwise (no database access)."""
    _, keys = settings.signing_keys()
    try:
        claims = verify(token, "receipt", keys, local_today(settings))
    except TokenExpired:
        raise LinkExpired(token) from None
    except TokenError:
        raise LinkNotFound(token) from None
    return claims.subject_id


async def open_receipt(session: AsyncSession, token: str, settings: Settings) -> ReceiptLink:
    """Verify ``token`` and load its receipt. Raises LinkNotFound or LinkExpired."""
    receipt_id = check_token(token, settings)
    row = (
        await session.execute(select(Receipt.id, Receipt.unit_id, Receipt.procedure_id, Receipt.channel).where(Receipt.id == receipt_id))
    ).first()
    if row is None:
        raise LinkNotFound(token)
    return ReceiptLink(token=token.strip().upper(), receipt_id=row.id, unit_id=row.unit_id, procedure_id=row.procedure_id, channel=row.channel)


async def is_answered(session: AsyncSession, link: ReceiptLink) -> bool:
    return await receipt_has_response(session, link.receipt_id)


def qr_questionnaire() -> Questionnaire:
    return registry.get(QR_QUESTIONNAIRE)


def submission_for(
    link: ReceiptLink,
    q: Questionnaire,
    *,
    answers: Mapping[str, Any],
    overall: Any,
    expectations: Sequence[str],
    comment: str | None,
    language: str,
) -> Submission:
    """The Submission for a QR answer: channel, questionnaire version, unit and procedure come from the receipt."""
    return Submission(
        questionnaire_id=q.id,
        questionnaire_version=q.version,
        channel=QR_CHANNEL,
        unit_id=link.unit_id,
        procedure_id=link.procedure_id,
        receipt_id=link.receipt_id,
        receipt_procedure_id=link.procedure_id,
        receipt_channel=link.channel,
        answers=dict(answers),
        overall=overall,
        expectations=list(expectations),
        comment=comment,
        language=language,
    )


def receipt_submission(
    receipt_id: int, *, answers: Mapping[str, Any], overall: Any, expectations: Sequence[str], comment: str | None, language: str
) -> Submission:
    """The Submission for a QR answer before the receipt is read: the insert takes unit and procedure from it."""
    unread = ReceiptLink(token="", receipt_id=receipt_id, unit_id=0, procedure_id=None)  # unit: not used by store_receipt_response
    return submission_for(unread, qr_questionnaire(), answers=answers, overall=overall, expectations=expectations,
                          comment=comment, language=language)


# --------------------------------------------------------------------------- the HTML form


def _to_answer(raw: str | None) -> int | str | None:
    """'' / missing -> None (unanswered); '3' -> 3; anything else is kept as text so validation names it."""
    if raw is None:
        return None
    text = raw.strip()
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return text


@dataclass(frozen=True, slots=True)
class ParsedForm:
    answers: dict[str, Any]
    overall: Any
    expectations: list[str]
    comment: str | None
    #: what the citizen sent, as text, to re-render the form with their answers kept
    values: dict[str, Any]


def parse_form(q: Questionnaire, form: Any) -> ParsedForm:
    """Read the posted fields (``answers.<item>``, ``overall``, ``expectations`` (repeated), ``comment``).

    ``form`` is a multi-dict (``getall``) or a plain mapping. Fields that are not in the questionnaire are ignored.
    """

    def one(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) else None

    def many(name: str) -> list[str]:
        if hasattr(form, "getall"):
            return [v for v in form.getall(name, []) if isinstance(v, str)]
        value = form.get(name)
        return [value] if isinstance(value, str) else list(value or [])

    answers = {item.id: _to_answer(one(f"answers.{item.id}")) for item in q.items}
    overall = _to_answer(one(q.overall.id)) if q.overall else None
    expectations = [e for e in many("expectations") if e]
    comment = one("comment")
    comment = comment if comment and comment.strip() else None
    values = {f"answers.{k}": (one(f"answers.{k}") or "") for k in answers}
    if q.overall:
        values[q.overall.id] = one(q.overall.id) or ""
    values["expectations"] = expectations
    values["comment"] = comment or ""
    return ParsedForm(answers, overall, expectations, comment, values)


def _choices(q: Questionnaire, lang: str, name: str, allow_na: bool, selected: str) -> list[dict[str, Any]]:
    """Radio options 1..5 (then 'no opinion' when allowed); the first carries the field id the error summary links to."""
    options = []
    for value in q.scale.values:
        options.append({"value": str(value), "label": q.scale.labels[str(value)].in_(lang)})
    if allow_na:
        options.append({"value": str(NOT_APPLICABLE), "label": q.scale.not_applicable.in_(lang), "divider": True})
    for n, opt in enumerate(options):
        opt["id"] = name if n == 0 else f"{name}-{opt['value']}"
        opt["checked"] = opt["value"] == selected
    return options


def form_view(
    q: Questionnaire,
    lang: str,
    values: Mapping[str, Any] | None = None,
    errors: Sequence[FieldError] = (),
    comment_max_chars: int | None = None,
) -> dict[str, Any]:
    """Plain data for templates/citizen/survey.html: questions, options, kept answers, error messages per field."""
    values = values or {}
    by_field: dict[str, str] = {}
    for e in errors:
        by_field.setdefault(e.field, e.message(lang))
    pillars = {p.id: p.label.in_(lang) for p in q.pillars}
    questions = []
    for item in q.items:
        name = f"answers.{item.id}"
        questions.append(
            {
                "name": name,
                "legend": item.label.in_(lang),
                "hint": pillars.get(item.pillar, ""),
                "required": item.required,
                "error": by_field.get(name),
                "options": _choices(q, lang, name, item.allow_na, str(values.get(name, ""))),
            }
        )
    overall = None
    if q.overall:
        overall = {
            "name": q.overall.id,
            "legend": q.overall.label.in_(lang),
            "hint": "",
            "required": q.overall.required,
            "error": by_field.get(q.overall.id),
            "options": _choices(q, lang, q.overall.id, False, str(values.get(q.overall.id, ""))),
        }
    expectations = None
    if q.expectations:
        chosen = set(values.get("expectations") or [])
        expectations = {
            "legend": q.expectations.label.in_(lang),
            "max": q.expectations.max_choices,
            "error": by_field.get("expectations"),
            "options": [
                {"id": "expectations" if n == 0 else f"expectations-{o.id}", "value": o.id, "label": o.label.in_(lang), "checked": o.id in chosen}
                for n, o in enumerate(q.expectations.options)
            ],
        }
    comment = None
    if q.comment:
        comment = {
            "label": q.comment.label.in_(lang),
            "max": min(q.comment.max_chars, comment_max_chars or q.comment.max_chars),
            "value": values.get("comment", ""),
            "error": by_field.get("comment"),
        }
    summary = [{"href": "#" + e.field, "message": e.message(lang)} for e in errors]
    return {
        "title": q.title.in_(lang),
        "questionnaire": {"id": q.id, "version": q.version},
        "questions": questions,
        "overall": overall,
        "expectations": expectations,
        "comment": comment,
        "errors": summary,
    }
