"""Index runs: one stored, immutable computation of the satisfaction indices for a period.

A run records what went in (the sha256 ``inputs_hash`` over the response ids and weights plus the
parameters) and what came out (``IndexCell`` rows).  Cells are never updated; a run changes only once,
from ``draft`` to ``published`` (database triggers in migration ``0005_indices`` refuse anything else).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, BigIntId, JSONType, UTCDateTime, utcnow

RUN_SOURCES = ("sample", "self_selected")
RUN_STATUSES = ("draft", "published")
CELL_DOMAINS = ("province", "unit_group", "unit", "field", "channel")
CELL_MEASURES = ("sipas", "pillar", "item", "overall", "mean_score", "expectation", "admin_766")
CELL_METHODS = ("direct", "fay_herriot", "suppressed", "administrative")


class IndexRun(Base):
    """One index run: period (local calendar days, inclusive), source, methodology, inputs hash, summary."""

    __tablename__ = "index_runs"
    __table_args__ = (
        CheckConstraint(f"source IN {RUN_SOURCES!r}", name="source"),
        CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, index=True)
    period_end: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("sampling_campaigns.id", ondelete="RESTRICT"), index=True)
    methodology_version: Mapped[str] = mapped_column(String(40))
    questionnaire_id: Mapped[str] = mapped_column(String(40))
    inputs_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: min_n, level, interval method, channels, raking margins, trimming, integrity rule settings ...
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: n_respondents, exclusions, response_rates, weighting, composition, fieldwork, admin_766 ...
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(80))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IndexCell(Base):
    """One figure of a run: a measure in a domain, with its standard error, interval, n and method."""

    __tablename__ = "index_cells"
    __table_args__ = (
        CheckConstraint(f"domain IN {CELL_DOMAINS!r}", name="domain"),
        CheckConstraint(f"measure IN {CELL_MEASURES!r}", name="measure"),
        CheckConstraint(f"method IN {CELL_METHODS!r}", name="method"),
        UniqueConstraint("run_id", "domain", "domain_code", "measure", "measure_code", name="index_cell_key"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("index_runs.id", ondelete="RESTRICT"), index=True)
    domain: Mapped[str] = mapped_column(String(16))
    domain_code: Mapped[str] = mapped_column(String(255), default="")
    domain_label: Mapped[str] = mapped_column(String(255), default="")
    measure: Mapped[str] = mapped_column(String(16))
    measure_code: Mapped[str] = mapped_column(String(64), default="")
    estimate: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    df: Mapped[float | None] = mapped_column(Float)
    deff: Mapped[float | None] = mapped_column(Float)
    n_eff: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[str] = mapped_column(String(16), default="direct")
