"""PAR Index services: appraisal import, composition of a block's ranking (stored immutable), publishing.

The arithmetic is :mod:`survey.par.ranking` (pure numpy); this module gathers its inputs from the
database (appraisal points, the expert survey's aggregates, an index run's satisfaction cells), stores
the result with the SHA-256 of its inputs, and reads stored compositions back.  Pages never recompose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.db.models import Appraisal, Composition, CompositionResult, Unit
from survey.imports.services import CsvImportError, ImportResult, RowError, _stop, read_rows
from survey.par import methodology as meth
from survey.par import ranking
from survey.par.schemas import AppraisalRow, CompositionRead, CompositionSummary, ResultRow

APPRAISAL_COLUMNS = ("unit", "criterion", "self_points", "council_points", "evidence")
APPRAISAL_REQUIRED = ("unit", "criterion", "council_points")


class ParInputError(ValueError):
    """Something needed to compose is missing or inconsistent (message names it)."""


class MethodologyChanged(ParInputError):
    """The methodology file differs from the one an earlier composition used."""


# --------------------------------------------------------------------------- appraisal import


def _points(raw: str) -> float:
    text = raw.strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # Vietnamese decimal comma: 8,5
    value = float(text)
    if not np.isfinite(value):
        raise ValueError
    return value


async def import_appraisal(
    session: AsyncSession, source: str | Path | bytes, *, year: int, methodology_id: str, actor: str
) -> ImportResult:
    """Import self-assessed and council points (CSV ``unit,criterion,self_points,council_points,evidence``).

    All or nothing: every row is checked first (unit exists and is of a kind the criterion applies to;
    criterion is an appraisal or bonus/penalty criterion of the methodology; 0 <= points <= maximum; no
    duplicate unit+criterion); the first problems are reported with their line and nothing is written.
    Rows for a unit and criterion already imported for the year replace them.
    """
    m = meth.get(methodology_id)
    rows = read_rows(source, "appraisal", columns=APPRAISAL_COLUMNS, required=APPRAISAL_REQUIRED)
    units = {u.code: u for u in await session.scalars(select(Unit))}
    errors: list[RowError] = []
    parsed: list[tuple[int, int, str, float | None, float, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        n = len(errors)
        unit = units.get(row["unit"])
        if not row["unit"]:
            errors.append(RowError(line, "unit", "is required"))
        elif unit is None:
            errors.append(RowError(line, "unit", f"unknown unit {row['unit']!r}"))
        crit = m.criterion(row["criterion"])
        if not row["criterion"]:
            errors.append(RowError(line, "criterion", "is required"))
        elif crit is None:
            errors.append(RowError(line, "criterion", f"{row['criterion']!r} is not a criterion of {m.id}"))
        elif crit.source not in ("appraisal", "bonus_penalty"):
            errors.append(RowError(line, "criterion", f"{crit.id} comes from {crit.source}, not from the appraisal council"))
        elif unit is not None and (unit.kind not in m.unit_kinds or not m.applies(crit, unit.kind)):
            errors.append(RowError(line, "criterion", f"{crit.id} does not apply to {unit.code} (a {unit.kind})"))
        values: dict[str, float | None] = {}
        for name in ("self_points", "council_points"):
            raw = row[name]
            if not raw:
                if name == "council_points":
                    errors.append(RowError(line, name, "is required"))
                values[name] = None
                continue
            try:
                values[name] = _points(raw)
            except ValueError:
                errors.append(RowError(line, name, f"{raw!r} is not a number"))
                continue
            if crit is not None and not 0 <= values[name] <= crit.max_points + 1e-9:
                errors.append(RowError(line, name, f"{raw} is outside 0..{crit.max_points:g}, the maximum of {crit.id}"))
        if len(row["evidence"]) > 500:
            errors.append(RowError(line, "evidence", "is longer than 500 characters"))
        key = (row["unit"], row["criterion"])
        if key in seen:
            errors.append(RowError(line, "criterion", f"{row['unit']} {row['criterion']} appears twice (also on line {seen[key]})"))
        else:
            seen[key] = line
        if len(errors) == n:
            parsed.append((line, unit.id, crit.id, values["self_points"], values["council_points"], row["evidence"]))  # type: ignore[union-attr,arg-type]
    _stop(errors)
    if not parsed:
        raise CsvImportError([RowError(2, "row", "the file has no rows")])
    existing = {
        (a.unit_id, a.criterion_id): a
        for a in await session.scalars(select(Appraisal).where(Appraisal.year == year, Appraisal.methodology_id == m.id))
    }
    created = updated = 0
    try:
        for _line, unit_id, cid, self_p, council, evidence in parsed:
            a = existing.get((unit_id, cid))
            if a is None:
                session.add(Appraisal(year=year, methodology_id=m.id, unit_id=unit_id, criterion_id=cid, self_points=self_p,
                                      council_points=council, evidence=evidence, imported_by=actor))
                created += 1
            elif (a.self_points, a.council_points, a.evidence) != (self_p, council, evidence):
                a.self_points, a.council_points, a.evidence, a.imported_by = self_p, council, evidence, actor
                a.imported_at = datetime.now(UTC)
                updated += 1
        audit.record(session, actor, "par.import_appraisal", "methodology", m.id, year=year, rows=len(parsed), created=created, updated=updated)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ImportResult(rows=len(parsed), created=created, updated=updated)


async def appraisal_rows(session: AsyncSession, *, year: int, methodology_id: str, lang: str = "vi") -> list[AppraisalRow]:
    """Every imported appraisal row with the council-minus-self difference."""
    m = meth.get(methodology_id)
    q = (
        select(Appraisal, Unit.code, Unit.name)
        .join(Unit, Unit.id == Appraisal.unit_id)
        .where(Appraisal.year == year, Appraisal.methodology_id == m.id)
        .order_by(Unit.code, Appraisal.id)
    )
    out = []
    for a, code, name in (await session.execute(q)).all():
        c = m.criterion(a.criterion_id)
        out.append(AppraisalRow(
            unit_code=code, unit_name=name, criterion_id=a.criterion_id, criterion_label=c.label.in_(lang) if c else a.criterion_id,
            max_points=c.max_points if c else 0.0, self_points=a.self_points, council_points=a.council_points,
            difference=None if a.self_points is None else round(a.council_points - a.self_points, 4), evidence=a.evidence,
        ))
    return out


def appraisal_by_unit(rows: list[AppraisalRow]) -> list[dict]:
    """Per unit: self total, council total, difference, and the rows (for the admin page)."""
    units: dict[str, dict] = {}
    for r in rows:
        u = units.setdefault(r.unit_code, {"code": r.unit_code, "name": r.unit_name, "self": 0.0, "council": 0.0, "self_missing": 0, "rows": []})
        u["rows"].append(r)
        u["council"] += r.council_points
        if r.self_points is None:
            u["self_missing"] += 1
        else:
            u["self"] += r.self_points
    for u in units.values():
        u["difference"] = round(u["council"] - u["self"], 2)
    return list(units.values())


# --------------------------------------------------------------------------- satisfaction from an index run


SatisfactionValues = Mapping[str, Mapping[str, float]]  # unit code -> {"sipas" | "pillar:<id>" | "admin_766": share}


async def satisfaction_from_run(session: AsyncSession, run_id: int) -> dict[str, dict[str, float]]:
    """The unit cells of an index run (CONTRACT §2): SIPAS, pillars and the 766 rate per unit code."""
    try:
        from survey.indices import services as indices
    except ModuleNotFoundError:
        raise ParInputError("index runs are not available in this build") from None
    try:
        run = await indices.get_run(session, run_id)
    except LookupError:
        raise ParInputError(f"index run {run_id} does not exist") from None
    if run is None:
        raise ParInputError(f"index run {run_id} does not exist")
    out: dict[str, dict[str, float]] = {}
    for cell in run.cells:
        if cell.domain != "unit" or cell.estimate is None:
            continue
        if cell.measure == "sipas":
            key = "sipas"
        elif cell.measure == "pillar":
            key = f"pillar:{cell.measure_code}"
        elif cell.measure == "admin_766":
            key = "admin_766"
        else:
            continue
        out.setdefault(cell.domain_code, {})[key] = float(cell.estimate)
    return out


# --------------------------------------------------------------------------- composition


@dataclass(frozen=True, slots=True)
class SurveyAggregate:
    """Mean share over raters of one unit on one survey criterion."""

    mean: float
    n_raters: int


async def _assert_methodology_unchanged(session: AsyncSession, m: meth.Methodology) -> None:
    used = await session.scalar(
        select(Composition.id).where(Composition.methodology_id == m.id, Composition.methodology_sha256 != m.sha256).limit(1)
    )
    if used is not None:
        raise MethodologyChanged(
            f"{Path(m.path).name}: the methodology {m.id} was changed after composition {used} used it; "
            "put the change in a new file with a new id"
        )


def _hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


async def compose_block(
    session: AsyncSession,
    *,
    year: int,
    methodology_id: str,
    block: str,
    actor: str,
    index_run_id: int | None = None,
    satisfaction: SatisfactionValues | None = None,
    panel_ids: list[int] | None = None,
    previous_composition_id: int | None = None,
) -> CompositionRead:
    """Compose and store one block's ranking for ``year``; returns the stored composition.

    Satisfaction comes from the index run ``index_run_id`` (or, for tests and imports, ``satisfaction``);
    survey points from the submitted ratings of ``panel_ids`` (default: every panel of the year); the
    previous ranking from ``previous_composition_id`` (default: the published one of ``year - 1``).
    """
    from survey.experts import services as experts

    m = meth.get(methodology_id)
    blk = next((b for b in m.blocks if b.code == block), None)
    if blk is None:
        raise ParInputError(f"block {block!r} is not one of {', '.join(b.code for b in m.blocks)} in {m.id}")
    await _assert_methodology_unchanged(session, m)
    if satisfaction is None and index_run_id is not None:
        satisfaction = await satisfaction_from_run(session, index_run_id)
    satisfaction = satisfaction or {}
    units = list(await session.scalars(select(Unit).where(Unit.kind.in_(blk.unit_kinds), Unit.active.is_(True)).order_by(Unit.code)))
    appraisals = list(await session.scalars(
        select(Appraisal).where(Appraisal.year == year, Appraisal.methodology_id == m.id, Appraisal.unit_id.in_([u.id for u in units]))
    ))
    by_unit: dict[int, dict[str, Appraisal]] = {}
    for a in appraisals:
        by_unit.setdefault(a.unit_id, {})[a.criterion_id] = a
    units = [u for u in units if u.id in by_unit]
    if not units:
        raise ParInputError(f"no appraisal points for block {block} in {year} ({m.id}): import them first")
    if panel_ids is None:
        panel_ids = await experts.panel_ids_for_year(session, year)
    survey = await experts.aggregate(session, panel_ids, m) if panel_ids else {}

    crits = m.criteria
    n, k = len(units), len(crits)
    points = np.full((n, k), np.nan)
    applicable = np.zeros((n, k), dtype=bool)
    values = np.full((n, k), np.nan)
    n_raters = np.zeros((n, k), dtype=np.int64)
    for i, u in enumerate(units):
        sat = satisfaction.get(u.code, {})
        for j, c in enumerate(crits):
            applicable[i, j] = m.applies(c, u.kind)
            if not applicable[i, j]:
                continue
            if c.source in ("appraisal", "bonus_penalty"):
                a = by_unit[u.id].get(c.id)
                if a is not None:
                    values[i, j] = a.council_points
                elif c.source == "bonus_penalty":
                    values[i, j] = 0.0  # no bonus or penalty given
            elif c.source == "expert_survey":
                agg = survey.get((u.id, c.id))
                if agg is not None:
                    n_raters[i, j] = agg.n_raters
                    if agg.n_raters >= m.min_raters:
                        values[i, j] = agg.mean
            elif c.source == "sipas":
                key = "sipas" if c.measure == "sipas" else f"pillar:{c.measure_code}"
                if key in sat:
                    values[i, j] = sat[key]
            elif c.source == "admin_766" and "admin_766" in sat:
                values[i, j] = sat["admin_766"]
            if not np.isnan(values[i, j]):
                points[i, j] = c.points(float(values[i, j]))
    component = np.array([ranking.COMPONENTS.index(c.component) for c in crits], dtype=np.int64)
    max_points = np.array([c.max_points for c in crits])

    previous = None
    if previous_composition_id is None:
        previous_composition_id = await session.scalar(
            select(Composition.id).where(Composition.year == year - 1, Composition.block == block, Composition.status == "published")
            .order_by(Composition.id.desc()).limit(1)
        )
    prev_rank = np.full(n, np.nan)
    if previous_composition_id is not None:
        previous = dict((await session.execute(
            select(CompositionResult.unit_code, CompositionResult.rank).where(CompositionResult.composition_id == previous_composition_id)
        )).all())
        if not previous and await session.get(Composition, previous_composition_id) is None:
            raise ParInputError(f"previous composition {previous_composition_id} does not exist")
        prev_rank = np.array([previous.get(u.code, np.nan) for u in units], dtype=float)

    r = ranking.compose(
        points, applicable, component, max_points, np.zeros(n, dtype=np.int64), rescale=m.rescale_when_absent,
        decimals=m.decimals, previous_rank=prev_rank, class_min=np.array([c.min for c in m.classes]),
    )
    inputs = {
        "methodology": m.sha256, "year": year, "block": block, "index_run_id": index_run_id, "panels": sorted(panel_ids),
        "values": {u.code: {c.id: (None if np.isnan(values[i, j]) else round(float(values[i, j]), 10)) for j, c in enumerate(crits)} for i, u in enumerate(units)},
        "n_raters": {u.code: {c.id: int(n_raters[i, j]) for j, c in enumerate(crits) if n_raters[i, j]} for i, u in enumerate(units)},
        "previous": previous_composition_id,
    }
    stats = r.block_stats
    missing_sat = [u.code for u in units if u.code not in satisfaction]
    few_raters = sorted({u.code for i, u in enumerate(units) for j, c in enumerate(crits)
                         if c.source == "expert_survey" and applicable[i, j] and np.isnan(values[i, j])})
    summary = {
        "n": int(stats.n[0]), "top": float(stats.top[0]), "bottom": float(stats.bottom[0]),
        "spread": round(float(stats.spread[0]), m.decimals), "top_half_gap": round(float(stats.top_half_gap[0]), m.decimals),
        "top_half_size": int((stats.n[0] + 1) // 2),
        "satisfaction_source": {"index_run_id": index_run_id} if index_run_id is not None else {"values": "given" if satisfaction else "none"},
        "min_raters": m.min_raters, "trim": m.trim, "rescale_when_absent": m.rescale_when_absent,
        "units_without_satisfaction": missing_sat, "units_with_too_few_raters": few_raters,
        "maxima": {c: m.maximum(c) for c in ranking.COMPONENTS},
    }
    comp = Composition(
        year=year, methodology_id=m.id, methodology_sha256=m.sha256, block=block, block_label=blk.label.vi,
        index_run_id=index_run_id, panel_ids=sorted(panel_ids), previous_composition_id=previous_composition_id,
        inputs_hash=_hash(inputs), summary=summary, status="draft", created_by=actor,
    )
    try:
        session.add(comp)
        await session.flush()
        classes = [c.code for c in m.classes]
        for i, u in enumerate(units):
            breakdown = {}
            for j, c in enumerate(crits):
                if not applicable[i, j]:
                    continue
                a = by_unit[u.id].get(c.id)
                breakdown[c.id] = {
                    "value": None if np.isnan(values[i, j]) else round(float(values[i, j]), 6),
                    "points": None if np.isnan(points[i, j]) else round(float(points[i, j]), 4),
                    "n_raters": int(n_raters[i, j]) if c.source == "expert_survey" else None,
                    "self_points": a.self_points if a is not None else None,
                }
            rc = r.rank_change[i]
            session.add(CompositionResult(
                composition_id=comp.id, unit_id=u.id, unit_code=u.code, unit_name=u.name, unit_kind=u.kind,
                total=float(r.total[i]), appraisal=float(r.components[i, 0]), survey=float(r.components[i, 1]),
                satisfaction=float(r.components[i, 2]), bonus=float(r.components[i, 3]), penalty=float(r.components[i, 4]),
                rescale_factor=round(float(r.rescale_factor[i]), 6), rank=int(r.rank[i]), appraisal_rank=int(r.appraisal_rank[i]),
                previous_rank=None if np.isnan(prev_rank[i]) else int(prev_rank[i]), rank_change=None if np.isnan(rc) else int(rc),
                unit_class=classes[r.class_index[i]] if r.class_index[i] >= 0 else "", breakdown=breakdown,
            ))
        audit.record(session, actor, "par.compose", "par_composition", comp.id, year=year, methodology=m.id, block=block,
                     inputs_hash=comp.inputs_hash, units=n)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return await get_composition(session, comp.id)


def _summary(c: Composition, n_units: int) -> CompositionSummary:
    return CompositionSummary(
        id=c.id, year=c.year, methodology_id=c.methodology_id, block=c.block, block_label=c.block_label, status=c.status,
        inputs_hash=c.inputs_hash, index_run_id=c.index_run_id, created_by=c.created_by, created_at=c.created_at,
        published_at=c.published_at, n_units=n_units,
    )


async def list_compositions(session: AsyncSession, *, year: int | None = None) -> list[CompositionSummary]:
    counts = (
        select(CompositionResult.composition_id, func.count().label("n")).group_by(CompositionResult.composition_id).subquery()
    )
    q = select(Composition, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.composition_id == Composition.id)
    if year is not None:
        q = q.where(Composition.year == year)
    rows = (await session.execute(q.order_by(Composition.year.desc(), Composition.block, Composition.id.desc()))).all()
    return [_summary(c, n) for c, n in rows]


async def get_composition(session: AsyncSession, composition_id: int) -> CompositionRead:
    c = await session.get(Composition, composition_id)
    if c is None:
        raise LookupError(f"composition {composition_id} does not exist")
    rows = await session.scalars(
        select(CompositionResult).where(CompositionResult.composition_id == c.id).order_by(CompositionResult.rank, CompositionResult.unit_code)
    )
    results = [
        ResultRow(
            unit_code=r.unit_code, unit_name=r.unit_name, unit_kind=r.unit_kind, total=r.total, appraisal=r.appraisal, survey=r.survey,
            satisfaction=r.satisfaction, bonus=r.bonus, penalty=r.penalty, rescale_factor=r.rescale_factor, rank=r.rank,
            appraisal_rank=r.appraisal_rank, previous_rank=r.previous_rank, rank_change=r.rank_change, unit_class=r.unit_class,
            breakdown=r.breakdown,
        )
        for r in rows
    ]
    return CompositionRead(
        id=c.id, year=c.year, methodology_id=c.methodology_id, methodology_sha256=c.methodology_sha256, block=c.block,
        block_label=c.block_label, status=c.status, inputs_hash=c.inputs_hash, index_run_id=c.index_run_id, panel_ids=list(c.panel_ids),
        previous_composition_id=c.previous_composition_id, summary=dict(c.summary), created_by=c.created_by, created_at=c.created_at,
        published_by=c.published_by, published_at=c.published_at, results=results,
    )


async def publish_composition(session: AsyncSession, composition_id: int, actor: str) -> CompositionRead:
    """Publish (and so freeze) a composition; one published composition per year and block."""
    c = await session.get(Composition, composition_id)
    if c is None:
        raise LookupError(f"composition {composition_id} does not exist")
    if c.status == "published":
        raise ParInputError(f"composition {c.id} is already published")
    other = await session.scalar(
        select(Composition.id).where(Composition.year == c.year, Composition.block == c.block, Composition.status == "published")
    )
    if other is not None:
        raise ParInputError(f"composition {other} is already the published ranking of block {c.block} for {c.year}")
    c.status, c.published_by, c.published_at = "published", actor, datetime.now(UTC)
    audit.record(session, actor, "par.publish", "par_composition", c.id, year=c.year, block=c.block, inputs_hash=c.inputs_hash)
    await session.commit()
    return await get_composition(session, c.id)


async def discard_draft(session: AsyncSession, composition_id: int, actor: str) -> None:
    c = await session.get(Composition, composition_id)
    if c is None:
        raise LookupError(f"composition {composition_id} does not exist")
    if c.status == "published":
        raise ParInputError("a published composition is frozen")
    await session.execute(delete(CompositionResult).where(CompositionResult.composition_id == c.id))
    await session.delete(c)
    audit.record(session, actor, "par.discard", "par_composition", composition_id)
    await session.commit()


async def published_rankings(session: AsyncSession, *, year: int | None = None) -> list[CompositionRead]:
    """The published rankings (every block) of ``year`` (default: the latest year with one) — for /cong-khai and reports."""
    if year is None:
        year = await session.scalar(select(func.max(Composition.year)).where(Composition.status == "published"))
        if year is None:
            return []
    rows = (await session.execute(
        select(Composition.id, Composition.methodology_id, Composition.block).where(Composition.year == year, Composition.status == "published")
    )).all()
    rows.sort(key=lambda r: meth.block_order(r.methodology_id, r.block))
    return [await get_composition(session, r.id) for r in rows]
