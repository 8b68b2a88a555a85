"""msgspec Structs at the kiosk API boundary (they never import models)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class EnrolIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class KioskConfig(msgspec.Struct):
    """What a tablet needs to run: sent at enrolment and with every heartbeat."""

    device_id: int
    device_name: str
    unit_name: str
    counter: str
    idle_seconds: int
    questionnaire: dict[str, Any]
    #: ``salt$sha256hex(salt + pin)``: the exit PIN is checked on the tablet, so it works offline
    exit_pin: str


class EnrolOut(msgspec.Struct):
    credential: str
    config: KioskConfig


class SubmissionIn(msgspec.Struct, forbid_unknown_fields=True):
    client_uuid: Annotated[str, msgspec.Meta(pattern=UUID_PATTERN)]
    device_time: Annotated[datetime, msgspec.Meta(tz=True)]
    questionnaire_id: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    questionnaire_version: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    overall: int | None = None
    answers: dict[Annotated[str, msgspec.Meta(max_length=40)], int] = {}
    receipt_token: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    language: Annotated[str, msgspec.Meta(pattern="^(vi|en)$")] = "vi"


class ReceiptCheckIn(msgspec.Struct, forbid_unknown_fields=True):
    receipt_token: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class ReceiptCheckOut(msgspec.Struct):
    #: the receipt is this unit's, its QR is valid, and nobody has rated it yet
    ok: bool


class SubmissionOut(msgspec.Struct):
    id: str
    created: bool
    #: integrity rules that fired on ingest (the rating is kept, pending review)
    flags: list[str]


class HeartbeatIn(msgspec.Struct, forbid_unknown_fields=True):
    app_version: Annotated[str, msgspec.Meta(max_length=32)]
    queued: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    device_time: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class HeartbeatOut(msgspec.Struct):
    server_time: datetime
    config: KioskConfig
