"""The PAR Index section (Chỉ số CCHC) of /cong-khai and of the published report: published compositions only.

Reads stored compositions through ``survey.par.services`` (never recomputes) and turns each into a dict the
templates only display: rows in rank order with the shared-rank flag, the component columns, the class label
in the page's language, the spread figures of the block and the methodology version.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from survey.par import methodology as meth
from survey.par import services as par
from survey.par.schemas import CompositionRead
from survey.results import charts

CSV_PREFIX = "chi-so-cchc-"
CSV_COLUMNS = ("year", "block", "rank", "tied", "unit_code", "unit_name", "total", "unit_class", "appraisal", "survey",
               "satisfaction", "bonus", "penalty", "appraisal_rank", "previous_rank", "rank_change", "methodology")


def section(c: CompositionRead, lang: str) -> dict[str, Any]:
    """One published composition as the rows and sentences of the public ranking table."""
    try:
        m = meth.get(c.methodology_id)
    except LookupError:  # a methodology file no longer shipped: show what the composition stored
        m = None
    block = next((b for b in m.blocks if b.code == c.block), None) if m else None
    classes = {k.code: k.label.in_(lang) for k in m.classes} if m else {}
    ties = Counter(r.rank for r in c.results)
    rows = [{
        "rank": r.rank, "tied": ties[r.rank] > 1, "unit_code": r.unit_code, "unit_name": r.unit_name, "total": r.total,
        "unit_class": r.unit_class, "class_label": classes.get(r.unit_class, ""), "appraisal": r.appraisal, "survey": r.survey,
        "satisfaction": r.satisfaction, "bonus": r.bonus, "penalty": r.penalty, "appraisal_rank": r.appraisal_rank,
        "previous_rank": r.previous_rank, "rank_change": r.rank_change, "rescaled": abs(r.rescale_factor - 1) > 1e-9,
    } for r in sorted(c.results, key=lambda r: (r.rank, r.unit_name))]
    s = c.summary
    return {
        "id": c.id, "year": c.year, "block": c.block, "title": block.label.in_(lang) if block else c.block_label,
        "methodology_id": c.methodology_id, "methodology_title": m.title.in_(lang) if m else c.methodology_id,
        "methodology_sha256": c.methodology_sha256, "published_at": c.published_at,
        "n": s.get("n", len(rows)), "spread": s.get("spread"), "top_half_size": s.get("top_half_size"), "top_half_gap": s.get("top_half_gap"),
        "maxima": s.get("maxima", {}), "any_tie": any(r["tied"] for r in rows), "rows": rows,
        "csv_url": f"/cong-khai/csv/{CSV_PREFIX}{c.block}.csv",
    }


async def public_sections(session: AsyncSession, *, lang: str) -> list[dict[str, Any]]:
    """Every block's published ranking of the latest year that has one (``par.published_rankings``)."""
    return [section(c, lang) for c in await par.published_rankings(session) if c.status == "published"]


async def sections_for_run(session: AsyncSession, run_id: int, *, lang: str) -> list[dict[str, Any]]:
    """The published rankings whose satisfaction component came from index run ``run_id`` (latest year): for its report."""
    linked = [s for s in await par.list_compositions(session) if s.status == "published" and s.index_run_id == run_id]
    if not linked:
        return []
    year = max(s.year for s in linked)
    chosen = sorted((s for s in linked if s.year == year), key=lambda s: meth.block_order(s.methodology_id, s.block))
    out = []
    for s in chosen:
        c = await par.get_composition(session, s.id)
        if c.status == "published":
            out.append(section(c, lang))
    return out


def _csv_text(text: str) -> str:
    """No formula injection in a spreadsheet: a cell never starts with = + - @."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def section_csv(sec: dict[str, Any]) -> bytes:
    return charts.to_csv(CSV_COLUMNS, ([sec["year"], sec["block"], r["rank"], int(r["tied"]), r["unit_code"], _csv_text(r["unit_name"]), r["total"],
                                        r["unit_class"], r["appraisal"], r["survey"], r["satisfaction"], r["bonus"], r["penalty"],
                                        r["appraisal_rank"], r["previous_rank"], r["rank_change"], sec["methodology_id"]] for r in sec["rows"]))


def find_csv(sections: list[dict[str, Any]], file: str) -> tuple[bytes, dict[str, Any]] | None:
    for sec in sections:
        if file == f"{CSV_PREFIX}{sec['block']}.csv":
            return section_csv(sec), sec
    return None
