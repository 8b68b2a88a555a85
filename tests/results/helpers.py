"""Stored index runs for the results tests, written straight into index_runs / index_cells.

Intervals are computed here independently of the project's code: Korn-Graubard (Clopper-Pearson on the
effective n) from scipy's beta distribution, so a page showing them shows exactly the stored numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from scipy import stats

from survey.questionnaires import registry

Q = registry.get("sipas-short")
PROVINCE = ("P00", "Tỉnh Thử Nghiệm", "province")
#: (code, name, kind, n respondents, satisfied share)
UNITS = [
    ("D01", "Sở Tư pháp", "department", 180, 0.91),
    ("D02", "Sở Xây dựng", "department", 150, 0.72),
    ("D03", "Sở Tài chính", "department", 160, 0.88),
    ("D04", "Sở Y tế", "department", 12, 1.0),  # 12 of 12 satisfied: a finite interval, never "100% ± 0"
    ("W01", "Phường Hòa Bình", "ward", 220, 0.93),
    ("C01", "Xã Tân Phú", "commune", 200, 0.70),
    ("C02", "Xã Phú Lộc", "commune", 210, 0.86),
    ("Z01", "Đặc khu Hòn Ngọc", "special_zone", 5, 0.8),  # too few: suppressed
]


def kg_interval(p: float, n: int, level: float = 0.95) -> tuple[float, float]:
    x = p * n
    a = (1 - level) / 2
    lo = 0.0 if x <= 0 else float(stats.beta.ppf(a, x, n - x + 1))
    hi = 1.0 if x >= n else float(stats.beta.ppf(1 - a, x + 1, n - x))
    return lo, hi


def cell(domain, code, label, measure, mcode, p, n, *, suppressed=False, method="direct"):
    if suppressed:
        return dict(domain=domain, domain_code=code, domain_label=label, measure=measure, measure_code=mcode, estimate=None,
                    se=None, ci_low=None, ci_high=None, df=None, deff=None, n_eff=None, n=n, method="suppressed")
    if method == "administrative":
        return dict(domain=domain, domain_code=code, domain_label=label, measure=measure, measure_code=mcode, estimate=p,
                    se=None, ci_low=None, ci_high=None, df=None, deff=None, n_eff=None, n=n, method=method)
    lo, hi = kg_interval(p, n)
    se = (p * (1 - p) / n) ** 0.5 if 0 < p < 1 else 0.0
    return dict(domain=domain, domain_code=code, domain_label=label, measure=measure, measure_code=mcode, estimate=p,
                se=se, ci_low=lo, ci_high=hi, df=float(n - 1), deff=1.2, n_eff=n / 1.2, n=n, method=method)


@dataclass
class Arranged:
    unit_ids: dict[str, int]
    runs: dict[str, int]


def unit_cells(code, name, n, p, *, shift=0.0, min_n=30):
    p = min(1.0, max(0.0, p + shift))
    small = n < min_n and p < 1.0
    out = [cell("unit", code, name, "sipas", "", p, n, suppressed=small)]
    for k, pillar in enumerate(Q.pillars):
        pp = min(1.0, max(0.0, p - 0.03 * (k - 2))) if p < 1.0 else 1.0
        out.append(cell("unit", code, name, "pillar", pillar.id, pp, n, suppressed=small))
        for item in Q.items_of(pillar.id):
            out.append(cell("unit", code, name, "item", item.id, pp, n, suppressed=small))
    for j, opt in enumerate(Q.expectations.options):
        out.append(cell("unit", code, name, "expectation", opt.id, 0.05 + 0.04 * j, n, suppressed=small))
    out.append(cell("unit", code, name, "admin_766", "", 0.97, 40 * n, method="administrative"))
    return out


def province_cells(p, n, admin=0.985):
    name = PROVINCE[1]
    out = [cell("province", "", name, "sipas", "", p, n)]
    for k, pillar in enumerate(Q.pillars):
        pp = p - 0.02 * (k - 2)
        out.append(cell("province", "", name, "pillar", pillar.id, pp, n))
        for item in Q.items_of(pillar.id):
            out.append(cell("province", "", name, "item", item.id, pp, n))
    for j, opt in enumerate(Q.expectations.options):
        out.append(cell("province", "", name, "expectation", opt.id, 0.06 + 0.04 * j, n))
    out.append(cell("province", "", name, "admin_766", "", admin, 40 * n, method="administrative"))
    return out


async def add_run(session, *, source, status, start, end, cells, summary=None, actor="test"):
    from survey.db.models.indices import IndexCell, IndexRun

    run = IndexRun(
        period_start=start, period_end=end, source=source, campaign_id=None, methodology_version="sipas-2023-v1",
        questionnaire_id=Q.id, inputs_hash=("%064x" % (abs(hash((source, start, status))) % (1 << 250))), parameters={"min_n": 30, "level": 0.95, "interval": "beta"},
        summary=summary or {}, status=status, created_by=actor, created_at=datetime.now(UTC),
        published_by=actor if status == "published" else None, published_at=datetime.now(UTC) if status == "published" else None,
    )
    session.add(run)
    await session.flush()
    session.add_all([IndexCell(run_id=run.id, **c) for c in cells])
    await session.commit()
    return run.id


SAMPLE_SUMMARY = {
    "n_respondents": sum(u[3] for u in UNITS),
    "exclusions": {"review_pending": 3, "no_answer": 2},
    "response_rates": {"RR1": 0.412, "RR3": 0.468},
    "weighting": {"n_eff": 903.4, "deff": 1.26, "w_min": 3.1, "w_max": 41.7, "w_ratio": 13.45},
    "composition": [{"variable": "unit", "category": "D01", "label": "Sở Tư pháp", "sample_share": 0.158, "frame_share": 0.12}],
    "fieldwork": {"first_day": "2026-10-05", "last_day": "2026-11-20"},
}


async def arrange(session, *, with_previous=True, min_n=30) -> Arranged:
    """Units, a published sample run (the current period), a published self-selected run, an earlier sample run, and a draft."""
    from survey.db.models import Unit

    prov = Unit(code=PROVINCE[0], name=PROVINCE[1], kind=PROVINCE[2])
    session.add(prov)
    await session.flush()
    ids = {PROVINCE[0]: prov.id}
    for code, name, kind, _n, _p in UNITS:
        u = Unit(code=code, name=name, kind=kind, parent_id=prov.id)
        session.add(u)
        await session.flush()
        ids[code] = u.id
    await session.commit()
    today = date(2026, 11, 30)
    start = today - timedelta(days=90)
    runs = {}

    def all_cells(shift=0.0, prov_p=0.862):
        out = province_cells(prov_p, 1137)
        for code, name, _kind, n, p in UNITS:
            out += unit_cells(code, name, n, p, shift=shift if p < 1 else 0.0, min_n=min_n)
        return out

    if with_previous:
        prev_start, prev_end = start - timedelta(days=91), start - timedelta(days=1)
        runs["previous"] = await add_run(session, source="sample", status="published", start=prev_start, end=prev_end, cells=all_cells(-0.04, 0.821), summary=SAMPLE_SUMMARY)
    runs["sample"] = await add_run(session, source="sample", status="published", start=start, end=today, cells=all_cells(), summary=SAMPLE_SUMMARY)
    self_cells = province_cells(0.951, 4210)
    runs["self"] = await add_run(session, source="self_selected", status="published", start=start, end=today, cells=self_cells, summary={"n_respondents": 4210})
    runs["draft"] = await add_run(session, source="sample", status="draft", start=today + timedelta(days=1), end=today + timedelta(days=20), cells=all_cells(0.02, 0.99), summary=SAMPLE_SUMMARY)
    return Arranged(unit_ids=ids, runs=runs)


COMMENTS = [
    "Tôi là Nguyễn Văn An, số điện thoại 0912 345 678, cán bộ hướng dẫn rất tận tình.",
    "Phải chờ lâu. Liên hệ tran.thi.b@example.com hoặc CCCD 001203004567 để biết thêm.",
    "Thủ tục nhanh gọn, cảm ơn.",
]


async def add_comments(session, unit_id: int, texts=COMMENTS, at: datetime | None = None, channel: str = "qr") -> None:
    import uuid

    from survey.db.models import Response

    at = at or datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    for i, text in enumerate(texts):
        session.add(Response(
            id=str(uuid.uuid4()), unit_id=unit_id, questionnaire_id=Q.id, questionnaire_version=Q.version, channel=channel,
            answers={i.id: 4 for i in Q.items}, overall=4, expectations=[], comment=text, submitted_at=at + timedelta(minutes=i),
            integrity_flags=[], review_status="accepted", extra={},
        ))
    await session.commit()


#: PAR Index appraisal totals for the departments (survey absent -> rescaled to 100); D01 and D03 end level: a shared rank
PAR_APPRAISAL = {"D01": 50.0, "D02": 62.0, "D03": 50.0, "D04": 40.0}
PAR_YEAR = 2026


async def arrange_par(session, run_id: int, *, draft_block_too: bool = True) -> dict[str, int]:
    """A published PAR Index ranking of the departments whose satisfaction points come from run ``run_id``
    (given equal for D01 and D03 so they tie), and an unpublished one of the wards, which must never be shown."""
    from survey.par import services as par
    from tests.par.helpers import COMMUNES, DEPARTMENTS, appraisal_csv

    await par.import_appraisal(session, appraisal_csv(DEPARTMENTS, "department", PAR_APPRAISAL), year=PAR_YEAR, methodology_id=DEPARTMENTS, actor="test")
    same = {"sipas": 0.9, "admin_766": 1.0}
    sat = {"D01": same, "D02": {"sipas": 0.72, "admin_766": 1.0}, "D03": same, "D04": {"sipas": 1.0, "admin_766": 1.0}}
    comp = await par.compose_block(session, year=PAR_YEAR, methodology_id=DEPARTMENTS, block="department", actor="test",
                                   index_run_id=run_id, satisfaction=sat, panel_ids=[])
    await par.publish_composition(session, comp.id, "test")
    out = {"department": comp.id}
    if draft_block_too:
        await par.import_appraisal(session, appraisal_csv(COMMUNES, "ward", {"W01": 61.0}), year=PAR_YEAR, methodology_id=COMMUNES, actor="test")
        draft = await par.compose_block(session, year=PAR_YEAR, methodology_id=COMMUNES, block="ward", actor="test",
                                        index_run_id=run_id, satisfaction={"W01": same}, panel_ids=[])
        out["ward_draft"] = draft.id
    return out
