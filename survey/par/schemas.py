"""msgspec Structs at the PAR Index boundary (pages, CLI, the results pages that show a published ranking)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class ResultRow(msgspec.Struct, frozen=True):
    unit_code: str
    unit_name: str
    unit_kind: str
    total: float
    appraisal: float
    survey: float
    satisfaction: float
    bonus: float
    penalty: float
    rescale_factor: float
    rank: int
    appraisal_rank: int
    previous_rank: int | None
    rank_change: int | None
    unit_class: str
    breakdown: dict[str, dict]


class CompositionSummary(msgspec.Struct, frozen=True):
    id: int
    year: int
    methodology_id: str
    block: str
    block_label: str
    status: str
    inputs_hash: str
    index_run_id: int | None
    created_by: str
    created_at: datetime
    published_at: datetime | None
    n_units: int


class CompositionRead(msgspec.Struct, frozen=True):
    id: int
    year: int
    methodology_id: str
    methodology_sha256: str
    block: str
    block_label: str
    status: str
    inputs_hash: str
    index_run_id: int | None
    panel_ids: list[int]
    previous_composition_id: int | None
    summary: dict
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    results: list[ResultRow]


class AppraisalRow(msgspec.Struct, frozen=True):
    unit_code: str
    unit_name: str
    criterion_id: str
    criterion_label: str
    max_points: float
    self_points: float | None
    council_points: float
    difference: float | None  # council - self
    evidence: str
