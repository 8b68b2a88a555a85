"""The public page /cong-khai: the latest published sample run only (nothing unpublished is ever read here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from survey.results import services, views
from survey.settings import Settings


async def page_data(session: AsyncSession, settings: Settings, *, lang: str) -> dict[str, Any] | None:
    runs = await services.list_runs(session, published_only=True)
    samples = [r for r in runs if r.source == "sample"]
    summary = services.choose(samples or runs, None)
    if summary is None:
        return None
    run = await services.read_run(session, summary)
    if run.status != "published":  # list_runs(published_only=True) gave it; a draft is never shown here
        return None
    other_summary = services.companion(runs, summary)
    other = await services.read_run(session, other_summary) if other_summary else None
    idx, other_idx = views.RunIndex(run), (views.RunIndex(other) if other else None)
    units = await services.unit_refs(session)
    q = services.questionnaire_of(run)
    return {
        "run": views.header(run),
        "province": views.cell_view(idx.get("province", "", "sipas"), code="sipas"),
        "pillars": views.measure_rows(idx, "province", "", "pillar", {c: lbl for c, lbl in views.pillar_columns(q, idx, lang)}),
        "leagues": views.league_tables(idx, units, csv_url=lambda g: f"/cong-khai/csv/xep-hang-{g}.csv"),
        "three": views.three_figures(idx if run.source == "sample" else other_idx, other_idx if run.source == "sample" else idx),
        "sample": views.sample_view(run, units),
        "min_n": services.min_n(settings),
        "report_url": f"/cong-khai/bao-cao/{run.id}",
        "pdf_url": f"/cong-khai/bao-cao/{run.id}.pdf",
    }


async def open_data(session: AsyncSession) -> tuple[bytes | None, int | None]:
    """The open-data CSV of the latest published sample run (else the latest published run), or (None, None)."""
    from survey.indices import exports
    from survey.results import charts

    runs = await services.list_runs(session, published_only=True)
    summary = services.choose([r for r in runs if r.source == "sample"] or runs, None)
    if summary is None:
        return None, None
    run = await services.read_run(session, summary)
    rows = exports.open_data_rows(run)  # refuses a draft
    columns = list(exports.OPEN_DATA_COLUMNS)
    return charts.to_csv(columns, ([exports._csv_safe(r[c]) for c in columns] for r in rows)), run.id
