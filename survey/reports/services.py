"""The published report of one index run: its data (from the stored run) and its HTML.

``report_data`` gathers what the report shows; ``render_html`` renders ``templates/reports/report.html``
with the shared formatting helpers, for the web page and for the PDF (``survey.reports.pdf``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from survey.results import par_public, present, services, views
from survey.settings import Settings


class ReportNotFound(LookupError):
    """No such run, or (on the public side) the run is not published."""


async def report_data(session: AsyncSession, settings: Settings, run_id: int, *, lang: str, published_only: bool) -> dict[str, Any]:
    runs = await services.list_runs(session, published_only=published_only)
    summary = next((r for r in runs if r.id == run_id), None)
    if summary is None:
        raise ReportNotFound(run_id)
    run = await services.read_run(session, summary)
    if published_only and run.status != "published":
        raise ReportNotFound(run_id)
    other_summary = services.companion(runs, summary)
    other = await services.read_run(session, other_summary) if other_summary else None
    data = build(run, other, await services.unit_refs(session), lang=lang, min_n=services.min_n(settings))
    data["par"] = await par_public.sections_for_run(session, run.id, lang=lang)  # published PAR rankings fed by this run
    return data


def build(run: Any, other: Any | None, units: dict, *, lang: str, min_n: int) -> dict[str, Any]:
    """The report's content from a stored run (and the other source's run for the same period)."""
    idx, other_idx = views.RunIndex(run), (views.RunIndex(other) if other else None)
    q = services.questionnaire_of(run)
    columns = views.pillar_columns(q, idx, lang)
    labels = dict(columns)
    leagues = views.league_tables(idx, units)
    annex_groups = []
    for table in leagues:
        rows = []
        for row in table.rows:
            pillars = [views.cell_view(idx.get("unit", row.unit_code, "pillar", code), code=code) for code, _label in columns]
            rows.append({
                "code": row.unit_code, "name": row.unit_name, "sipas": row.cell, "rank": row.rank_label,
                "pillars": [{"code": code, "cell": c} for (code, _l), c in zip(columns, pillars, strict=True)],
                "admin_766": views.cell_view(idx.get("unit", row.unit_code, "admin_766"), code="admin_766"),
            })
        annex_groups.append({"group": table.group, "title": table.title, "rows": rows})
    return {
        "run": views.header(run),
        "province": views.cell_view(idx.get("province", "", "sipas"), code="sipas"),
        "province_name": next((u.name for u in units.values() if u.kind == "province"), "Toàn tỉnh"),
        "pillars": views.measure_rows(idx, "province", "", "pillar", labels),
        "three": views.three_figures(idx if run.source == "sample" else other_idx, other_idx if run.source == "sample" else idx),
        "leagues": leagues,
        "heat": views.heat_map(idx, units, columns),
        "sample": views.sample_view(run, units),
        "annex_groups": annex_groups,
        "min_n": min_n,
        "par": [],
    }


@cache
def environment() -> Environment:
    """A Jinja environment on the project's templates (for rendering outside a request: the PDF, the CLI)."""
    from survey.app import templates_dir

    return Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=select_autoescape(["html"]), trim_blocks=False)


def render_html(data: dict[str, Any], *, lang: str, tz: str, pdf: bool, pdf_url: str = "", env: Environment | None = None) -> str:
    ctx = {**present.base_context(lang, tz), "data": data, "pdf": pdf, "pdf_url": pdf_url, "csp_nonce": ""}
    return (env or environment()).get_template("reports/report.html").render(ctx)
