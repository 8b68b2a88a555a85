"""What the results pages and the report are given (msgspec Structs; never ORM rows).

All shares are 0..1; templates format them with ``fmt_percent`` / ``fmt_margin``.
"""

from __future__ import annotations

from datetime import date

import msgspec


class CellView(msgspec.Struct, frozen=True):
    """One stored estimate as it may be shown.

    ``shown`` is False when the cell is suppressed (too few respondents) or has no finite interval
    (``reason`` says which): a figure is never printed without its margin of error, and never as "± 0".
    """

    code: str
    label: str
    estimate: float | None
    low: float | None
    high: float | None
    n: int
    method: str
    shown: bool
    reason: str = ""
    se: float | None = None
    n_eff: float | None = None
    deff: float | None = None

    @property
    def margin(self) -> float | None:
        if not self.shown or self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2

    @property
    def asymmetric(self) -> bool:
        """The interval is lopsided (near 0% or 100%): print it as an interval, not as ± a margin."""
        if not self.shown or self.estimate is None or self.low is None or self.high is None:
            return False
        width = self.high - self.low
        return abs((self.estimate - self.low) - (self.high - self.estimate)) > 0.2 * width

    @property
    def model_based(self) -> bool:
        return self.method == "fay_herriot"


class LeagueRow(msgspec.Struct, frozen=True):
    unit_code: str
    unit_name: str
    cell: CellView
    rank_label: str
    tied: bool
    overlaps_median: bool
    href: str = ""


class LeagueTable(msgspec.Struct, frozen=True):
    group: str  # "department" | "commune_level"
    title: str
    rows: list[LeagueRow]
    median: float | None
    csv_url: str = ""


class HeatCell(msgspec.Struct, frozen=True):
    cell: CellView
    bin: int  # 0 = no value, 1..5 colour classes


class HeatRow(msgspec.Struct, frozen=True):
    unit_code: str
    unit_name: str
    cells: list[HeatCell]
    href: str = ""


class HeatMap(msgspec.Struct, frozen=True):
    columns: list[tuple[str, str]]  # (measure code, label)
    rows: list[HeatRow]
    bins: list[tuple[float, float]]  # bounds of the colour classes (shares)
    csv_url: str = ""


class TrendPoint(msgspec.Struct, frozen=True):
    run_id: int
    period_start: date
    period_end: date
    cell: CellView


class TrendSeries(msgspec.Struct, frozen=True):
    code: str
    label: str
    points: list[TrendPoint]
    #: the change between the last two periods with its interval, and whether it is significant at 95%
    change: float | None = None
    change_low: float | None = None
    change_high: float | None = None
    significant: bool | None = None
    p_value: float | None = None


class Trend(msgspec.Struct, frozen=True):
    series: list[TrendSeries]
    #: (run id, period end) of every period on the x axis, in time order
    periods: list[tuple[int, date]] = []
    csv_url: str = ""


class ThreeFigures(msgspec.Struct, frozen=True):
    """The sample estimate, the self-selected share and the QĐ 766 administrative rate, side by side."""

    sample: CellView | None
    self_selected: CellView | None
    admin_766: CellView | None
    sample_run_id: int | None = None
    self_selected_run_id: int | None = None


class CompositionRow(msgspec.Struct, frozen=True):
    variable: str
    category: str
    label: str
    sample_share: float | None
    frame_share: float | None


class SampleView(msgspec.Struct, frozen=True):
    n_respondents: int | None
    response_rates: dict[str, float]
    n_eff: float | None
    deff: float | None
    w_min: float | None
    w_max: float | None
    w_ratio: float | None
    exclusions: dict[str, int]
    composition: list[CompositionRow]
    fieldwork_start: str | None = None
    fieldwork_end: str | None = None


class RunHeader(msgspec.Struct, frozen=True):
    id: int
    period_start: date
    period_end: date
    source: str
    status: str
    methodology_version: str
    is_self_selected: bool
    level: float = 0.95
    min_n: int | None = None
    interval_method: str = ""
    published_at: str | None = None


class UnitRef(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: str
    parent_code: str | None = None
