"""Receipts: the one-stop-shop slip (Giấy tiếp nhận hồ sơ và hẹn trả kết quả) that carries the QR code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, BigIntId, UTCDateTime, utcnow

RECEIPT_CHANNELS = ("direct", "online", "postal")


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (CheckConstraint(f"channel IN {RECEIPT_CHANNELS!r}", name="channel"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id", ondelete="RESTRICT"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(10), default="direct")
    counter: Mapped[str | None] = mapped_column(String(64))
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id", ondelete="SET NULL"))
    token_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
