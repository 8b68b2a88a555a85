"""API boundary of the receipts feature (msgspec Structs; no ORM imports)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Channel = Literal["direct", "online", "postal"]
#: the dossier-code format for the OpenAPI schema (the service checks it, normalising case and spaces first)
DOSSIER_CODE_PATTERN = r"^\s*[0-9A-Za-z]{3}\.[0-9A-Za-z]{2}\.[0-9A-Za-z]{2}\.[A-Za-z][0-9]{2}-[0-9]{6}-[0-9]{4,6}\s*$"


class ReceiptCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A receipt as the one-stop-shop system registers it. No personal data: no names, phones, IDs."""

    dossier_code: Annotated[
        str,
        msgspec.Meta(
            max_length=40,
            description="Mã hồ sơ, Thông tư 01/2018/TT-VPCP art. 19: V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX (case-insensitive; "
            "YYMMDD a real date, the day of received_at; XXXX 4 to 6 digits, not all zero)",
            examples=["000.00.01.H01-261122-0001"],
            pattern=DOSSIER_CODE_PATTERN,
        ),
    ]
    unit_code: Annotated[
        str,
        msgspec.Meta(
            max_length=32,
            description="Code of a unit registered on the server (Admin → Units, `hailong import-units`); an unknown "
            "code is a 422, a unit outside the API client's own is a 403",
            examples=["SNV"],
        ),
    ]
    received_at: Annotated[
        datetime,
        msgspec.Meta(
            tz=True,
            description="When the dossier was received: ISO 8601 with a UTC offset (2026-11-22T08:30:00+07:00); "
            "a time without offset is refused (422). Not before 2020-01-01, not in the future, and on the day "
            "the dossier code's YYMMDD names (local time, HAILONG_TIMEZONE).",
        ),
    ]
    procedure_code: Annotated[str, msgspec.Meta(max_length=64, description="Code of a procedure registered on the server (unknown: 422)")] | None = None
    appointment_date: Annotated[date, msgspec.Meta(description="Ngày hẹn trả kết quả (YYYY-MM-DD)")] | None = None
    returned_at: Annotated[datetime, msgspec.Meta(tz=True, description="When the result was returned (ISO 8601 with offset)")] | None = None
    channel: Channel = "direct"
    counter: Annotated[str, msgspec.Meta(max_length=64, description="Counter (quầy) label")] | None = None


class ReceiptRead(msgspec.Struct):
    dossier_code: str
    unit_code: str
    procedure_code: str | None
    received_at: datetime
    appointment_date: date | None
    returned_at: datetime | None
    channel: str
    counter: str | None
    token: Annotated[str, msgspec.Meta(description="Signed survey token (base32, case-insensitive)")]
    survey_url: Annotated[
        str,
        msgspec.Meta(
            description="The survey link (lower-case scheme, host and path; the token is case-insensitive). "
            "The QR code and the slip carry its upper-case form, which QR codes encode compactly."
        ),
    ]
    qr_svg_url: str
    qr_png_url: str
    slip_url: str
    expires_on: Annotated[date, msgspec.Meta(description="Last day the survey link is valid")]
    created: Annotated[bool, msgspec.Meta(description="False when this dossier code was already registered")]


class ReceiptBatch(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[ReceiptCreate], msgspec.Meta(min_length=1, max_length=500)]


class ReceiptBatchRead(msgspec.Struct):
    created: int
    existing: int
    items: list[ReceiptRead]


class FieldErrorRead(msgspec.Struct):
    field: str
    message: str


class ErrorRead(msgspec.Struct):
    status_code: int
    detail: str
    errors: list[FieldErrorRead] = []
