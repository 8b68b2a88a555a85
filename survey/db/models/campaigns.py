"""Sampling campaigns: a design, the frame it was drawn from, and the drawn members (main + reserve)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, BigIntId, JSONType, UTCDateTime, utcnow

#: AAPOR final disposition groups a member can have; "pending" until fieldwork settles it.
#: I complete, P partial, R refusal/break-off, NC non-contact, O other eligible non-interview,
#: UH/UO unknown eligibility, NE not eligible.
MEMBER_STATUSES = ("pending", "I", "P", "R", "NC", "O", "UH", "UO", "NE")


class SamplingCampaign(Base):
    """A survey campaign created from one drawn sample."""

    __tablename__ = "sampling_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: strata, allocation, n, size_method, margin, confidence, minimum, seed, reserve_fraction, ...
    design: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: the FrameFilter (DB frame) or the CSV file name and checksum
    frame_filter: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    frame_source: Mapped[str] = mapped_column(String(10), default="db")
    frame_size: Mapped[int] = mapped_column(Integer)
    #: frame rows per category of stratum / unit / field / channel (for representativeness checks)
    frame_counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: per stratum: population, sample, reserve, fraction
    allocation: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    sample_size: Mapped[int] = mapped_column(Integer)
    reserve_size: Mapped[int] = mapped_column(Integer, default=0)
    seed: Mapped[int] = mapped_column(BigIntId)
    questionnaire_id: Mapped[str] = mapped_column(String(40), default="sipas-full")
    questionnaire_version: Mapped[int] = mapped_column(Integer, default=1)
    invitations_expire_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignMember(Base):
    """One drawn frame row: its stratum, inclusion probability and order; the invitation token is derived
    from ``id`` (purpose ``campaign``), so it is never stored."""

    __tablename__ = "campaign_members"
    __table_args__ = (
        CheckConstraint(f"status IN {MEMBER_STATUSES!r}", name="status"),
        UniqueConstraint("campaign_id", "member_no", name="campaign_member_no"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("sampling_campaigns.id", ondelete="CASCADE"), index=True)
    member_no: Mapped[int] = mapped_column(Integer)
    receipt_id: Mapped[int | None] = mapped_column(BigIntId, ForeignKey("receipts.id", ondelete="RESTRICT"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    unit_code: Mapped[str] = mapped_column(String(32))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id", ondelete="RESTRICT"))
    procedure_code: Mapped[str] = mapped_column(String(64), default="")
    field: Mapped[str] = mapped_column(String(255), default="")
    channel: Mapped[str] = mapped_column(String(10), default="")
    received_on: Mapped[date | None] = mapped_column(Date)
    stratum: Mapped[str] = mapped_column(String(300))
    inclusion_prob: Mapped[float] = mapped_column(Float)
    selection_order: Mapped[int] = mapped_column(Integer)
    is_reserve: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    response_id: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
