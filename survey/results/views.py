"""Shape stored index runs into what the pages show (pure: RunRead/CellRead in, schemas out).

Runs are duck-typed on the shapes of ``survey.indices.schemas`` (CONTRACT.md section 2): a run has
``id, period_start, period_end, source, status, methodology_version, questionnaire_id, parameters,
summary, is_self_selected, cells``; a cell has ``domain, domain_code, domain_label, measure,
measure_code, estimate, se, ci_low, ci_high, df, deff, n_eff, n, method``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from survey.results import ranking
from survey.results.schemas import (
    CellView,
    CompositionRow,
    HeatCell,
    HeatMap,
    HeatRow,
    LeagueRow,
    LeagueTable,
    RunHeader,
    SampleView,
    ThreeFigures,
    Trend,
    TrendPoint,
    TrendSeries,
    UnitRef,
)

#: unit groups (khối) ranked against each other, in page order, with their Vietnamese titles
GROUPS = {"department": "Khối sở, ban, ngành", "commune_level": "Khối xã, phường, đặc khu"}
GROUP_OF_KIND = {"department": "department", "commune": "commune_level", "ward": "commune_level", "special_zone": "commune_level"}
#: colour classes of the heat map (shares): below 70%, 70-80, 80-90, 90-95, 95% and over
HEAT_BINS = [(0.0, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.0000001)]
#: an interval narrower than this (a share) is degenerate ("± 0"): never shown as a result
MIN_WIDTH = 1e-6


def group_of(kind: str) -> str | None:
    return GROUP_OF_KIND.get(kind)


def cell_view(cell: Any | None, *, label: str = "", code: str | None = None) -> CellView | None:
    """A stored cell as it may be shown; None when there is no cell at all."""
    if cell is None:
        return None
    est, lo, hi = cell.estimate, cell.ci_low, cell.ci_high
    shown, reason = True, ""
    if est is None or cell.method == "suppressed":
        shown, reason = False, "suppressed"
    elif cell.method != "administrative" and (lo is None or hi is None or hi - lo < MIN_WIDTH):
        shown, reason = False, "no_interval"
    return CellView(
        code=code if code is not None else (cell.measure_code or cell.domain_code),
        label=label or cell.domain_label,
        estimate=est if shown else None,
        low=lo if shown else None,
        high=hi if shown else None,
        n=int(cell.n or 0),
        method=cell.method,
        shown=shown,
        reason=reason,
        se=cell.se if shown else None,
        n_eff=cell.n_eff,
        deff=cell.deff,
    )


class RunIndex:
    """Look-ups into one run's cells by (domain, domain_code, measure, measure_code)."""

    def __init__(self, run: Any):
        self.run = run
        self.cells: dict[tuple[str, str, str, str], Any] = {}
        self.by_domain: dict[tuple[str, str], list[Any]] = {}
        for c in run.cells:
            self.cells[(c.domain, c.domain_code, c.measure, c.measure_code)] = c
            self.by_domain.setdefault((c.domain, c.domain_code), []).append(c)

    def get(self, domain: str, code: str, measure: str, measure_code: str = "") -> Any | None:
        return self.cells.get((domain, code, measure, measure_code))

    def unit_codes(self) -> list[str]:
        return [code for (domain, code) in self.by_domain if domain == "unit"]

    def measures(self, domain: str, code: str, measure: str) -> list[Any]:
        return [c for c in self.by_domain.get((domain, code), []) if c.measure == measure]


def header(run: Any) -> RunHeader:
    params = getattr(run, "parameters", None) or {}
    published = getattr(run, "published_at", None)
    return RunHeader(
        id=run.id,
        period_start=run.period_start,
        period_end=run.period_end,
        source=run.source,
        status=run.status,
        methodology_version=run.methodology_version,
        is_self_selected=bool(getattr(run, "is_self_selected", run.source == "self_selected")),
        level=float(params.get("level", 0.95) or 0.95),
        min_n=params.get("min_n"),
        interval_method=str(params.get("interval_method", params.get("method", "")) or ""),
        published_at=published.isoformat() if hasattr(published, "isoformat") else published,
    )


def _unit_name(units: Mapping[str, UnitRef], code: str, fallback: str) -> str:
    u = units.get(code)
    return u.name if u else fallback


def league_tables(
    idx: RunIndex, units: Mapping[str, UnitRef], *, href: Callable[[str], str] = lambda code: "", csv_url: Callable[[str], str] = lambda g: "",
    only: Iterable[str] | None = None,
) -> list[LeagueTable]:
    """One league table per unit group, sorted by the SIPAS index, with rank ranges and the median mark."""
    allowed = set(only) if only is not None else None
    tables = []
    for group, title in GROUPS.items():
        entries, cells = [], {}
        for code in idx.unit_codes():
            u = units.get(code)
            if u is None or group_of(u.kind) != group or (allowed is not None and code not in allowed):
                continue
            view = cell_view(idx.get("unit", code, "sipas"), label=u.name, code=code)
            if view is None:
                continue
            cells[code] = view
            entries.append((code, view.estimate, view.low, view.high))
        if not entries:
            continue
        ranked, med = ranking.rank(entries)
        rows = [
            LeagueRow(unit_code=r.key, unit_name=cells[r.key].label, cell=cells[r.key], rank_label=r.rank_label, tied=r.tied, overlaps_median=r.overlaps_median, href=href(r.key))
            for r in ranked
        ]
        tables.append(LeagueTable(group=group, title=title, rows=rows, median=med, csv_url=csv_url(group)))
    return tables


def pillar_columns(questionnaire: Any | None, idx: RunIndex, lang: str) -> list[tuple[str, str]]:
    """(pillar id, label) in questionnaire order; the pillars found in the run when the questionnaire is unknown."""
    if questionnaire is not None:
        return [(p.id, p.label.in_(lang)) for p in questionnaire.pillars]
    seen: dict[str, str] = {}
    for c in idx.run.cells:
        if c.measure == "pillar" and c.domain == "province":
            seen.setdefault(c.measure_code, c.measure_code)
    return list(seen.items())


def heat_bin(value: float | None) -> int:
    if value is None:
        return 0
    for i, (lo, hi) in enumerate(HEAT_BINS, start=1):
        if lo <= value < hi:
            return i
    return len(HEAT_BINS)


def heat_map(idx: RunIndex, units: Mapping[str, UnitRef], columns: Sequence[tuple[str, str]], *, href: Callable[[str], str] = lambda c: "",
             csv_url: str = "", only: Iterable[str] | None = None, sipas_label: str = "SIPAS") -> HeatMap:
    """Pillar x unit: one row per unit (groups in page order, then by SIPAS), one column per pillar and SIPAS."""
    allowed = set(only) if only is not None else None
    cols = [*columns, ("sipas", sipas_label)]
    order = []
    for group in GROUPS:
        members = [c for c in idx.unit_codes() if c in units and group_of(units[c].kind) == group and (allowed is None or c in allowed)]
        members.sort(key=lambda c: (-(getattr(idx.get("unit", c, "sipas"), "estimate", None) or -1.0), c))
        order.extend(members)
    rows = []
    for code in order:
        cells = []
        for measure_code, label in cols:
            cell = idx.get("unit", code, "sipas") if measure_code == "sipas" else idx.get("unit", code, "pillar", measure_code)
            view = cell_view(cell, label=label, code=measure_code) or CellView(measure_code, label, None, None, None, 0, "missing", False, "missing")
            cells.append(HeatCell(cell=view, bin=heat_bin(view.estimate)))
        rows.append(HeatRow(unit_code=code, unit_name=units[code].name, cells=cells, href=href(code)))
    return HeatMap(columns=list(cols), rows=rows, bins=[(lo, min(hi, 1.0)) for lo, hi in HEAT_BINS], csv_url=csv_url)


def three_figures(sample: RunIndex | None, self_selected: RunIndex | None, domain: str = "province", code: str = "") -> ThreeFigures:
    """Sample SIPAS, self-selected SIPAS, and the QĐ 766 rate (from the sample run, else the self-selected one)."""
    admin = None
    for idx in (sample, self_selected):
        if idx is not None and admin is None:
            admin = cell_view(idx.get(domain, code, "admin_766"), label="QĐ 766", code="admin_766")
    return ThreeFigures(
        sample=cell_view(sample.get(domain, code, "sipas"), code="sipas") if sample else None,
        self_selected=cell_view(self_selected.get(domain, code, "sipas"), code="sipas") if self_selected else None,
        admin_766=admin,
        sample_run_id=sample.run.id if sample else None,
        self_selected_run_id=self_selected.run.id if self_selected else None,
    )


def _composition_label(row: dict, units: Mapping[str, UnitRef]) -> str:
    category = str(row.get("category", ""))
    label = str(row.get("label") or category)
    if row.get("variable") == "unit" and label == category and category in units:
        return units[category].name
    return label


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def sample_view(run: Any, units: Mapping[str, UnitRef] | None = None) -> SampleView:
    """The sample behind a run (from its stored summary); unit codes in the composition get their names."""
    s = run.summary or {}
    units = units or {}
    w = s.get("weighting") or {}
    fieldwork = s.get("fieldwork") or {}
    if not isinstance(fieldwork, dict):
        fieldwork = {}
    rates = {k.upper(): float(v) for k, v in (s.get("response_rates") or {}).items() if _num(v) is not None}
    comp = [
        CompositionRow(variable=str(r.get("variable", "")), category=str(r.get("category", "")), label=_composition_label(r, units),
                       sample_share=_num(r.get("sample_share")), frame_share=_num(r.get("frame_share")))
        for r in (s.get("composition") or []) if isinstance(r, dict)
    ]
    return SampleView(
        n_respondents=s.get("n_respondents"),
        response_rates=rates,
        n_eff=_num(w.get("n_eff")), deff=_num(w.get("deff")), w_min=_num(w.get("w_min")), w_max=_num(w.get("w_max")), w_ratio=_num(w.get("w_ratio")),
        exclusions={str(k): int(v) for k, v in (s.get("exclusions") or {}).items() if _num(v) is not None},
        composition=comp,
        fieldwork_start=fieldwork.get("first_day") or fieldwork.get("start"),
        fieldwork_end=fieldwork.get("last_day") or fieldwork.get("end"),
    )


def trend(points_by_series: Sequence[tuple[str, str, Sequence[tuple[Any, Any]]]], change: Callable[..., dict | None], csv_url: str = "") -> Trend:
    """``points_by_series`` = [(code, label, [(run, cell), ...] in time order)]; ``change(cell_before, cell_after)``
    returns {"estimate", "low", "high", "significant", "p_value"} (from ``survey.stats``) or None."""
    series = []
    for code, label, pairs in points_by_series:
        pts = []
        for run, cell in pairs:
            view = cell_view(cell, label=label, code=code)
            if view is not None:
                pts.append(TrendPoint(run_id=run.id, period_start=run.period_start, period_end=run.period_end, cell=view))
        diff = None
        shown = [p for p in pts if p.cell.shown]
        if len(shown) >= 2 and shown[-1] is pts[-1]:
            before = next(c for r, c in pairs if r.id == shown[-2].run_id)
            after = next(c for r, c in pairs if r.id == shown[-1].run_id)
            diff = change(before, after)
        series.append(TrendSeries(
            code=code, label=label, points=pts,
            change=diff["estimate"] if diff else None, change_low=diff["low"] if diff else None, change_high=diff["high"] if diff else None,
            significant=diff["significant"] if diff else None, p_value=diff.get("p_value") if diff else None,
        ))
    periods: dict[int, Any] = {}
    for _code, _label, pairs in points_by_series:
        for run, _cell in pairs:
            periods.setdefault(run.id, run.period_end)
    ordered = sorted(periods.items(), key=lambda kv: (kv[1], kv[0]))
    return Trend(series=series, periods=ordered, csv_url=csv_url)


def measure_rows(idx: RunIndex, domain: str, code: str, measure: str, labels: Mapping[str, str], province: bool = True) -> list[dict]:
    """One row per measure code (in ``labels`` order, then any others): the domain's cell and the province's."""
    order = list(labels)
    extra = sorted(c.measure_code for c in idx.measures(domain, code, measure) if c.measure_code not in labels)
    rows = []
    for mc in order + extra:
        mine = cell_view(idx.get(domain, code, measure, mc), label=labels.get(mc, mc), code=mc)
        if mine is None:
            continue
        prov = cell_view(idx.get("province", "", measure, mc), label=labels.get(mc, mc), code=mc) if province and domain != "province" else None
        rows.append({"code": mc, "label": labels.get(mc, mc), "cell": mine, "province": prov})
    return rows
