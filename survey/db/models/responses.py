"""Responses from every channel (QR, kiosk, expert, campaign), stored through one service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, BigIntId, JSONType, UTCDateTime, utcnow

RESPONSE_CHANNELS = ("qr", "kiosk", "expert", "campaign", "web", "paper")
REVIEW_STATUSES = ("accepted", "pending", "rejected")


def _packed_default(context: Any) -> str:
    from survey.responses.readmodel import column_default

    return column_default(context)


class Response(Base):
    """One answered questionnaire. ``receipt_id`` is unique: one response per receipt, enforced here."""

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint(f"channel IN {RESPONSE_CHANNELS!r}", name="channel"),
        CheckConstraint(f"review_status IN {REVIEW_STATUSES!r}", name="review_status"),
        # the few rows the review has not accepted, by time: what an index run reads beside the compacted days
        Index(
            "ix_responses_not_accepted", "submitted_at",
            sqlite_where=text("review_status <> 'accepted'"), postgresql_where=text("review_status <> 'accepted'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    receipt_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("receipts.id", ondelete="RESTRICT"), unique=True
    )
    #: searched by ix_responses_unit_id_submitted_at (migration 0004), whose leading column it is
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id", ondelete="RESTRICT"))
    questionnaire_id: Mapped[str] = mapped_column(String(40))
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10), index=True)
    #: item id -> 1..5, or 0 for "Không ý kiến / không áp dụng"
    answers: Mapped[dict[str, int]] = mapped_column(JSONType)
    overall: Mapped[int | None] = mapped_column(Integer)
    expectations: Mapped[list[str]] = mapped_column(JSONType, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Kiosk: the device's own clock when the answer was given (clock skew is shown on the fleet page)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Client-generated UUID for idempotent replay (kiosk offline queue)
    client_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    #: searched by ix_responses_device_id_device_time (migration 0002), whose leading column it is
    device_id: Mapped[int | None] = mapped_column(Integer)
    #: Names of the integrity rules that fired; flagged responses are excluded from indices until accepted
    integrity_flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    review_status: Mapped[str] = mapped_column(String(10), default="accepted")
    #: Extra per-channel data without personal data (e.g. campaign stratum and inclusion probability)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: The columnar read model: a fixed-width record of everything immutable an index run reads
    #: (``survey.responses.readmodel``); an insert that does not give it gets it from the column default
    packed: Mapped[str | None] = mapped_column(Text, default=_packed_default)


class ResponseDay(Base):
    """One closed local day of the read model, compacted: every record of the day's responses in one value.

    Written by an index run for the closed days it reads (``survey.responses.days``), and used only while
    the day still holds exactly ``n`` responses; ``parts`` says which questionnaire version each slice of
    ``records`` holds (``{"q", "v", "key", "known", "n", "width"}``, each slice sorted by response id).
    A derived copy: deleting a row loses nothing.
    """

    __tablename__ = "response_days"
    __table_args__ = (UniqueConstraint("timezone", "day", name="uq_response_days_timezone_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    #: the day's bounds in UTC (local midnight to local midnight)
    lo: Mapped[datetime] = mapped_column(UTCDateTime)
    hi: Mapped[datetime] = mapped_column(UTCDateTime)
    n: Mapped[int] = mapped_column(Integer)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    records: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
