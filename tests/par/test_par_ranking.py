"""The 15-unit ranking of the issue (modelled on Hải Phòng 2020): appraisal CSV + expert survey + satisfaction run.

Lê Chân 90.54 first; Hồng Bàng and Ngô Quyền tied at 90.03 share rank 2 and the next unit is 4th; the
last of the block 77.39 (a spread of 13.15 points) while the first eight lie within 2.95 points;
Vĩnh Bảo: appraisal 54.14 (5th on appraisal alone), survey 7/10, satisfaction 87.65 %, overall 9th.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from survey.db.models import AuditLog, Composition, CompositionResult
from survey.db.models.par import ImmutableRecord
from survey.par import ranking
from survey.par import services as par
from tests.conftest import make_unit
from tests.par.helpers import COMMUNES, appraisal_csv, expert_panel, satisfaction_source

#: code: (overall total, survey rating 1..10, SIPAS share); appraisal = total - survey - satisfaction
TABLE = {
    "LECHAN": (90.54, 9, 0.95), "HONGBANG": (90.03, 9, 0.95), "NGOQUYEN": (90.03, 9, 0.95), "KIENAN": (89.50, 9, 0.95),
    "HAIAN": (89.00, 10, 1.0), "DOSON": (88.60, 10, 1.0), "DUONGKINH": (88.10, 10, 1.0), "THUYNGUYEN": (87.59, 10, 1.0),
    "VINHBAO": (81.599, 7, 0.8765),
    "ANDUONG": (81.00, 8, 0.9), "ANLAO": (80.20, 8, 0.9), "TIENLANG": (79.50, 8, 0.9), "KIENTHUY": (78.80, 8, 0.9),
    "CATHAI": (78.00, 8, 0.9), "BACHLONGVI": (77.39, 8, 0.9),
}  # fmt: skip
SURVEY_MAX, SIPAS_MAX = 26.0, 6.0  # par-commune-2025-v1: 26 survey points; SIPAS 6 + officer pillar 2 + 766 rate 2


def appraisal_of(total: float, rating: int, sipas: float) -> float:
    return round(total - SURVEY_MAX * rating / 10 - (SIPAS_MAX * sipas + 4.0), 2)


async def arrange(db, settings, year: int = 2020):
    for code in TABLE:
        await make_unit(db, code=code, name=f"Xã {code.title()}", kind="commune")
    totals = {code: appraisal_of(*row) for code, row in TABLE.items()}
    assert totals["VINHBAO"] == 54.14
    result = await par.import_appraisal(db, appraisal_csv(COMMUNES, "commune", totals), year=year, methodology_id=COMMUNES, actor="test")
    assert result.created == 15 * 14  # the 14 appraisal criteria of a commune
    panel_id = await expert_panel(db, settings, year=year, ratings={code: row[1] for code, row in TABLE.items()})
    sat = {code: {"sipas": row[2], "pillar:officer": 1.0, "admin_766": 1.0} for code, row in TABLE.items()}
    return panel_id, await satisfaction_source(db, sat)


async def test_fifteen_units_reproduce_the_published_table(db, settings):
    panel_id, source = await arrange(db, settings)
    comp = await par.compose_block(db, year=2020, methodology_id=COMMUNES, block="commune", actor="test", panel_ids=[panel_id], **source)
    rows = {r.unit_code: r for r in comp.results}
    assert [r.unit_code for r in comp.results][:3] == ["LECHAN", "HONGBANG", "NGOQUYEN"]
    assert rows["LECHAN"].total == 90.54 and rows["LECHAN"].rank == 1
    assert rows["HONGBANG"].total == rows["NGOQUYEN"].total == 90.03
    assert rows["HONGBANG"].rank == rows["NGOQUYEN"].rank == 2
    assert rows["KIENAN"].rank == 4  # the rank after the tie is skipped
    vb = rows["VINHBAO"]
    assert (vb.appraisal, vb.survey, vb.total) == (54.14, 18.2, 81.6)
    assert vb.satisfaction == pytest.approx(6 * 0.8765 + 4, abs=0.006)
    assert vb.breakdown["8.1"]["value"] == pytest.approx(0.8765)
    assert (vb.appraisal_rank, vb.rank) == (5, 9)
    assert vb.unit_class == "B"
    assert rows["LECHAN"].unit_class == "A" and rows["BACHLONGVI"].unit_class == "C"
    assert comp.summary["spread"] == 13.15 and comp.summary["top_half_gap"] == 2.95 and comp.summary["top_half_size"] == 8
    assert rows["BACHLONGVI"].rank == 15 and rows["BACHLONGVI"].total == 77.39
    survey = vb.breakdown["1.KS"]
    assert survey["n_raters"] == 5 and survey["value"] == pytest.approx(0.7)
    # stored immutable with an inputs hash; the same inputs give the same hash
    again = await par.compose_block(db, year=2020, methodology_id=COMMUNES, block="commune", actor="test", panel_ids=[panel_id], **source)
    assert again.inputs_hash == comp.inputs_hash and again.id != comp.id
    stored = await db.scalar(select(CompositionResult).where(CompositionResult.composition_id == comp.id, CompositionResult.unit_code == "LECHAN"))
    stored.total = 99.0
    with pytest.raises(ImmutableRecord):
        await db.commit()
    await db.rollback()
    with pytest.raises(DBAPIError):  # the database refuses it too (triggers), not only the ORM
        await db.execute(text("UPDATE par_results SET total = 99 WHERE composition_id = :c"), {"c": comp.id})
    await db.rollback()
    published = await par.publish_composition(db, comp.id, "test")
    assert published.status == "published"
    for sql in ("UPDATE par_compositions SET status = 'draft' WHERE id = :c", "DELETE FROM par_results WHERE composition_id = :c"):
        with pytest.raises(DBAPIError):
            await db.execute(text(sql), {"c": comp.id})
        await db.rollback()
    with pytest.raises(par.ParInputError):
        await par.publish_composition(db, again.id, "test")  # one published ranking per block and year
    assert await db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "par.compose")) == 2
    assert [c.id for c in await par.published_rankings(db)] == [comp.id]


async def test_rank_change_against_last_year_and_too_few_raters_rescale(db, settings):
    panel_id, source = await arrange(db, settings, year=2020)
    last = await par.compose_block(db, year=2020, methodology_id=COMMUNES, block="commune", actor="test", panel_ids=[panel_id], **source)
    await par.publish_composition(db, last.id, "test")
    # 2021: same appraisal, but only 4 raters for everyone (below min_raters = 5) -> survey absent, rescaled to 100
    totals = {code: appraisal_of(*row) for code, row in TABLE.items()}
    totals["BACHLONGVI"] = 60.0
    await par.import_appraisal(db, appraisal_csv(COMMUNES, "commune", totals), year=2021, methodology_id=COMMUNES, actor="test")
    p2 = await expert_panel(db, settings, year=2021, ratings={code: row[1] for code, row in TABLE.items()}, raters=4)
    comp = await par.compose_block(db, year=2021, methodology_id=COMMUNES, block="commune", actor="test", panel_ids=[p2], **source)
    assert comp.previous_composition_id == last.id
    rows = {r.unit_code: r for r in comp.results}
    b = rows["BACHLONGVI"]
    assert b.rank == 1 and b.previous_rank == 15 and b.rank_change == 14
    assert b.survey == 0 and b.rescale_factor == pytest.approx(100 / 74)
    assert b.total == pytest.approx(round((60.0 + 6 * 0.9 + 4) * 100 / 74, 2))
    assert "BACHLONGVI" in comp.summary["units_with_too_few_raters"]


def test_competition_ranking_is_vectorised_over_blocks():
    total = np.array([90.54, 90.03, 90.03, 85.0, 70.0, 95.0, 95.0, 60.0])
    blocks = np.array(["a", "a", "a", "a", "a", "b", "b", "b"])
    assert ranking.competition_rank(total, blocks).tolist() == [1, 2, 2, 4, 5, 1, 1, 3]
    labels, stats = ranking.block_spreads(total, blocks)
    assert labels.tolist() == ["a", "b"] and stats.spread.tolist() == pytest.approx([20.54, 35.0])
    assert stats.top_half_gap.tolist() == pytest.approx([0.51, 0.0])


async def test_composition_needs_appraisal_points(db, settings):
    await make_unit(db, code="X1", name="Xã Một", kind="commune")
    with pytest.raises(par.ParInputError, match="no appraisal points"):
        await par.compose_block(db, year=2020, methodology_id=COMMUNES, block="commune", actor="test")
    assert await db.scalar(select(func.count()).select_from(Composition)) == 0
