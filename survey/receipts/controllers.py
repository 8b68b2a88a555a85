"""HTTP routes of this feature (thin: parse, call the service, render).

- POST /api/v1/receipts, POST /api/v1/receipts/batch, GET /api/v1/receipts/{dossier_code} (API key)
- GET /qr/{token}.svg, GET /qr/{token}.png (public, token-addressed, verified without the database)
- GET /slip/{token}?size=58|80|a5 (public printable slip)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from survey import i18n
from survey.db.models import ApiClient
from survey.inputs import json_body_errors, param_errors
from survey.labels import N_
from survey.receipts import qr, services
from survey.receipts.auth import API_SECURITY, api_key_guard, provide_api_client
from survey.receipts.schemas import ErrorRead, ReceiptBatch, ReceiptBatchRead, ReceiptCreate, ReceiptRead
from survey.receipts.tokens import TokenError, TokenExpired
from survey.settings import Settings
from survey.web import page

SLIP_SIZES = ("58", "80", "a5")


@dataclass
class QrOperation(Operation):
    """/qr answers SVG or PNG by the name's extension: declare both media types of the 200."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                "image/svg+xml": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                "image/png": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)),
            }
_UNAUTHORISED = {401: ResponseSpec(ErrorRead, description="Missing, invalid or revoked API key")}
_ERRORS = {
    **json_body_errors(),
    **_UNAUTHORISED,
    403: ResponseSpec(ErrorRead, description="The API client is restricted to other units"),
    409: ResponseSpec(ErrorRead, description="The dossier code is registered for another unit, or by another API client"),
    422: ResponseSpec(
        ErrorRead,
        description="Invalid values, all of them named in `errors`: the body does not match the schema, a time "
        "without UTC offset, an unknown unit or procedure code, a dossier code whose YYMMDD is not a real date or "
        "not the day of received_at, received_at before 2020-01-01 or in the future, a control character",
    ),
}


def _to_input(item: ReceiptCreate) -> services.ReceiptInput:
    return services.ReceiptInput(
        dossier_code=item.dossier_code,
        unit_code=item.unit_code,
        received_at=item.received_at,
        procedure_code=item.procedure_code,
        appointment_date=item.appointment_date,
        returned_at=item.returned_at,
        channel=item.channel,
        counter=item.counter,
    )


def _read(settings: Settings, r: services.RegisteredReceipt) -> ReceiptRead:
    return ReceiptRead(
        dossier_code=r.dossier_code,
        unit_code=r.unit_code,
        procedure_code=r.procedure_code,
        received_at=r.received_at,
        appointment_date=r.appointment_date,
        returned_at=r.returned_at,
        channel=r.channel,
        counter=r.counter,
        token=r.token,
        survey_url=services.canonical_survey_url(settings, r.token),  # the upper-case form is for the QR only
        qr_svg_url=services.public_link(settings, f"/qr/{r.token}.svg"),
        qr_png_url=services.public_link(settings, f"/qr/{r.token}.png"),
        slip_url=services.public_link(settings, f"/slip/{r.token}"),
        expires_on=r.expires_on,
        created=r.created,
    )


def _http_error(exc: services.ReceiptValidationError) -> HTTPException:
    if isinstance(exc, services.ReceiptConflict):
        status, detail = 409, "Dossier code already registered for another unit"
    elif isinstance(exc, services.ReceiptForbidden):
        status, detail = 403, "This API client may not register receipts for that unit"
    else:
        status, detail = 422, "Invalid receipt data"
    errors = [{"field": e.path, "message": e.message} for e in exc.errors]
    return HTTPException(status_code=status, detail=f"{detail}: {errors[0]['field']}: {errors[0]['message']}", extra={"errors": errors})


class ReceiptApi(Controller):
    path = "/api/v1/receipts"
    tags = ["receipts"]
    guards = [api_key_guard]
    opt = {"access": "api_client"}
    security = API_SECURITY
    dependencies = {"api_client": Provide(provide_api_client, sync_to_thread=False)}

    @post(
        "/",
        status_code=201,
        summary="Register a receipt (idempotent on dossier_code)",
        description="201 with a new token; 200 with the same token when the dossier code is already registered "
        "for the same unit; 409 when it is registered for another unit.",
        responses={200: ResponseSpec(ReceiptRead, description="Already registered: the existing receipt"), **_ERRORS},
    )
    async def create(self, data: JSONBody[ReceiptCreate], api_client: NamedDependency[ApiClient], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Response[ReceiptRead]:
        try:
            result = await services.register_receipt(db_session, _to_input(data), api_client, settings)
        except services.ReceiptValidationError as exc:
            raise _http_error(exc) from None
        return Response(_read(settings, result), status_code=201 if result.created else 200)

    @post(
        "/batch",
        status_code=201,
        summary="Register up to 500 receipts at once (all or nothing)",
        description="Every item is validated first; any error rejects the whole batch, with errors named "
        "`items[i].field`. 201 if any receipt was new, else 200.",
        responses={200: ResponseSpec(ReceiptBatchRead, description="All were already registered"), **_ERRORS,
                   413: json_body_errors("1 MB")[413]},
        request_max_body_size=1024 * 1024,
    )
    async def batch(self, data: JSONBody[ReceiptBatch], api_client: NamedDependency[ApiClient], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Response[ReceiptBatchRead]:
        try:
            results = await services.register_receipts_bulk(db_session, [_to_input(i) for i in data.items], api_client, settings)
        except services.ReceiptValidationError as exc:
            raise _http_error(exc) from None
        created = sum(r.created for r in results)
        body = ReceiptBatchRead(created=created, existing=len(results) - created, items=[_read(settings, r) for r in results])
        return Response(body, status_code=201 if created else 200)

    @get(
        "/{dossier_code:str}",
        summary="A receipt this client registered",
        description="Only receipts this API client registered (or, with HAILONG_API_SHARE_UNIT_RECEIPTS, those of its "
        "units); any other code answers 404, as an unknown one does.",
        responses={
            **param_errors(),
            **_UNAUTHORISED,
            404: ResponseSpec(ErrorRead, description="Unknown code, or registered by another client"),
        },
    )
    async def read(self, dossier_code: FromPath[str], api_client: NamedDependency[ApiClient], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> ReceiptRead:
        result = await services.get_receipt_for_client(db_session, dossier_code, api_client, settings)
        if result is None:
            raise NotFoundException(detail=f"No receipt {dossier_code.strip().upper()!r} registered by this API client")
        return _read(settings, result)


def _check_token(settings: Settings, token: str) -> str:
    try:
        services.verify_receipt_token(settings, token)
    except TokenExpired:
        raise HTTPException(status_code=410, detail=N_("Mã QR này đã hết hạn khảo sát.")) from None
    except TokenError:
        raise NotFoundException(detail=N_("Mã QR không hợp lệ.")) from None
    return token.strip().upper()


@get(
    "/qr/{name:str}",
    opt={"access": "public"},
    tags=["qr"],
    summary="QR code of a receipt's survey link: /qr/{token}.svg or /qr/{token}.png",
    description="Public and token-addressed; the token is verified without the database. 404 forged, 410 expired.",
    media_type="image/svg+xml",
    operation_class=QrOperation,
    responses={
        **param_errors(),
        404: ResponseSpec(ErrorRead, description="Forged or malformed token, or neither .svg nor .png"),
        410: ResponseSpec(ErrorRead, description="Expired"),
    },
)
async def qr_image(name: FromPath[str], settings: NamedDependency[Settings]) -> Response[bytes]:
    token, dot, ext = name.rpartition(".")
    if not dot or ext.lower() not in ("svg", "png"):
        raise NotFoundException(detail="Use /qr/{token}.svg or /qr/{token}.png")
    token = _check_token(settings, token)
    url = services.survey_url(settings, token)
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if ext.lower() == "svg":
        return Response(qr.svg(url), media_type="image/svg+xml", headers=headers)
    return Response(qr.png(url), media_type="image/png", headers=headers)


@get(
    "/slip/{token:str}",
    opt={"access": "public"},
    tags=["qr"],
    summary="Printable receipt slip with the QR code (58 mm, 80 mm or A5)",
    media_type="text/html",
    responses={
        **param_errors(),
        400: ResponseSpec(ErrorRead, description="size is not 58, 80 or a5"),
        404: ResponseSpec(ErrorRead, description="Forged or malformed token, or the receipt no longer exists"),
        410: ResponseSpec(ErrorRead, description="Expired"),
    },
)
async def slip(
    request: Request,
    token: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    size: Annotated[str, QueryParameter(description="58 | 80 (thermal, mm) | a5 (case-insensitive)", enum=list(SLIP_SIZES))] = "80",
) -> Template:
    size = size.lower()
    if size not in SLIP_SIZES:
        message = N_("Khổ giấy phải là 58, 80 hoặc A5.")
        raise HTTPException(status_code=400, detail=message, extra={"errors": [{"field": "size", "message": message, "message_en": "size must be 58, 80 or a5"}]})
    token = _check_token(settings, token)
    try:
        ctx = await services.slip_context(db_session, settings, token)
    except LookupError:
        raise NotFoundException(detail=N_("Không tìm thấy giấy tiếp nhận.")) from None
    ctx["size"] = size
    ctx["sizes"] = SLIP_SIZES
    ctx["qr_svg"] = qr.svg_inline(ctx["survey_url"])
    # a printed slip is in the language of the unit that issued it (every unit of the province works in
    # Vietnamese), whatever language the printing clerk's browser last chose
    return page(request, "receipts/slip.html", ctx, lang=i18n.DEFAULT_LANGUAGE)


ROUTES: list = [ReceiptApi, qr_image, slip]
