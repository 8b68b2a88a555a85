"""Kiosk tables: enrolled devices and one-time enrolment codes.

These models share ``survey.db.base.Base`` (one metadata for every table), but ``survey`` never imports
``kiosk`` (DESIGN §2), so Alembic's env does not see them through ``survey.db.models``: their schema
is created by the hand-written migration ``survey/db/migrations/versions/0002_kiosk.py``.  Keep the
two in step when a column changes.  Importing this module registers the tables on ``Base.metadata``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, UTCDateTime, utcnow


class KioskDevice(Base):
    """A tablet at a counter.  Only a hash of its credential is stored; revoking sets ``revoked_at``."""

    __tablename__ = "kiosk_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    counter: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    #: sha256 of the device credential (the credential is 256 random bits, so a fast hash is enough)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    app_version: Mapped[str | None] = mapped_column(String(32))
    queued_count: Mapped[int] = mapped_column(Integer, default=0)
    #: seconds the device clock is behind the server (received − device time) at the last heartbeat
    heartbeat_skew_seconds: Mapped[int | None] = mapped_column(Integer)
    idle_seconds: Mapped[int] = mapped_column(Integer, default=20)
    #: ``salt$sha256(salt + pin)``; checked on the tablet itself so the exit works offline
    exit_pin_hash: Mapped[str] = mapped_column(String(120))
    questionnaire_id: Mapped[str] = mapped_column(String(40), default="kiosk")
    questionnaire_version: Mapped[int] = mapped_column(Integer, default=1)


class EnrolmentCode(Base):
    """A one-time code an admin gives to the person setting up a tablet; only its hash is stored."""

    __tablename__ = "kiosk_enrolment_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    counter: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    idle_seconds: Mapped[int] = mapped_column(Integer, default=20)
    exit_pin_hash: Mapped[str] = mapped_column(String(120))
    questionnaire_id: Mapped[str] = mapped_column(String(40), default="kiosk")
    questionnaire_version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk_devices.id", ondelete="SET NULL"))
