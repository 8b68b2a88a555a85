"""msgspec Structs at the API boundary of the responses feature (no ORM imports here)."""

from __future__ import annotations

from typing import Annotated

import msgspec

AnswerValue = Annotated[
    int | float | str | bool | None,
    msgspec.Meta(description="1..5, or 0 for 'Không ý kiến / không áp dụng'; anything else is a 422 naming the item"),
]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="The receipt's survey token (case-insensitive).")]


class ResponseIn(msgspec.Struct, forbid_unknown_fields=True):
    """One answered SIPAS short form for a receipt. The token authorises the call; no API key is needed."""

    token: Token
    #: item id -> 1..5, or 0 for "Không ý kiến / không áp dụng".  Values of another JSON type are accepted
    #: here and refused by the answer validation, so the 422 names the item (``answers.officer``).
    answers: dict[str, AnswerValue]
    overall: int | None = None
    expectations: list[str] = msgspec.field(default_factory=list)
    comment: str | None = None
    language: str = "vi"


class ResponseCreated(msgspec.Struct):
    id: str


class FieldErrorOut(msgspec.Struct):
    field: str
    message: str
    message_vi: str


class ApiError(msgspec.Struct):
    """Error body of the API (survey/errors.py): ``errors`` names each field for 422."""

    status_code: int
    detail: str
    errors: list[FieldErrorOut] = msgspec.field(default_factory=list)
