"""Chart helpers shared by the SVG macros (templates/_partials/charts.html) and the CSV downloads (pure).

The macros draw; this module decides scales and writes the CSV that goes with each chart.  CSV files
use a decimal point and shares as proportions (machine-readable open data), UTF-8 with a BOM so
spreadsheet programs show Vietnamese correctly.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

from survey.results.schemas import CellView, HeatMap, LeagueTable, Trend

CELL_COLUMNS = ["estimate", "ci_low", "ci_high", "margin", "n", "method", "shown"]


def share_axis(lows: Iterable[float | None], floor: float = 0.5) -> tuple[float, float, list[float]]:
    """An axis for shares: from min(floor, the lowest interval end rounded down to 10%) to 100%, with ticks."""
    values = [v for v in lows if v is not None]
    start = min([floor, *[math.floor(v * 10) / 10 for v in values]]) if values else floor
    start = max(0.0, start)
    step = 0.1 if 1.0 - start <= 0.3 else 0.25
    ticks, t = [], 1.0
    while t >= start - 1e-9:
        ticks.append(round(t, 4))
        t -= step
    return start, 1.0, sorted(ticks)


def pos(value: float | None, start: float, end: float, width: float) -> float:
    """Where ``value`` falls on an axis of ``width`` units (clamped)."""
    if value is None:
        return 0.0
    return round(max(0.0, min(1.0, (value - start) / (end - start))) * width, 2)


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.6g}" if abs(v) >= 1e-4 or v == 0 else f"{v:.3e}"


def cell_fields(cell: CellView | None) -> list[str]:
    if cell is None:
        return [""] * len(CELL_COLUMNS)
    return [_num(cell.estimate), _num(cell.low), _num(cell.high), _num(cell.margin), str(cell.n), cell.method, "1" if cell.shown else "0"]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def league_csv(table: LeagueTable) -> bytes:
    rows = [[table.group, r.rank_label, r.unit_code, r.unit_name, *cell_fields(r.cell), "1" if r.overlaps_median else "0"] for r in table.rows]
    return to_csv(["unit_group", "rank", "unit_code", "unit_name", *CELL_COLUMNS, "ci_contains_group_median"], rows)


def heat_csv(heat: HeatMap) -> bytes:
    rows = []
    for r in heat.rows:
        for (code, label), hc in zip(heat.columns, r.cells, strict=True):
            rows.append([r.unit_code, r.unit_name, code, label, *cell_fields(hc.cell)])
    return to_csv(["unit_code", "unit_name", "measure_code", "measure", *CELL_COLUMNS], rows)


def trend_csv(trend: Trend) -> bytes:
    rows = []
    for s in trend.series:
        for p in s.points:
            rows.append([s.code, s.label, p.run_id, p.period_start.isoformat(), p.period_end.isoformat(), *cell_fields(p.cell)])
    return to_csv(["domain_code", "domain", "run_id", "period_start", "period_end", *CELL_COLUMNS], rows)


def rows_csv(rows: Sequence[dict], first: str = "measure_code") -> bytes:
    """Rows of ``views.measure_rows`` (a unit's pillars, items, expectations) with the province beside them."""
    out = [[r["code"], r["label"], *cell_fields(r["cell"]), *cell_fields(r.get("province"))[:3]] for r in rows]
    return to_csv([first, "label", *CELL_COLUMNS, "province_estimate", "province_ci_low", "province_ci_high"], out)
