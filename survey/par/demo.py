"""Demo data for the expert survey and the PAR Index (called from ``survey.demo.seed``).

A panel of the demo year with the default groups (HĐND delegates, department directors, commune
chairs), the who-rates-whom matrix, invitations (all but two answered and submitted), appraisal
points for every unit, and a composed, published ranking per block with the satisfaction component
from the demo's published sample index run.  Seeded numpy generator; ratings are inserted in bulk,
row for row what ``save_unit`` / ``submit`` write.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.settings import Settings

SEED = 20251201
DEPARTMENTS = "par-department-2025-v1"
COMMUNES = "par-commune-2025-v1"
UNANSWERED = 2


async def seed_par(session: AsyncSession, settings: Settings, *, quality: dict[str, float], index_run_id: int | None, today: date) -> dict:
    from survey.db.models import ExpertInvitation, ExpertMember, ExpertRating, ExpertSubmission, Unit
    from survey.experts import services as ex
    from survey.par import methodology as meth
    from survey.par import services as par

    rng = np.random.default_rng(SEED)
    year = today.year
    units = list(await session.scalars(select(Unit).where(Unit.kind != "province").order_by(Unit.code)))
    # appraisal points: the unit's quality plus noise, as a share of each criterion's maximum
    lines = ["unit,criterion,self_points,council_points,evidence"]
    for mid in (DEPARTMENTS, COMMUNES):
        m = meth.get(mid)
        rows = [u for u in units if u.kind in m.unit_kinds]
        for u in rows:
            base = 0.78 + 0.08 * quality.get(u.code, 0.0)
            for c in m.criteria_of("appraisal"):
                if not m.applies(c, u.kind):
                    continue
                council = round(float(np.clip(base + rng.normal(0, 0.07), 0.3, 1.0)) * c.max_points, 2)
                self_p = round(min(c.max_points, council + float(rng.choice([0, 0, 0.25, 0.5]))), 2)
                lines.append(f"{u.code},{c.id},{self_p},{council},BC-{year}-{u.code[-6:]}-{c.id}")
            if rng.random() < 0.2:
                lines.append(f"{u.code},T.1,1,1,QD-khen-thuong-{year}")
    for mid in (DEPARTMENTS, COMMUNES):
        m = meth.get(mid)
        mine = [ln for ln in lines[1:] if next(u.kind for u in units if u.code == ln.split(",")[0]) in m.unit_kinds]
        await par.import_appraisal(session, ("\n".join([lines[0], *mine]) + "\n").encode(), year=year, methodology_id=mid, actor="demo")

    panel_id = await ex.create_panel(session, year=year, name=f"Điều tra xã hội học Chỉ số CCHC {year}", methodology_ids=[DEPARTMENTS, COMMUNES],
                                     expires_on=today + timedelta(days=30), actor="demo")
    people = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Võ Thị Giang", "Đặng Văn Hải",
              "Bùi Thị Hoa", "Đỗ Văn Khánh", "Ngô Thị Lan", "Dương Văn Minh", "Lý Thị Nga", "Phan Văn Phúc", "Trịnh Thị Quyên"]
    members = ["group,name,title,unit,contact"]
    for i in range(4):
        members.append(f"hdnd,{people[i]},Đại biểu,,")
    depts = [u for u in units if u.kind == "department"]
    locals_ = [u for u in units if u.kind != "department"]
    for i, u in enumerate(depts):
        members.append(f"lanh_dao_so,{people[4 + i % 10]},Giám đốc,{u.code},")
    for i, u in enumerate(locals_[:4]):
        members.append(f"lanh_dao_xa,{people[(10 + i) % 14]},Chủ tịch UBND,{u.code},")
    await ex.import_members(session, panel_id, ("\n".join(members) + "\n").encode(), "demo")
    await ex.generate_matrix(session, panel_id, "demo")
    await ex.create_invitations(session, panel_id, "demo")

    invitations = (await session.execute(
        select(ExpertInvitation.id, ExpertMember.id, ExpertMember.unit_id).join(ExpertMember).where(ExpertMember.panel_id == panel_id).order_by(ExpertInvitation.id)
    )).all()
    by_id = {u.id: u for u in units}
    ratings, submissions = [], []
    for n, (inv_id, member_id, _own) in enumerate(invitations):
        if n >= len(invitations) - UNANSWERED:
            break
        link = ex.ExpertLink("", inv_id, member_id, _own, panel_id, False)
        for a in await ex.assigned_units(session, link):
            m = meth.get(a.methodology_id)
            q = quality.get(by_id[a.unit_id].code, 0.0)
            for c in m.criteria_of("expert_survey"):
                v = 0 if rng.random() < 0.04 else int(np.clip(np.rint(7.6 + 1.1 * q + rng.normal(0, 1.2)), 1, 10))
                ratings.append({"invitation_id": inv_id, "unit_id": a.unit_id, "criterion_id": c.id, "value": v})
        submissions.append({"invitation_id": inv_id, "language": "vi"})
    if ratings:
        await session.execute(insert(ExpertRating), ratings)
        await session.execute(insert(ExpertSubmission), submissions)
    await session.commit()

    compositions = []
    satisfaction = await par.satisfaction_from_run(session, index_run_id) if index_run_id is not None else None  # read the run once
    for mid in (DEPARTMENTS, COMMUNES):
        for b in meth.get(mid).blocks:
            comp = await par.compose_block(session, year=year, methodology_id=mid, block=b.code, actor="demo", index_run_id=index_run_id,
                                           satisfaction=satisfaction, panel_ids=[panel_id])
            await par.publish_composition(session, comp.id, "demo")
            compositions.append(comp.id)
    pending = await ex.invitation_list(session, panel_id, settings, pending_only=True)
    return {"panel_id": panel_id, "compositions": compositions, "expert_token": pending[0]["token"] if pending else None,
            "invitations": len(invitations), "submitted": len(submissions)}
