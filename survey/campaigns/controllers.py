"""HTTP routes of sampling campaigns (thin: parse, call the service, render).

Admin (statistician): ``/admin/sampling`` list + design form, ``POST /admin/sampling/preview`` (sizes per
stratum), ``POST /admin/sampling/draw`` (→ campaign page), ``/admin/sampling/{id}`` (representativeness,
AAPOR rates), ``/admin/sampling/{id}/calls.csv|.xlsx`` (call list), ``POST .../dispositions``.
Citizen: ``/c/{token}`` (campaign invitation: consent, then the campaign's questionnaire).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from survey import labels
from survey.admin.controllers import admin_page, redirect_to_login
from survey.admin.guards import current_user, requires_role
from survey.campaigns import services
from survey.campaigns.forms import CHANNELS, STRATA_CHOICES, parse_design_form
from survey.labels import N_
from survey.questionnaires import registry
from survey.responses import pages
from survey.responses.services import (
    AlreadyAnswered,
    ConflictingReplay,
    Submission,
    store_response,
)
from survey.responses.validation import AnswerValidationError, FieldError
from survey.settings import Settings
from survey.stats import load_frame
from survey.web import current_language, page

STATISTICIAN = [requires_role("statistician")]
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
DEFAULT_VALUES: dict[str, Any] = {
    "name": "", "period_from": "", "period_to": "", "strata": "unit", "size_method": "fixed", "n": "", "margin": "0,05",
    "confidence": "0,95", "deff": "1", "response_rate": "1", "allocation": "proportional", "power": "0,5", "minimum": "0",
    "seed": "", "reserve_fraction": "0", "units": [], "fields": [], "channels": [], "completed_only": True,
}


def _actor(request: Request) -> str:
    user = current_user(request)
    return user.username if user else "-"


def _errors(errors: list[FieldError], lang: str) -> list[dict[str, str]]:
    return [{"field": e.field, "message": e.message(lang)} for e in errors]


async def _unit_names(db_session: AsyncSession) -> dict[str, dict[str, str]]:
    """{"unit": {unit code: name}}: what a stratum label like ``000.00.01.H99 | Hộ tịch`` is read as."""
    from sqlalchemy import select

    from survey.db.models import Unit

    return {"unit": dict((await db_session.execute(select(Unit.code, Unit.name))).all())}


def _labelled(rows: list[dict[str, Any]], strata: Any, lang: str, names: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Rows with a ``label`` beside their ``stratum`` code (the code stays for exports and tests)."""
    return [{**r, "label": labels.stratum_label(r["stratum"], strata or (), lang, names)} for r in rows]


async def _design_page(
    request: Request, db_session: AsyncSession, values: dict[str, Any] | None = None, errors: list[FieldError] = (),
    preview: services.Preview | None = None, status_code: int = 200,
) -> Template:
    lang = current_language(request)
    names = await _unit_names(db_session)
    strata = () if (values or DEFAULT_VALUES).get("strata") in ("none", "") else str((values or DEFAULT_VALUES).get("strata") or "unit").split(",")
    ctx = {
        "campaigns": await services.list_campaigns(db_session),
        "choices": await services.form_choices(db_session),
        "strata_choices": STRATA_CHOICES,
        "channels": CHANNELS,
        "allocations": services.ALLOCATIONS,
        "values": values or DEFAULT_VALUES,
        "errors": _errors(list(errors), lang),
        "error_fields": {e.field for e in errors},
        "preview": None if preview is None else {
            "frame_size": preview.frame_size, "n": preview.n, "rows": _labelled(preview.rows, strata, lang, names),
            "reserve_size": preview.reserve_size, "total": sum(r["sample"] for r in preview.rows),
            "warnings": preview.warnings if lang == "en" else preview.warnings_vi,
        },
    }
    return admin_page(request, "admin/sampling_index.html", ctx, status_code=status_code)


@get("/", name="sampling:index", guards=STATISTICIAN)
async def index(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _design_page(request, db_session)


async def _parse_and_plan(request: Request, db_session: AsyncSession, settings: Settings):
    parsed = parse_design_form(await request.form(), settings.timezone)
    if parsed.errors:
        return parsed, None, None, parsed.errors
    frame = await load_frame(db_session, parsed.frame_filter)
    try:
        pv = await services.preview(db_session, frame, parsed.design, parsed.frame_filter)
    except services.SamplingInputError as exc:
        return parsed, frame, None, exc.errors
    return parsed, frame, pv, []


@post("/preview", name="sampling:preview", guards=STATISTICIAN, status_code=200)
async def preview(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    parsed, _frame, pv, errors = await _parse_and_plan(request, db_session, settings)
    if errors:
        return await _design_page(request, db_session, parsed.values, errors, status_code=400)
    return await _design_page(request, db_session, parsed.values, preview=pv)


@post("/draw", name="sampling:draw", guards=STATISTICIAN, status_code=303)
async def draw(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    parsed, frame, pv, errors = await _parse_and_plan(request, db_session, settings)
    if errors:
        return await _design_page(request, db_session, parsed.values, errors, status_code=400)
    design = parsed.design
    result = await services.draw(
        db_session, frame, design, actor=_actor(request), frame_description=parsed.frame_filter.as_dict(), flt=parsed.frame_filter
    )
    return Redirect(f"/admin/sampling/{result.campaign_id}", status_code=303)


@get("/{campaign_id:int}", name="sampling:campaign", guards=STATISTICIAN)
async def campaign(request: Request, db_session: NamedDependency[AsyncSession], campaign_id: FromPath[int]) -> Template:
    report = await services.campaign_report(db_session, campaign_id)
    if report is None:
        raise NotFoundException(N_("Không tìm thấy đợt khảo sát."))
    ctx = {"c": await _label_report(db_session, report, current_language(request)), "errors": [], "statuses": services.MEMBER_STATUSES}
    return admin_page(request, "admin/sampling_campaign.html", ctx)


async def _label_report(db_session: AsyncSession, report: dict[str, Any], lang: str) -> dict[str, Any]:
    """The campaign report with labels for people beside the codes (strata, units, channels)."""
    names = await _unit_names(db_session)
    strata = report["design"].get("strata") or ()
    out = {**report, "allocation": _labelled(report["allocation"] or [], strata, lang, names), "checks": {}}
    for key, chk in report["checks"].items():
        if chk is None:
            out["checks"][key] = None
            continue
        smd = []
        for r in chk["smd"]:
            var, cat = r["variable"], r["category"]
            shown = labels.label("receipt_channel", cat, lang) if var == "channel" else names.get(var, {}).get(cat, cat)
            smd.append({**r, "variable_label": labels.label("strata", var, lang), "category_label": shown})
        out["checks"][key] = {**chk, "strata": _labelled(chk["strata"], strata, lang, names), "smd": smd}
    return out


@post("/{campaign_id:int}/dispositions", name="sampling:dispositions", guards=STATISTICIAN, status_code=303)
async def dispositions(request: Request, db_session: NamedDependency[AsyncSession], campaign_id: FromPath[int]) -> Template | Redirect:
    report = await services.campaign_report(db_session, campaign_id)
    if report is None:
        raise NotFoundException(N_("Không tìm thấy đợt khảo sát."))
    text = (await request.form()).get("codes") or ""
    codes: dict[int, str] = {}
    errors: list[FieldError] = []
    for i, line in enumerate(str(text).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        no, _, code = line.replace(";", ",").partition(",")
        if not no.strip().isdigit() or not code.strip():
            errors.append(FieldError("codes", f"Dòng {i}: cần “số thứ tự,mã”, ví dụ 12,R.", f"line {i}: expected “member_no,code”, e.g. 12,R."))
            break
        codes[int(no)] = code.strip().upper() if code.strip() != "pending" else "pending"
    if not errors and not codes:
        errors.append(FieldError("codes", "Chưa nhập mã kết quả nào.", "No disposition codes given."))
    if not errors:
        try:
            await services.set_dispositions(db_session, campaign_id, codes, actor=_actor(request))
        except services.SamplingInputError as exc:
            errors = exc.errors
    if errors:
        lang = current_language(request)
        ctx = {"c": await _label_report(db_session, report, lang), "errors": _errors(errors, lang), "statuses": services.MEMBER_STATUSES, "codes": text}
        return admin_page(request, "admin/sampling_campaign.html", ctx, status_code=400)
    return Redirect(f"/admin/sampling/{campaign_id}", status_code=303)


async def _rows(db_session: AsyncSession, settings: Settings, campaign_id: int) -> list[dict[str, Any]]:
    try:
        return await services.call_list(db_session, campaign_id, settings)
    except LookupError:
        raise NotFoundException(N_("Không tìm thấy đợt khảo sát.")) from None


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        body, media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@get("/{campaign_id:int}/calls.csv", name="sampling:calls-csv", guards=STATISTICIAN)
async def calls_csv(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], campaign_id: FromPath[int]) -> Response:
    rows = await _rows(db_session, settings, campaign_id)
    # Litestar appends "; charset=utf-8" to every text/* type itself: name the bare type, or it comes twice
    return _download(services.call_list_csv(rows), "text/csv", f"campaign-{campaign_id}-calls.csv")


@get("/{campaign_id:int}/calls.xlsx", name="sampling:calls-xlsx", guards=STATISTICIAN)
async def calls_xlsx(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], campaign_id: FromPath[int]) -> Response:
    rows = await _rows(db_session, settings, campaign_id)
    return _download(
        services.call_list_xlsx(rows, f"campaign {campaign_id}"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"campaign-{campaign_id}-calls.xlsx",
    )


sampling_router = Router(
    path="/admin/sampling",
    route_handlers=[index, preview, draw, campaign, dispositions, calls_csv, calls_xlsx],
    opt={"access": "statistician"},
    exception_handlers={401: redirect_to_login},
    include_in_schema=False,
    tags=["admin"],
)


# --------------------------------------------------------------------------- citizen: campaign invitation

INVITE_PATHS = ["/c/{token:str}", "/C/{token:str}"]
INVITE_THANKS = ["/c/{token:str}/cam-on", "/C/{token:str}/cam-on"]
INVITE_DECLINE = ["/c/{token:str}/khong-tham-gia", "/C/{token:str}/khong-tham-gia"]


def _today(settings: Settings):
    return datetime.now(ZoneInfo(settings.timezone)).date()


#: member statuses after an answer (complete or partial interview)
ANSWERED = ("I", "P")


async def _open_invitation(
    request: Request, db_session: AsyncSession, token: str, settings: Settings, *, refuse_answered: bool = True
) -> services.Invitation | Template:
    """The invitation, or the page that refuses it: unknown (404), expired (410) or already answered (409).

    A member answers once; a QR answer on the same receipt does not block the (different) campaign form.
    """
    try:
        inv = await services.open_invitation(db_session, token, settings, _today(settings))
    except (services.InvitationNotFound, services.InvitationExpired) as exc:
        status = 410 if isinstance(exc, services.InvitationExpired) else 404
        return page(request, "citizen/link_error.html", {"status": status}, status_code=status)
    if refuse_answered and inv.status in ANSWERED:
        return page(request, "citizen/already.html", status_code=409)
    return inv


def _survey_page(request: Request, inv: services.Invitation, settings: Settings, values=None, errors=(), status: int = 200) -> Template:
    lang = current_language(request)
    q = registry.get(inv.questionnaire_id, inv.questionnaire_version)
    form = pages.form_view(q, lang, values, errors, comment_max_chars=settings.comment_max_chars)
    ctx = {"form": form, "action": f"/c/{inv.token}?lang={lang}", "lang_extra": "start=1&"}
    return page(request, "citizen/survey.html", ctx, status_code=status)


@get(INVITE_PATHS, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def invite_get(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    inv = await _open_invitation(request, db_session, token, settings)
    if isinstance(inv, Template):
        return inv
    if request.query_params.get("start") != "1":
        q = registry.get(inv.questionnaire_id, inv.questionnaire_version)
        minutes = max(1, round(len(q.items) / 5))
        return page(request, "citizen/campaign_consent.html", {"token": inv.token, "minutes": minutes})
    return _survey_page(request, inv, settings)


def member_client_uuid(member_id: int) -> str:
    """One response per campaign member, enforced by the unique client_uuid even without a receipt."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hailong:campaign-member:{member_id}"))


@post(INVITE_PATHS, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def invite_post(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    inv = await _open_invitation(request, db_session, token, settings)
    if isinstance(inv, Template):
        return inv
    q = registry.get(inv.questionnaire_id, inv.questionnaire_version)
    parsed = pages.parse_form(q, await request.form())
    lang = current_language(request)
    sub = Submission(
        questionnaire_id=q.id, questionnaire_version=q.version, channel="campaign", unit_id=inv.unit_id,
        procedure_id=inv.procedure_id, receipt_id=None, answers=dict(parsed.answers), overall=parsed.overall,
        expectations=list(parsed.expectations), comment=parsed.comment, language=lang,
        client_uuid=member_client_uuid(inv.member_id), extra=services.invitation_extra(inv),
    )
    try:
        stored = await store_response(db_session, sub, comment_max_chars=settings.comment_max_chars)
    except AnswerValidationError as exc:
        return _survey_page(request, inv, settings, parsed.values, exc.errors, status=400)
    except (AlreadyAnswered, ConflictingReplay):
        return page(request, "citizen/already.html", status_code=409)
    await services.mark_responded(db_session, inv, stored.id)
    return Redirect(path=f"/c/{inv.token}/cam-on?lang={lang}", status_code=303)


@get(INVITE_THANKS, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def invite_thanks(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    inv = await _open_invitation(request, db_session, token, settings, refuse_answered=False)
    if isinstance(inv, Template):
        return inv
    if inv.status not in ANSWERED:
        return Redirect(path=f"/c/{inv.token}", status_code=303)
    return page(request, "citizen/thanks.html")


@get(INVITE_DECLINE, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def invite_declined(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    """"Không tham gia": a polite goodbye; nothing is written (the member stays as the interviewer left it)."""
    inv = await _open_invitation(request, db_session, token, settings)
    if isinstance(inv, Template):
        return inv
    return page(request, "citizen/declined.html", {"back_path": f"/c/{inv.token}"})


ROUTES: list = [sampling_router, invite_get, invite_post, invite_thanks, invite_declined]
