"""Expert survey (điều tra xã hội học): panels, groups, members, who-rates-whom, invitations, ratings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, JSONType, UTCDateTime, utcnow


class ExpertPanel(Base):
    """One year's expert survey: its groups, members and invitations."""

    __tablename__ = "expert_panels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    #: the PAR methodologies whose expert_survey criteria the raters answer (one per rated unit kind)
    methodology_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    invitations_expire_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExpertGroup(Base):
    """A respondent group (HĐND delegates, department directors, commune chairs...): data, with its rule of whom it rates."""

    __tablename__ = "expert_groups"
    __table_args__ = (UniqueConstraint("panel_id", "code", name="expert_group_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("expert_panels.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: unit kinds a member's own unit may have (empty: any, or none)
    member_kinds: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: unit kinds this group rates (never the member's own unit)
    rates_kinds: Mapped[list[str]] = mapped_column(JSONType, default=list)


class ExpertMember(Base):
    """A person on a panel, with the unit they belong to (None for delegates and businesses). Admin-only data."""

    __tablename__ = "expert_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("expert_panels.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("expert_groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    contact: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExpertAssignment(Base):
    """Who rates whom: a member rates a unit. The database refuses a member's own unit."""

    __tablename__ = "expert_assignments"
    __table_args__ = (
        UniqueConstraint("member_id", "unit_id", name="expert_assignment_pair"),
        CheckConstraint("member_unit_id IS NULL OR unit_id <> member_unit_id", name="not_own_unit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("expert_members.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    #: the member's own unit, copied so the check constraint can refuse a self-rating
    member_unit_id: Mapped[int | None] = mapped_column(Integer)


class ExpertInvitation(Base):
    """A member's personal invitation; the token (purpose ``expert``) is derived from ``id`` and never stored."""

    __tablename__ = "expert_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("expert_members.id", ondelete="CASCADE"), unique=True)
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExpertRating(Base):
    """One answer: an invitation's rating of a unit on one survey criterion (saved as a draft until submitted)."""

    __tablename__ = "expert_ratings"
    __table_args__ = (UniqueConstraint("invitation_id", "unit_id", "criterion_id", name="expert_rating_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("expert_invitations.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    criterion_id: Mapped[str] = mapped_column(String(20))
    #: the scale value; 0 = "not enough information to judge" (kept, not counted)
    value: Mapped[int] = mapped_column(Integer)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExpertSubmission(Base):
    """The one submission of an invitation (unique: a second one is refused by the database)."""

    __tablename__ = "expert_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("expert_invitations.id", ondelete="CASCADE"), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    language: Mapped[str] = mapped_column(String(5), default="vi")
