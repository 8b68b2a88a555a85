"""Kiosk routes (registered by survey/app.py, the composition root).

Pages: ``/kiosk/enrol``, ``/kiosk/`` (the PWA shell), ``/kiosk/sw.js`` (service worker, scope /kiosk/),
``/kiosk/manifest.webmanifest``, ``/kiosk/static/<file>``.
Device API (JSON, CSRF-exempt, ``Authorization: Bearer <device credential>``): ``POST /kiosk/api/enrol``,
``POST /kiosk/api/receipt-check``, ``POST /kiosk/api/responses``, ``POST /kiosk/api/heartbeat``.
Admin pages (role admin): ``/admin/kiosk/`` (fleet), ``/admin/kiosk/codes``, ``/admin/kiosk/review``.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from kiosk import screening, services
from kiosk.schemas import (
    EnrolIn,
    EnrolOut,
    HeartbeatIn,
    HeartbeatOut,
    ReceiptCheckIn,
    ReceiptCheckOut,
    SubmissionIn,
    SubmissionOut,
)
from survey.admin.controllers import admin_page, redirect_to_login
from survey.admin.guards import current_user, requires_role
from survey.db.base import utcnow
from survey.inputs import ErrorBody, json_body_errors
from survey.responses.services import AlreadyAnswered, ConflictingReplay, UnknownQuestionnaire
from survey.responses.validation import AnswerValidationError
from survey.security.net import client_address
from survey.settings import Settings
from survey.web import page

STATIC_DIR = Path(__file__).parent / "static"
#: bare types: Litestar appends "; charset=utf-8" to text/* itself (naming it here sent it twice)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def _static_fingerprint() -> str:
    """A short hash of kiosk/static and the kiosk templates, so every change of the shell gets a new version."""
    digest = hashlib.sha256()
    for path in sorted([*STATIC_DIR.glob("*"), *(Path(__file__).parents[1] / "templates" / "kiosk").glob("*")]):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:8]


#: the service worker's cache name and the heartbeat carry it; changes whenever the kiosk shell changes
APP_VERSION = f"1.0.0+{_static_fingerprint()}"
NO_STORE = {"Cache-Control": "no-store"}


def _http(exc: services.KioskError, headers: dict[str, str] | None = None) -> HTTPException:
    return HTTPException(
        status_code=exc.status,
        detail=exc.message_en,
        headers=headers,
        extra={"errors": [{"field": exc.field, "message": exc.message_vi, "message_en": exc.message_en}]},
    )


async def device_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """401 unless the request carries an enrolled, unrevoked device's credential; runs before the body is read.

    The handler authenticates again in its own database session (the device row is updated there).
    """
    async with connection.app.state.sessionmaker() as session:
        try:
            await services.authenticate(session, connection.headers.get("authorization"))
        except services.KioskError as exc:
            raise _http(exc) from None


PUBLIC = {"access": "public"}
DEVICE = {"access": "kiosk_device"}


# --------------------------------------------------------------------------- pages and static files


@get("/kiosk/enrol", include_in_schema=False, opt=PUBLIC)
async def enrol_page(request: Request) -> Template:
    return page(request, "kiosk/enrol.html", {"app_version": APP_VERSION})


@get("/kiosk/", include_in_schema=False, opt=PUBLIC)
async def kiosk_shell(request: Request) -> Template:
    resp = page(request, "kiosk/app.html", {"app_version": APP_VERSION})
    resp.headers.update({"Cache-Control": "no-cache"})
    return resp


@get("/kiosk/sw.js", include_in_schema=False, opt=PUBLIC)
async def service_worker() -> Response:
    body = (STATIC_DIR / "sw.js").read_text().replace("__APP_VERSION__", APP_VERSION)
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/kiosk/"})


@get("/kiosk/manifest.webmanifest", include_in_schema=False, opt=PUBLIC)
async def manifest() -> Response:
    data = {
        "name": "Hài Lòng — Đánh giá sự hài lòng",
        "short_name": "Hài Lòng",
        "lang": "vi",
        "start_url": "/kiosk/",
        "scope": "/kiosk/",
        "display": "fullscreen",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "icons": [{"src": "/kiosk/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(data, media_type="application/manifest+json")


@get("/kiosk/static/{name:str}", include_in_schema=False, opt=PUBLIC)
async def kiosk_static(name: FromPath[str]) -> Response:
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file() or name == "sw.js":
        raise NotFoundException()
    return Response(path.read_bytes(), media_type=STATIC_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


# --------------------------------------------------------------------------- device API


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorBody, description=description)


_DEVICE_401 = {401: _spec("Missing, unknown or revoked device credential (Authorization: Bearer <credential>)")}


@post(
    "/kiosk/api/enrol",
    opt=PUBLIC,
    status_code=201,
    tags=["kiosk"],
    summary="Enrol a tablet with a one-time code",
    responses={
        **json_body_errors(),
        400: _spec("Unknown, used or expired enrolment code (also malformed JSON)"),
        429: _spec("Too many wrong codes from this address lately; see Retry-After"),
    },
)
async def api_enrol(
    request: Request, data: JSONBody[EnrolIn], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> Response[EnrolOut]:
    try:
        device, credential = await services.enrol(db_session, data.code, settings, client_address(request, settings.trusted_proxies))
    except services.EnrolmentThrottled as exc:
        raise _http(exc, {"Retry-After": str(settings.login_window_seconds)}) from None
    except services.KioskError as exc:
        raise _http(exc) from None
    config = await services.device_config(db_session, device)
    return Response(EnrolOut(credential=credential, config=config), status_code=201, headers=NO_STORE)


@post(
    "/kiosk/api/responses",
    guards=[device_guard],
    opt=DEVICE,
    status_code=201,
    tags=["kiosk"],
    summary="Submit one kiosk answer (idempotent on client_uuid)",
    responses={
        200: ResponseSpec(SubmissionOut, description="Replay of an answer already stored (same client_uuid, same answers)"),
        **json_body_errors(),
        **_DEVICE_401,
        409: _spec("client_uuid used for other answers, or the receipt was already rated"),
        422: _spec("Invalid answers, questionnaire, device_time or receipt token; `errors` names the field"),
    },
)
async def api_submit(request: Request, data: JSONBody[SubmissionIn], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Response[SubmissionOut]:
    try:
        device = await services.authenticate(db_session, request.headers.get("authorization"))
        outcome = await services.submit(db_session, device, data, settings)
    except services.KioskError as exc:
        raise _http(exc) from None
    except UnknownQuestionnaire:
        raise _http(services.InvalidInput("Phiếu khảo sát không tồn tại.", "Unknown questionnaire version.", "questionnaire_version")) from None
    except AnswerValidationError as exc:
        raise HTTPException(
            status_code=422,
            detail="The answers are not valid.",
            extra={"errors": [{"field": e.field, "message": e.message_vi, "message_en": e.message_en} for e in exc.errors]},
        ) from None
    except ConflictingReplay:
        raise _http(services.Conflict("Mã câu trả lời đã được dùng cho câu trả lời khác.", "client_uuid was already used for different answers.", "client_uuid")) from None
    except AlreadyAnswered:
        raise _http(services.Conflict(*services.ALREADY_RATED, "receipt_token")) from None
    body = SubmissionOut(id=outcome.stored.id, created=outcome.stored.created, flags=outcome.flags)
    return Response(body, status_code=201 if outcome.stored.created else 200)


@post(
    "/kiosk/api/receipt-check",
    guards=[device_guard],
    opt=DEVICE,
    status_code=200,
    tags=["kiosk"],
    summary="At scan time: may this receipt still be rated here?",
    responses={
        **json_body_errors(),
        **_DEVICE_401,
        409: _spec("The receipt has already been rated"),
        422: _spec("Forged, expired or foreign receipt token (or a body that does not match the schema)"),
    },
)
async def api_receipt_check(
    request: Request, data: JSONBody[ReceiptCheckIn], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> ReceiptCheckOut:
    try:
        device = await services.authenticate(db_session, request.headers.get("authorization"))
        await services.check_receipt(db_session, device, data.receipt_token, settings)
    except services.KioskError as exc:
        raise _http(exc) from None
    return ReceiptCheckOut(ok=True)


@post(
    "/kiosk/api/heartbeat",
    guards=[device_guard],
    opt=DEVICE,
    status_code=200,
    tags=["kiosk"],
    summary="Report app version and queue length; get the device's configuration",
    responses={**json_body_errors(), **_DEVICE_401},
)
async def api_heartbeat(request: Request, data: JSONBody[HeartbeatIn], db_session: NamedDependency[AsyncSession]) -> HeartbeatOut:
    try:
        device = await services.authenticate(db_session, request.headers.get("authorization"))
    except services.KioskError as exc:
        raise _http(exc) from None
    await services.heartbeat(db_session, device, data.app_version, data.queued, data.device_time)
    return HeartbeatOut(server_time=utcnow(), config=await services.device_config(db_session, device))


# --------------------------------------------------------------------------- admin pages


def _actor(request: Request) -> str:
    user = current_user(request)
    return user.username if user else "-"


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: (v if isinstance(v, str) else "") for k, v in form.items()}


@get("/", name="kiosk:fleet")
async def fleet_page(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return admin_page(request, "admin/kiosk_fleet.html", {"devices": await services.fleet(db_session), "now": utcnow()})


@post("/devices/{device_id:int}/revoke", name="kiosk:revoke", status_code=303)
async def revoke_device(request: Request, device_id: FromPath[int], db_session: NamedDependency[AsyncSession]) -> Redirect:
    if not await services.revoke(db_session, device_id, _actor(request)):
        raise NotFoundException()
    return Redirect("/admin/kiosk/", status_code=303)


async def _codes_context(db_session: AsyncSession, settings: Settings, **extra) -> dict:
    return {"units": await services.units_for_select(db_session), "codes": await services.recent_codes(db_session),
            "default_idle": settings.kiosk_idle_seconds, "errors": [], "form": {}, "new_code": None, **extra}


@get("/codes", name="kiosk:codes")
async def codes_page(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    return admin_page(request, "admin/kiosk_codes.html", await _codes_context(db_session, settings))


@post("/codes", name="kiosk:codes-post", status_code=200)
async def create_code(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    form = await _form(request)
    try:
        unit_id = int(form.get("unit_id") or 0)
        idle = int(form.get("idle_seconds") or settings.kiosk_idle_seconds)
    except ValueError:
        ctx = await _codes_context(db_session, settings, form=form, errors=[{"field": "idle_seconds", "message_vi": "Vui lòng nhập một số.", "message_en": "Enter a number."}])
        return admin_page(request, "admin/kiosk_codes.html", ctx, status_code=400)
    try:
        new = await services.create_enrolment_code(
            db_session, settings, actor=_actor(request), unit_id=unit_id, counter=form.get("counter", ""),
            name=form.get("name", ""), exit_pin=form.get("exit_pin", ""), idle_seconds=idle,
        )
    except services.KioskError as exc:
        await db_session.rollback()
        problems = getattr(exc, "errors", None) or [exc]
        errors = [{"field": e.field, "message_vi": e.message_vi, "message_en": e.message_en} for e in problems]
        ctx = await _codes_context(db_session, settings, form=form, errors=errors)
        return admin_page(request, "admin/kiosk_codes.html", ctx, status_code=400)
    ctx = await _codes_context(db_session, settings, new_code={"code": new.code, "expires_at": new.expires_at})
    return admin_page(request, "admin/kiosk_codes.html", ctx, status_code=201)


@get("/review", name="kiosk:review")
async def review_page(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    status = request.query_params.get("status", "pending")
    if status not in ("pending", "accepted", "rejected"):
        status = "pending"
    return admin_page(request, "admin/kiosk_review.html", {"items": await services.review_queue(db_session, status), "status": status})


@post("/review/{response_id:str}", name="kiosk:decide", status_code=303)
async def decide(request: Request, response_id: FromPath[str], db_session: NamedDependency[AsyncSession]) -> Redirect:
    form = await _form(request)
    try:
        await services.decide(db_session, response_id, form.get("decision", ""), _actor(request))
    except services.InvalidInput as exc:
        raise HTTPException(status_code=400, detail=exc.message_vi) from None
    except services.KioskError:
        raise NotFoundException() from None
    return Redirect("/admin/kiosk/review", status_code=303)


@post("/screen", name="kiosk:screen", status_code=200)
async def run_screening(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    form = await _form(request)
    try:
        first = date.fromisoformat(form.get("from", ""))
        last = date.fromisoformat(form.get("to", "")) if form.get("to") else first
    except ValueError:
        raise HTTPException(status_code=400, detail="Ngày không hợp lệ (YYYY-MM-DD).") from None
    if last < first or last - first > timedelta(days=366):
        raise HTTPException(status_code=400, detail="Khoảng ngày không hợp lệ (tối đa một năm).")
    summary = await screening.screen_period(db_session, settings, first, last)
    from survey import audit

    audit.record(db_session, _actor(request), "kiosk.screen", "kiosk", None, first=first.isoformat(), last=last.isoformat(), flagged=summary.flagged, changed=summary.changed)
    await db_session.commit()
    ctx = {"items": await services.review_queue(db_session, "pending"), "status": "pending", "summary": summary}
    return admin_page(request, "admin/kiosk_review.html", ctx)


admin_kiosk_router = Router(
    path="/admin/kiosk",
    route_handlers=[fleet_page, revoke_device, codes_page, create_code, review_page, decide, run_screening],
    guards=[requires_role("admin")],
    opt={"access": "admin"},
    exception_handlers={401: redirect_to_login},
    include_in_schema=False,
)

ROUTES: list = [enrol_page, kiosk_shell, service_worker, manifest, kiosk_static, api_enrol, api_receipt_check, api_submit, api_heartbeat, admin_kiosk_router]
