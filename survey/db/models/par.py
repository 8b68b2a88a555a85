"""PAR Index: appraisal points per unit and criterion, and stored (immutable) compositions with their results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, JSONType, UTCDateTime, utcnow

COMPOSITION_STATUSES = ("draft", "published")


class Appraisal(Base):
    """A unit's self-assessed and council-appraised points for one criterion of one year's methodology."""

    __tablename__ = "par_appraisals"
    __table_args__ = (UniqueConstraint("year", "methodology_id", "unit_id", "criterion_id", name="par_appraisal_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    methodology_id: Mapped[str] = mapped_column(String(80))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    criterion_id: Mapped[str] = mapped_column(String(20))
    self_points: Mapped[float | None] = mapped_column(Float)
    council_points: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(String(500), default="")
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Composition(Base):
    """One composed ranking of one block for one year: immutable once stored; publishing freezes its status."""

    __tablename__ = "par_compositions"
    __table_args__ = (CheckConstraint(f"status IN {COMPOSITION_STATUSES!r}", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    methodology_id: Mapped[str] = mapped_column(String(80))
    methodology_sha256: Mapped[str] = mapped_column(String(64))
    block: Mapped[str] = mapped_column(String(40))
    block_label: Mapped[str] = mapped_column(String(200), default="")
    #: the index run the satisfaction component came from (table index_runs), or None
    index_run_id: Mapped[int | None] = mapped_column(Integer)
    panel_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    previous_composition_id: Mapped[int | None] = mapped_column(ForeignKey("par_compositions.id", ondelete="RESTRICT"))
    inputs_hash: Mapped[str] = mapped_column(String(64))
    #: n, top, bottom, spread, top_half_gap, satisfaction source, survey rule, parameters
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(80))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CompositionResult(Base):
    """One unit's PAR Index in a composition: components (after rescaling), ranks, class, per-criterion breakdown."""

    __tablename__ = "par_results"
    __table_args__ = (UniqueConstraint("composition_id", "unit_id", name="par_result_unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    composition_id: Mapped[int] = mapped_column(ForeignKey("par_compositions.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    unit_code: Mapped[str] = mapped_column(String(32))
    unit_name: Mapped[str] = mapped_column(String(255))
    unit_kind: Mapped[str] = mapped_column(String(20))
    total: Mapped[float] = mapped_column(Float)
    appraisal: Mapped[float] = mapped_column(Float)
    survey: Mapped[float] = mapped_column(Float)
    satisfaction: Mapped[float] = mapped_column(Float)
    bonus: Mapped[float] = mapped_column(Float)
    penalty: Mapped[float] = mapped_column(Float)
    rescale_factor: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    appraisal_rank: Mapped[int] = mapped_column(Integer)
    previous_rank: Mapped[int | None] = mapped_column(Integer)
    rank_change: Mapped[int | None] = mapped_column(Integer)
    unit_class: Mapped[str] = mapped_column(String(10))
    #: criterion id -> {points, value, n_raters, self_points, council_points, absent}
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ImmutableRecord(RuntimeError):
    """A stored composition result was about to be changed."""


@event.listens_for(CompositionResult, "before_update")
def _results_are_immutable(mapper, connection, target) -> None:
    raise ImmutableRecord("a composition's results are immutable; compose a new one")


@event.listens_for(Composition, "before_update")
def _composition_only_publishes(mapper, connection, target) -> None:
    from sqlalchemy import inspect

    state = inspect(target)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    if not changed <= {"status", "published_by", "published_at"}:
        raise ImmutableRecord(f"a composition is immutable (tried to change {', '.join(sorted(changed))})")
    if state.attrs.status.history.deleted and state.attrs.status.history.deleted[0] == "published":
        raise ImmutableRecord("a published composition is frozen")
