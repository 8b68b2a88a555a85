"""HTTP routes of the citizen survey (QR channel) and the responses API (thin: parse, call the service, render).

HTML: ``GET /r/{token}`` (consent, then ``?start=1`` the form), ``POST /r/{token}`` (Post/Redirect/Get),
``GET /r/{token}/cam-on`` (thank-you). ``/R/...`` answers the same (QR codes use upper case).
API: ``POST /api/v1/responses`` (the token authorises; no API key).
"""

from __future__ import annotations

import re
from typing import Any

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from survey.inputs import ErrorBody, json_body_errors
from survey.responses import pages
from survey.responses.pages import LinkExpired, LinkNotFound, ReceiptLink
from survey.responses.schemas import ApiError, ResponseCreated, ResponseIn
from survey.responses.services import AlreadyAnswered, UnknownReceipt, store_receipt_response, store_response
from survey.responses.validation import AnswerValidationError, FieldError
from survey.settings import Settings
from survey.web import current_language, page

#: Citizen pages: the token in the URL must not leak to other sites, and nothing is cached by proxies.
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
SURVEY_PATHS = ["/r/{token:str}", "/R/{token:str}"]
THANKS_PATHS = ["/r/{token:str}/cam-on", "/R/{token:str}/cam-on"]
DECLINE_PATHS = ["/r/{token:str}/khong-tham-gia", "/R/{token:str}/khong-tham-gia"]


def _link_error(request: Request, exc: LookupError) -> Template:
    status = 410 if isinstance(exc, LinkExpired) else 404
    return page(request, "citizen/link_error.html", {"status": status}, status_code=status)


def _already(request: Request) -> Template:
    return page(request, "citizen/already.html", status_code=409)


def _lang_suffix(lang: str) -> str:
    return f"?lang={lang}"


def _survey_page(request: Request, link: ReceiptLink, settings: Settings, values=None, errors=(), status: int = 200) -> Template:
    lang = current_language(request)
    q = pages.qr_questionnaire()
    form = pages.form_view(q, lang, values, errors, comment_max_chars=settings.comment_max_chars)
    ctx = {"form": form, "action": f"/r/{link.token}{_lang_suffix(lang)}", "lang_extra": "start=1&"}
    return page(request, "citizen/survey.html", ctx, status_code=status)


@get(SURVEY_PATHS, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def survey_get(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    """Consent notice first; ``?start=1`` (the "Bắt đầu" button, a plain GET form) shows the questionnaire."""
    try:
        link = await pages.open_receipt(db_session, token, settings)
    except (LinkNotFound, LinkExpired) as exc:
        return _link_error(request, exc)
    if await pages.is_answered(db_session, link):
        return _already(request)
    if request.query_params.get("start") != "1":
        return page(request, "citizen/consent.html", {"token": link.token, "minutes": 1})
    return _survey_page(request, link, settings)


@post(SURVEY_PATHS, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def survey_post(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    try:
        link = await pages.open_receipt(db_session, token, settings)
    except (LinkNotFound, LinkExpired) as exc:
        return _link_error(request, exc)
    q = pages.qr_questionnaire()
    parsed = pages.parse_form(q, await request.form())
    lang = current_language(request)
    sub = pages.submission_for(
        link, q, answers=parsed.answers, overall=parsed.overall, expectations=parsed.expectations,
        comment=parsed.comment, language=lang,
    )
    try:
        await store_response(db_session, sub, comment_max_chars=settings.comment_max_chars)
    except AnswerValidationError as exc:
        return _survey_page(request, link, settings, parsed.values, exc.errors, status=400)
    except AlreadyAnswered:
        return _already(request)
    return Redirect(path=f"/r/{link.token}/cam-on{_lang_suffix(lang)}", status_code=303)


@get(THANKS_PATHS, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def survey_thanks(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    try:
        link = await pages.open_receipt(db_session, token, settings)
    except (LinkNotFound, LinkExpired) as exc:
        return _link_error(request, exc)
    if not await pages.is_answered(db_session, link):
        return Redirect(path=f"/r/{link.token}", status_code=303)
    return page(request, "citizen/thanks.html")


@get(DECLINE_PATHS, include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def survey_declined(request: Request, token: FromPath[str], settings: NamedDependency[Settings]) -> Template:
    """"Không tham gia" on the consent page: a polite goodbye; nothing is read or written but the token check."""
    try:
        pages.check_token(token, settings)
    except (LinkNotFound, LinkExpired) as exc:
        return _link_error(request, exc)
    return page(request, "citizen/declined.html", {"back_path": f"/r/{token.strip().upper()}"})


# --------------------------------------------------------------------------- JSON API

_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


def _api_validation_handler(request: Request, exc: ValidationException) -> Response:
    """Body that decodes as JSON but has the wrong shape -> 422 naming the field (malformed JSON stays 400)."""
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", ""))
        key = str(item.get("key") or "body")
        m = _MISSING_FIELD.search(message) or _UNKNOWN_FIELD.search(message)
        if m:
            key = m.group(1)
        key = key.replace("[...]", "")
        if key == "data":
            key = "body"
        errors.append({"field": key, "message": message, "message_vi": message})
    body = {"status_code": 422, "detail": "The request body does not match the schema.", "errors": errors}
    return Response(body, status_code=422, media_type=MediaType.JSON)


def _field_errors(errors: list[FieldError]) -> list[dict[str, Any]]:
    return [{"field": e.field, "message": e.message_en, "message_vi": e.message_vi} for e in errors]


@post(
    "/api/v1/responses",
    # the receipt token in the body authorises; the answer ({"id"}) is too small to compress
    opt={"access": "public", "skip_compression": True},
    status_code=201,
    tags=["responses"],
    summary="Store the answer to a receipt's survey",
    description=(
        "The receipt token authorises the call (no API key). 201 {id}; 404 unknown or forged token; 410 expired "
        "token; 409 the receipt already has a response; 422 invalid answers (errors name the fields, e.g. "
        "answers.officer, overall, comment); 400 malformed JSON; 413 body over the size limit."
    ),
    exception_handlers={ValidationException: _api_validation_handler},
    responses={
        **json_body_errors(),
        404: ResponseSpec(ApiError, description="Unknown, forged or malformed token"),
        409: ResponseSpec(ApiError, description="The receipt already has a response"),
        410: ResponseSpec(ApiError, description="The token has expired"),
        422: ResponseSpec(ErrorBody, description="Invalid answers, or a body that does not match the schema; `errors` names each field"),
    },
)
async def create_response(data: JSONBody[ResponseIn], state: State) -> ResponseCreated:
    # the hot path of intake: no per-request ORM session (the service runs one statement on the engine),
    # and the settings come from the app state (a second dependency would be resolved in a task group)
    settings: Settings = state.settings
    try:
        receipt_id = pages.check_token(data.token, settings)
    except LinkExpired:
        raise HTTPException(status_code=410, detail="The survey period of this receipt is over.") from None
    except LinkNotFound:
        raise HTTPException(status_code=404, detail="Unknown or invalid token.") from None
    if data.language not in ("vi", "en"):
        err = FieldError("language", "Ngôn ngữ phải là vi hoặc en.", "language must be vi or en.")
        raise HTTPException(status_code=422, detail="Invalid response.", extra={"errors": _field_errors([err])})
    sub = pages.receipt_submission(
        receipt_id, answers=data.answers, overall=data.overall, expectations=data.expectations,
        comment=data.comment, language=data.language,
    )
    try:
        stored = await store_receipt_response(state.engine, sub, comment_max_chars=settings.comment_max_chars)
    except AnswerValidationError as exc:
        raise HTTPException(status_code=422, detail="Invalid response.", extra={"errors": _field_errors(exc.errors)}) from None
    except UnknownReceipt:
        raise HTTPException(status_code=404, detail="Unknown or invalid token.") from None
    except AlreadyAnswered:
        raise HTTPException(status_code=409, detail="This receipt has already been answered.") from None
    return ResponseCreated(id=stored.id)


ROUTES: list = [survey_get, survey_post, survey_thanks, survey_declined, create_response]
