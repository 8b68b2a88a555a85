"""msgspec Structs for index runs at the service boundary (pages, reports, exports, the CLI read these).

They mirror ``index_runs`` / ``index_cells`` (CONTRACT.md §2) and never import the ORM models.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

#: the label every self-selected figure carries, wherever it appears
SELF_SELECTED_LABEL = "không phải mẫu xác suất"
SELF_SELECTED_LABEL_EN = "not a probability sample"
SAMPLE_LABEL = "mẫu xác suất"
SAMPLE_LABEL_EN = "probability sample"


class CellRead(msgspec.Struct, frozen=True, kw_only=True):
    """One stored figure. Shares are 0..1, mean scores 1..5; ``estimate`` is None when suppressed."""

    domain: str
    domain_code: str
    domain_label: str
    measure: str
    measure_code: str
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    df: float | None
    deff: float | None
    n_eff: float | None
    n: int
    method: str

    @property
    def suppressed(self) -> bool:
        return self.method == "suppressed"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.domain, self.domain_code, self.measure, self.measure_code)


class RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A run without its cells (lists, pickers)."""

    id: int
    period_start: date
    period_end: date
    source: str
    campaign_id: int | None
    methodology_version: str
    questionnaire_id: str
    inputs_hash: str
    status: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    n_respondents: int
    #: the province SIPAS (0..1), None if suppressed or absent
    sipas: float | None
    is_self_selected: bool
    #: "mẫu xác suất" or "không phải mẫu xác suất": show it next to every figure of the run
    sample_label: str

    @property
    def is_published(self) -> bool:
        return self.status == "published"


class RunRead(msgspec.Struct, frozen=True, kw_only=True):
    """A run with its parameters, summary and every cell (in a stable order)."""

    id: int
    period_start: date
    period_end: date
    source: str
    campaign_id: int | None
    methodology_version: str
    questionnaire_id: str
    inputs_hash: str
    parameters: dict[str, Any]
    summary: dict[str, Any]
    status: str
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    is_self_selected: bool
    sample_label: str
    cells: list[CellRead] = msgspec.field(default_factory=list)

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    def cell(self, domain: str, domain_code: str, measure: str, measure_code: str = "") -> CellRead | None:
        """The cell for (domain, domain_code, measure, measure_code), or None."""
        for c in self.cells:
            if c.domain == domain and c.domain_code == domain_code and c.measure == measure and c.measure_code == measure_code:
                return c
        return None

    def cells_for(self, *, domain: str | None = None, domain_code: str | None = None, measure: str | None = None) -> list[CellRead]:
        """Cells filtered by any of domain / domain_code / measure."""
        return [
            c
            for c in self.cells
            if (domain is None or c.domain == domain)
            and (domain_code is None or c.domain_code == domain_code)
            and (measure is None or c.measure == measure)
        ]
