"""Data for the results pages: stored runs (``survey.indices.services``), units, and a unit's comments.

Nothing here estimates anything: figures come from stored index runs; the shaping is in
``survey.results.views`` (pure) and the one statistical step (change between periods) in ``survey.stats``.
Stored runs are immutable, so a run once read is kept in a small in-process cache keyed by its id,
status and inputs hash.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey import stats
from survey.admin.guards import UnitScope
from survey.db.models import Response, Unit
from survey.questionnaires import registry
from survey.results import views
from survey.results.redact import redact
from survey.results.schemas import UnitRef
from survey.settings import Settings

CACHE_SIZE = 16
_run_cache: OrderedDict[tuple, Any] = OrderedDict()
#: how many earlier periods the trend shows
TREND_RUNS = 8
#: comments shown on a unit page (newest first)
MAX_COMMENTS = 30


def min_n(settings: Settings) -> int:
    """HAILONG_INDEX_MIN_N (owned by the index runs): below it a unit's comments are not shown."""
    return int(getattr(settings, "index_min_n", 30))


def _indices():
    from survey.indices import services as indices

    return indices


def _key(summary: Any) -> tuple:
    return (summary.id, summary.status, getattr(summary, "inputs_hash", ""), str(getattr(summary, "published_at", "")))


async def list_runs(session: AsyncSession, *, published_only: bool) -> list[Any]:
    runs = await _indices().list_runs(session)
    return [r for r in runs if r.status == "published" or not published_only]


async def read_run(session: AsyncSession, summary: Any) -> Any:
    """The full run (with cells) for a summary, from the cache when it was read before."""
    key = _key(summary)
    run = _run_cache.get(key)
    if run is None:
        run = await _indices().get_run(session, summary.id)
        _run_cache[key] = run
        while len(_run_cache) > CACHE_SIZE:
            _run_cache.popitem(last=False)
    else:
        _run_cache.move_to_end(key)
    return run


def clear_cache() -> None:
    _run_cache.clear()


async def unit_refs(session: AsyncSession) -> dict[str, UnitRef]:
    parent = select(Unit.id, Unit.code).subquery()
    rows = await session.execute(select(Unit.code, Unit.name, Unit.kind, parent.c.code.label("parent_code")).outerjoin(parent, parent.c.id == Unit.parent_id))
    return {r.code: UnitRef(code=r.code, name=r.name, kind=r.kind, parent_code=r.parent_code) for r in rows}


def _newest_first(runs: list[Any]) -> list[Any]:
    return sorted(runs, key=lambda r: (r.period_end, r.source == "sample", r.status == "published", r.id), reverse=True)


def choose(runs: list[Any], run_id: int | None) -> Any | None:
    """The asked-for run, else the headline: the newest sample run (published first), else the newest run."""
    if run_id is not None:
        return next((r for r in runs if r.id == run_id), None)
    ordered = _newest_first(runs)
    for pred in (lambda r: r.source == "sample" and r.status == "published", lambda r: r.source == "sample", lambda r: True):
        found = next((r for r in ordered if pred(r)), None)
        if found is not None:
            return found
    return None


def companion(runs: list[Any], run: Any) -> Any | None:
    """The run of the other source for the same period (sample <-> self-selected), newest first."""
    other = "self_selected" if run.source == "sample" else "sample"
    same = [r for r in _newest_first(runs) if r.source == other and r.period_start == run.period_start and r.period_end == run.period_end]
    return same[0] if same else None


def history(runs: list[Any], run: Any) -> list[Any]:
    """Runs of the same source up to this one (one per period, newest published first), oldest first."""
    by_period: dict[tuple, Any] = {}
    for r in _newest_first(runs):
        if r.source != run.source or r.period_end > run.period_end:
            continue
        if r.id == run.id:
            by_period[(r.period_start, r.period_end)] = r
        else:
            by_period.setdefault((r.period_start, r.period_end), r)
    by_period[(run.period_start, run.period_end)] = run
    ordered = sorted(by_period.values(), key=lambda r: r.period_end)
    return ordered[-TREND_RUNS:]


def questionnaire_of(run: Any):
    try:
        return registry.get(run.questionnaire_id)
    except Exception:  # an unknown or retired questionnaire: fall back to the codes in the run
        return None


async def _trend(session: AsyncSession, runs: list[Any], run: Any, unit_code: str | None, units: dict[str, UnitRef], lang: str, csv_url: str):
    series_runs = [await read_run(session, r) for r in history(runs, run)]
    province_label = next((u.name for u in units.values() if u.kind == "province"), "Toàn tỉnh")
    wanted = [("", province_label, "province")]
    if unit_code and unit_code in units:
        wanted.append((unit_code, units[unit_code].name, "unit"))
    series = []
    for code, label, domain in wanted:
        pairs = [(r, views.RunIndex(r).get(domain, code, "sipas")) for r in series_runs]
        series.append((code, label, [(r, c) for r, c in pairs if c is not None]))
    return views.trend(series, stats.change_between, csv_url=csv_url)


async def dashboard(session: AsyncSession, settings: Settings, *, run_id: int | None, unit_code: str | None, lang: str, scope: UnitScope) -> dict[str, Any] | None:
    """Everything /admin/ket-qua shows for one run; None when there is no such run (or none yet)."""
    runs = await list_runs(session, published_only=False)
    summary = choose(runs, run_id)
    if summary is None:
        return None
    run = await read_run(session, summary)
    other_summary = companion(runs, summary)
    other = await read_run(session, other_summary) if other_summary else None
    idx, other_idx = views.RunIndex(run), (views.RunIndex(other) if other else None)
    sample_idx = idx if run.source == "sample" else other_idx
    self_idx = idx if run.source == "self_selected" else other_idx
    units = await unit_refs(session)
    q = questionnaire_of(run)
    only = scope.codes
    base = f"/admin/ket-qua/csv/{run.id}"
    href = lambda c: f"/admin/ket-qua/don-vi/{c}?run={run.id}"  # noqa: E731
    chosen = unit_code if unit_code in units else None
    return {
        "run": views.header(run),
        "runs": [views.header(r) for r in _newest_first(runs)],
        "leagues": views.league_tables(idx, units, href=href, csv_url=lambda g: f"{base}/xep-hang-{g}.csv", only=only),
        "heat": views.heat_map(idx, units, views.pillar_columns(q, idx, lang), href=href, csv_url=f"{base}/ban-do-nhiet.csv", only=only),
        "trend": await _trend(session, runs, run, chosen, units, lang, csv_url=f"{base}/xu-huong.csv" + (f"?unit={chosen}" if chosen else "")),
        "three": views.three_figures(sample_idx, self_idx),
        "sample": views.sample_view(run if run.source == "sample" or other is None else other, units),
        "province": views.cell_view(idx.get("province", "", "sipas"), code="sipas"),
        "unit_choices": sorted(((c, units[c].name) for c in idx.unit_codes() if c in units and scope.allows(c)), key=lambda t: t[1]),
        "chosen_unit": chosen,
        "min_n": min_n(settings),
    }


def _local_bounds(run: Any, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(run.period_start, time.min, zone).astimezone(UTC)
    end = datetime.combine(run.period_end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


async def channel_split(session: AsyncSession, unit_codes: list[str], run: Any, tz: str) -> list[dict[str, Any]]:
    """How many accepted responses each channel brought for these units in the run's period (counts, not estimates)."""
    start, end = _local_bounds(run, tz)
    rows = await session.execute(
        select(Response.channel, func.count()).join(Unit, Unit.id == Response.unit_id)
        .where(Unit.code.in_(unit_codes), Response.submitted_at >= start, Response.submitted_at < end, Response.review_status == "accepted")
        .group_by(Response.channel).order_by(func.count().desc())
    )
    counts = [(ch, int(n)) for ch, n in rows]
    total = sum(n for _ch, n in counts) or 1
    return [{"channel": ch, "n": n, "share": n / total} for ch, n in counts]


async def comments(session: AsyncSession, unit_codes: list[str], run: Any, tz: str, limit: int = MAX_COMMENTS) -> list[dict[str, Any]]:
    """The newest comments of these units in the run's period, redacted (never the raw text)."""
    start, end = _local_bounds(run, tz)
    rows = await session.execute(
        select(Response.comment, Response.channel, Response.submitted_at).join(Unit, Unit.id == Response.unit_id)
        .where(Unit.code.in_(unit_codes), Response.submitted_at >= start, Response.submitted_at < end,
               Response.review_status == "accepted", Response.comment.is_not(None), Response.comment != "")
        .order_by(Response.submitted_at.desc()).limit(limit)
    )
    return [{"text": redact(c), "channel": ch, "at": at} for c, ch, at in rows]


async def unit_page(session: AsyncSession, settings: Settings, code: str, *, run_id: int | None, lang: str) -> dict[str, Any] | None:
    """Everything a unit page shows; None when the unit or the run does not exist."""
    units = await unit_refs(session)
    unit = units.get(code)
    if unit is None:
        return None
    runs = await list_runs(session, published_only=False)
    summary = choose(runs, run_id)
    if summary is None:
        return {"unit": unit, "run": None}
    run = await read_run(session, summary)
    idx = views.RunIndex(run)
    q = questionnaire_of(run)
    pillar_labels = {p.id: p.label.in_(lang) for p in q.pillars} if q else {}
    item_labels = {i.id: i.label.in_(lang) for i in q.items} if q else {}
    expectation_labels = {o.id: o.label.in_(lang) for o in q.expectations.options} if q and q.expectations else {}
    domain = "province" if unit.kind == "province" else "unit"
    dcode = "" if domain == "province" else code
    sipas = views.cell_view(idx.get(domain, dcode, "sipas"), label=unit.name, code="sipas")
    below = [c for c, u in units.items() if u.parent_code == code]
    subtree = [code, *below]
    threshold = min_n(settings)
    respondents = sipas.n if sipas else 0
    base = f"/admin/ket-qua/csv/{run.id}/don-vi/{code}"
    items_by_pillar = []
    item_rows = views.measure_rows(idx, domain, dcode, "item", item_labels)
    for pid, plabel in pillar_labels.items():
        members = [r for r in item_rows if q and r["code"] in {i.id for i in q.items_of(pid)}]
        if members:
            items_by_pillar.append({"pillar": plabel, "rows": members})
    return {
        "unit": unit,
        "run": views.header(run),
        "runs": [views.header(r) for r in _newest_first(runs)],
        "sipas": sipas,
        "province": views.cell_view(idx.get("province", "", "sipas"), code="sipas") if domain != "province" else None,
        "pillars": views.measure_rows(idx, domain, dcode, "pillar", pillar_labels),
        "items_by_pillar": items_by_pillar,
        "expectations": sorted(views.measure_rows(idx, domain, dcode, "expectation", expectation_labels),
                               key=lambda r: -(r["cell"].estimate if r["cell"].shown else -1)),
        "channels": await channel_split(session, subtree if domain == "unit" else list(units), run, settings.timezone),
        "comments_hidden": respondents < threshold,
        "comments": [] if respondents < threshold else await comments(session, subtree if domain == "unit" else list(units), run, settings.timezone),
        "respondents": respondents,
        "children": sorted((units[c] for c in below), key=lambda u: u.name),
        "min_n": threshold,
        "csv": {"pillars": f"{base}/tru-cot.csv", "items": f"{base}/tieu-chi.csv", "expectations": f"{base}/mong-doi.csv"},
    }


async def demo_links(session: AsyncSession, base: str, unit_code: str, manager_login: tuple[str, str] | None) -> list[str]:
    """The lines ``make run`` prints for the results: dashboard, a unit page, the public page, the report PDF."""
    from survey.db.models import User

    out = [f"  Results dashboard    {base}/admin/ket-qua   (admin, statistician)"]
    if await session.scalar(select(Unit.id).where(Unit.code == unit_code)) is not None:
        out.append(f"  Unit page            {base}/admin/ket-qua/don-vi/{unit_code}")
    if manager_login and await session.scalar(select(User.id).where(User.username == manager_login[0])) is not None:
        out.append(f"    unit manager: {manager_login[0]}   (sees only that unit; password in the demo credentials file)")
    out.append(f"  Public results       {base}/cong-khai   (no sign-in)")
    runs = [r for r in await list_runs(session, published_only=True)]
    published = choose([r for r in runs if r.source == "sample"] or runs, None)
    if published is not None:
        out.append(f"  Report (PDF)         {base}/cong-khai/bao-cao/{published.id}.pdf")
    else:
        out.append("  Report (PDF)         (appears once an index run is published: Admin → index runs)")
    return out
