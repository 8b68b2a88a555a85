"""Arrange a PAR Index year: units, appraisal CSV, an expert panel with submitted ratings, satisfaction values."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from survey.experts import services as experts
from survey.par import methodology as meth
from survey.par import services as par

COMMUNES = "par-commune-2025-v1"
DEPARTMENTS = "par-department-2025-v1"


def appraisal_csv(methodology_id: str, kind: str, totals: dict[str, float]) -> bytes:
    """A CSV giving each unit ``totals[code]`` appraisal points, spread over the criteria in proportion
    to their maxima (two decimals, the remainder on the last criterion); self-assessment 1 point higher where possible."""
    m = meth.get(methodology_id)
    crits = [c for c in m.criteria_of("appraisal") if m.applies(c, kind)]
    full = sum(c.max_points for c in crits)
    lines = ["unit,criterion,self_points,council_points,evidence"]
    for code, total in totals.items():
        given = 0.0
        for n, c in enumerate(crits):
            pts = round(total - given, 2) if n == len(crits) - 1 else round(c.max_points * total / full, 2)
            given = round(given + pts, 2)
            self_p = min(c.max_points, round(pts + 0.5, 2))
            lines.append(f"{code},{c.id},{self_p},{pts},HS-{code}-{c.id}")
    return ("\n".join(lines) + "\n").encode()


async def expert_panel(db, settings, *, year: int, ratings: dict[str, int], raters: int = 5, methodology_ids=(COMMUNES,)) -> int:
    """A panel of ``raters`` People's Council delegates who each rate every unit in ``ratings`` with
    that value (1..10) on every survey criterion, and submit."""
    panel_id = await experts.create_panel(
        db, year=year, name=f"Điều tra xã hội học {year}", methodology_ids=list(methodology_ids),
        expires_on=date.today() + timedelta(days=30), actor="test",
    )
    rows = "group,name,title,unit,contact\n" + "".join(f"hdnd,Đại biểu {i},Ông,,\n" for i in range(raters))
    await experts.import_members(db, panel_id, rows.encode(), "test")
    await experts.generate_matrix(db, panel_id, "test")
    await experts.create_invitations(db, panel_id, "test")
    for inv in await experts.invitation_list(db, panel_id, settings):
        link = await experts.open_invitation(db, inv["token"], settings)
        for unit in await experts.assigned_units(db, link):
            m = meth.get(unit.methodology_id)
            v = ratings.get(unit.code)
            if v is None:
                continue
            await experts.save_unit(db, link, unit.code, {c.id: v for c in m.criteria_of("expert_survey")})
        with contextlib.suppress(experts.ExpertInputError):  # units outside ``ratings`` stay unrated: no submission
            await experts.submit(db, link)
    return panel_id


async def satisfaction_source(db, values: dict[str, dict[str, float]]) -> dict:
    """Keyword arguments for ``compose_block``: a stored index run with these unit cells (CONTRACT §2)."""
    return {"index_run_id": await make_index_run(db, values)}


async def make_index_run(db, values: dict[str, dict[str, float]]) -> int:
    from survey.db.models import IndexCell, IndexRun

    run = IndexRun(
        period_start=date(2020, 1, 1), period_end=date(2020, 12, 31), source="sample", campaign_id=None,
        methodology_version="sipas-2023-v1", questionnaire_id="sipas-full", inputs_hash="0" * 64, parameters={}, summary={},
        status="published", created_by="test",
    )
    db.add(run)
    await db.flush()
    for code, cells in values.items():
        for key, est in cells.items():
            measure, _, mcode = key.partition(":")
            db.add(IndexCell(run_id=run.id, domain="unit", domain_code=code, domain_label=code, measure=measure, measure_code=mcode,
                             estimate=est, n=100, method="administrative" if measure == "admin_766" else "direct"))
    await db.commit()
    return run.id


__all__ = ["appraisal_csv", "expert_panel", "par", "satisfaction_source"]
