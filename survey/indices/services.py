"""Index runs: stored responses + design -> ``analysis`` -> stored, immutable cells (CONTRACT.md §2).

A run is a pure function of its inputs: the responses that pass the exclusion rules, their weights
and the parameters (methodology version, period, campaign, minimum cell size ...).  Its ``inputs_hash``
is the sha256 of exactly those; the same inputs give the same hash and the same numbers, so creating a
run whose hash is already stored returns the stored run.  A run and its cells are written in one
transaction with the audit entry; publishing is the only change a run ever sees (database triggers
refuse anything else).  Pages and reports read stored runs; they never recompute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.db.base import utcnow
from survey.db.models import IndexCell, IndexRun, SamplingCampaign
from survey.db.models.indices import RUN_SOURCES
from survey.indices import compute
from survey.indices.integrity import kiosk_window_excess
from survey.indices.methodology import DEFAULT_METHODOLOGY, Methodology, UnknownMethodology, get_methodology
from survey.indices.schemas import (
    SAMPLE_LABEL,
    SAMPLE_LABEL_EN,
    SELF_SELECTED_LABEL,
    SELF_SELECTED_LABEL_EN,
    CellRead,
    RunRead,
    RunSummary,
)
from survey.questionnaires import registry
from survey.responses.validation import FieldError
from survey.settings import Settings
from survey.stats import (
    CHANNEL_CODES,
    RECEIPT_CHANNEL_CODES,
    IndexResponses,
    load_campaign_members,
    load_index_responses,
    load_receipt_counts,
    load_units,
)

__all__ = [
    "DEFAULT_METHODOLOGY",
    "ComputedRun",
    "IndexRunError",
    "RunNotFound",
    "compute_run",
    "create_run",
    "list_runs",
    "get_run",
    "publish_run",
    "latest_published",
    "headline_run",
]

#: Progress callback: (stage, done, total)
Progress = Callable[[str, int, int], None]
RECEIPT_CHANNEL_LABELS = {"direct": "Trực tiếp", "online": "Trực tuyến", "postal": "Bưu chính"}
CELL_INSERT_CHUNK = 2000
#: the order exclusion rules are applied in (each response is counted under the first rule that removes it)
EXCLUSION_RULES = ("review_pending", "review_rejected", "questionnaire", "kiosk_window_excess", "no_answer")


class IndexRunError(ValueError):
    """Bad run request or inputs: names the field, in Vietnamese and English. Nothing was written."""

    def __init__(self, fld: str, vi: str, en: str):
        super().__init__(f"{fld}: {en}")
        self.errors = [FieldError(fld, vi, en)]
        self.field = fld
        self.message_vi = vi
        self.message_en = en


class RunNotFound(LookupError):
    def __init__(self, run_id: int):
        super().__init__(f"no index run #{run_id}")
        self.run_id = run_id


@dataclass(slots=True)
class ComputedRun:
    """A computed, not yet stored run (what ``create_run`` stores; exports of microdata reuse it)."""

    period_start: date
    period_end: date
    source: str
    campaign_id: int | None
    methodology_version: str
    questionnaire_id: str
    parameters: dict[str, Any]
    summary: dict[str, Any]
    cells: list[dict[str, Any]]
    inputs_hash: str
    respondents: IndexResponses
    weights: np.ndarray
    strata: np.ndarray
    psu: np.ndarray
    unit_info: dict[int, compute.UnitInfo] = field(default_factory=dict)


def _progress(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def _compatible_questionnaires(items: set[str]) -> set[str]:
    """Questionnaires whose items all belong to the run's questionnaire (kiosk taps fit the short form)."""
    return {qid for (qid, _v), q in registry.all_questionnaires().items() if set(q.item_ids()) <= items}


def _check_request(period_start: date, period_end: date, source: str, campaign_id: int | None, methodology_version: str) -> Methodology:
    if period_end < period_start:
        raise IndexRunError("period_end", "Ngày kết thúc kỳ phải sau ngày bắt đầu.", f"period_end {period_end} is before period_start {period_start}.")
    if source not in RUN_SOURCES:
        raise IndexRunError("source", "Nguồn dữ liệu phải là sample hoặc self_selected.", f"source must be one of {', '.join(RUN_SOURCES)}, got {source!r}.")
    if source == "sample" and campaign_id is None:
        raise IndexRunError("campaign_id", "Chỉ số từ mẫu xác suất cần đợt khảo sát (campaign).", "A sample run needs a campaign_id.")
    if source == "self_selected" and campaign_id is not None:
        raise IndexRunError("campaign_id", "Chỉ số tự nguyện không gắn với đợt khảo sát chọn mẫu.", "A self-selected run takes no campaign_id.")
    try:
        return get_methodology(methodology_version)
    except UnknownMethodology as exc:
        raise IndexRunError("methodology_version", f"Phiên bản phương pháp “{methodology_version}” không tồn tại.", str(exc).capitalize() + ".") from None


def _unit_group_codes(resp: IndexResponses, units: dict[int, compute.UnitInfo]) -> np.ndarray:
    """Unit group of every respondent as 0 (none), 1 (department), 2 (commune_level)."""
    top = max(units) if units else 0
    lookup = np.zeros(top + 1, dtype=np.int64)
    for uid, u in units.items():
        lookup[uid] = compute.GROUP_CODES.index(u.group) if u.group in compute.GROUP_CODES else 0
    return lookup[resp.unit_ids]


async def compute_run(
    session: AsyncSession,
    settings: Settings,
    *,
    period_start: date,
    period_end: date,
    source: str,
    campaign_id: int | None = None,
    methodology_version: str = DEFAULT_METHODOLOGY,
    progress: Progress | None = None,
) -> ComputedRun:
    """Compute a run without storing it. Raises IndexRunError (naming the field) on bad input."""
    meth = _check_request(period_start, period_end, source, campaign_id, methodology_version)
    min_n = int(settings.index_min_n)
    campaign = None
    if source == "sample":
        campaign = await session.get(SamplingCampaign, campaign_id)
        if campaign is None:
            raise IndexRunError("campaign_id", f"Không có đợt khảo sát số {campaign_id}.", f"No sampling campaign #{campaign_id}.")
        q = registry.get(campaign.questionnaire_id, campaign.questionnaire_version)
    else:
        q = registry.get(meth.self_selected_questionnaire)
    items = q.item_ids()
    items_by_pillar = {p.id: [i.id for i in q.items_of(p.id)] for p in q.pillars if q.items_of(p.id)}
    areas = [o.id for o in q.expectations.options] if q.expectations else []
    units = {uid: compute.UnitInfo(code, name, kind) for uid, code, name, kind, _parent in await load_units(session)}
    unit_code = {uid: u.code for uid, u in units.items()}
    unit_name = {uid: u.name for uid, u in units.items()}
    compatible = [q.id] if source == "sample" else sorted(_compatible_questionnaires(set(items)))

    _progress(progress, "load", 0, 1)
    channels = ("campaign",) if source == "sample" else (*meth.self_selected_channels, "campaign")
    loaded = await load_index_responses(
        session, period_start=period_start, period_end=period_end, items=items, areas=areas, channels=channels,
        questionnaires=compatible, timezone=settings.timezone, campaign_id=campaign_id,
    )
    _progress(progress, "load", 1, 1)

    # ---- exclusions, in rule order; each response is counted under the first rule that removes it
    n_loaded = len(loaded)
    in_scope = np.ones(n_loaded, bool) if source == "sample" else loaded.channel_is(*meth.self_selected_channels)
    keep = in_scope.copy()
    exclusions: dict[str, int] = {}

    def drop(rule: str, mask: np.ndarray) -> None:
        hit = keep & mask
        exclusions[rule] = int(hit.sum())
        keep[hit] = False

    drop("review_pending", loaded.review_is("pending"))
    drop("review_rejected", loaded.review_is("rejected"))
    drop("questionnaire", loaded.questionnaire_codes == 0)
    integrity_devices: list[dict[str, Any]] = []
    if source == "self_selected":
        rule = kiosk_window_excess(
            loaded.device_ids, loaded.unit_ids, loaded.day, loaded.overall,
            is_kiosk=keep & loaded.channel_is("kiosk"), is_reference=loaded.channel_is("qr", "campaign") & loaded.review_is("accepted"),
            window_days=meth.kiosk_window_days, alpha=meth.kiosk_window_alpha,
            min_device=meth.kiosk_window_min_device, min_reference=meth.kiosk_window_min_reference,
        )
        drop("kiosk_window_excess", rule.flagged)
        integrity_devices = rule.devices
    else:
        exclusions["kiosk_window_excess"] = 0
    drop("no_answer", (loaded.overall == 0) & ~(loaded.answers > 0).any(axis=1))
    resp = loaded if keep.all() else loaded.take(keep)  # a boolean mask: one byte per row read per column, not an 8-byte index
    del loaded  # the respondents kept are a copy: the rest is not held through the estimation
    n = len(resp)

    if n == 0:
        if source == "sample":
            raise IndexRunError(
                "campaign_id",
                f"Đợt khảo sát {campaign_id} chưa có người trả lời nào trong kỳ {period_start:%d/%m/%Y}–{period_end:%d/%m/%Y}.",
                f"Campaign #{campaign_id} has no respondents in {period_start}..{period_end}.",
            )
        raise IndexRunError(
            "period", f"Không có phiếu trả lời nào trong kỳ {period_start:%d/%m/%Y}–{period_end:%d/%m/%Y}.",
            f"No responses in the period {period_start}..{period_end}.",
        )

    field_names = resp.field_names
    field_index = {f: i for i, f in enumerate(field_names)}
    groups_u = _unit_group_codes(resp, units)
    if source == "sample":
        chan, chan_names, chan_labels = resp.receipt_channel_codes, RECEIPT_CHANNEL_CODES, RECEIPT_CHANNEL_LABELS
    else:
        chan, chan_names, chan_labels = resp.channel_codes, CHANNEL_CODES, compute.CHANNEL_LABELS

    # ---- weights
    _progress(progress, "weights", 0, 1)
    labels = {"unit": resp.unit_ids, "field": resp.field_codes}
    unknown = {"unit": None, "field": 0}
    names = {"unit": unit_code, "field": dict(enumerate(field_names))}
    receipts = await load_receipt_counts(
        session, period_start=period_start, period_end=period_end, timezone=settings.timezone, dissatisfied=meth.dissatisfied
    )
    rec_codes = np.array([unit_code[int(u)] for u in receipts.unit_ids.tolist()], dtype=object)
    response_rates: dict[str, Any] = {}
    if source == "sample":
        assert campaign is not None
        members = await load_campaign_members(session, campaign.id)
        code_to_id = {u.code: uid for uid, u in units.items()}
        fc = campaign.frame_counts or {}
        frame_counts = {
            "unit": {code_to_id[c]: v for c, v in (fc.get("unit") or {}).items() if c in code_to_id},
            "field": {field_index[f]: v for f, v in (fc.get("field") or {}).items() if f in field_index and f},
        }
        stratum_population = {str(r["stratum"]): int(r.get("population", 0)) for r in (campaign.allocation or [])}
        pos = {int(m): i for i, m in enumerate(members.member_ids.tolist())}
        take = np.array([pos[int(m)] for m in resp.member_ids.tolist()], dtype=np.intp)
        wt = compute.sample_weighting(
            resp_member_ids=resp.member_ids, resp_strata=members.strata[take], members=members,
            stratum_population=stratum_population, labels=labels, unknown=unknown, frame_counts=frame_counts, names=names, meth=meth,
        )
        response_rates = _response_rates(members.status.tolist())
    else:
        frame_counts = {
            "unit": _count_by(receipts.unit_ids, receipts.dossiers),
            "field": _count_by(np.array([field_index.get(f, 0) for f in receipts.fields.tolist()]), receipts.dossiers),
        }
        frame_counts["field"].pop(0, None)
        wt = compute.self_selected_weighting(labels, unknown, frame_counts, names, meth)
    _progress(progress, "weights", 1, 1)

    # ---- estimates per domain
    group_codes = {1: "department", 2: "commune_level"}
    province_label = next((u.name for u in units.values() if u.kind == "province"), "Toàn tỉnh")
    exp_codes = [i + 1 for i, qid in enumerate(compatible) if registry.get(qid).expectations]
    exp_mask = np.isin(resp.questionnaire_codes, exp_codes) if areas else None
    domains = [
        ("province", None, {}, {"": province_label}),
        ("unit_group", np.where(groups_u > 0, groups_u, -1), group_codes, compute.UNIT_GROUP_LABELS),
        ("unit", resp.unit_ids, unit_code, {unit_code[u]: unit_name[u] for u in units}),
        ("field", np.where(resp.field_codes > 0, resp.field_codes, -1), dict(enumerate(field_names)), {f: f for f in field_names}),
        ("channel", np.where(chan > 0, chan, -1), dict(enumerate(chan_names)), chan_labels),
    ]
    _progress(progress, "estimate", 0, 1)
    cells: list[dict[str, Any]] = compute.estimate_domains(
        domains, answers=resp.answers, overall=resp.overall, chosen=resp.chosen if areas else None,
        chosen_mask=exp_mask, design=wt.design, items=items, items_by_pillar=items_by_pillar, areas=areas, meth=meth,
    )
    _progress(progress, "estimate", 1, 1)

    # ---- QĐ 766 administrative rate from the receipts
    rec_groups = np.array([units[int(u)].group for u in receipts.unit_ids.tolist()], dtype=object)
    adm_cells, adm_detail = compute.admin_766_cells(
        {
            "province": (np.full(len(receipts), "", dtype=object), {"": province_label}),
            "unit_group": (rec_groups, compute.UNIT_GROUP_LABELS),
            "unit": (rec_codes, {u.code: u.name for u in units.values()}),
            "field": (receipts.fields, {f: f for f in receipts.fields.astype(str).tolist()}),
        },
        receipts.dossiers, receipts.overdue, receipts.dissatisfied, meth.admin_766_full_points_at,
    )
    cells += adm_cells

    # ---- small cells: Fay-Herriot with unit covariates (766 rate, kind, size) or suppressed
    covariates = {}
    kinds = {u.code: u.kind for u in units.values()}
    for code, d in (adm_detail.get("unit") or {}).items():
        covariates[code] = [d["rate"], 1.0 if kinds.get(code) == "department" else 0.0, math.log1p(d["dossiers"])]
    small = compute.apply_small_cells(cells, min_n, covariates, meth)

    is_self = source == "self_selected"
    label, label_en = (SELF_SELECTED_LABEL, SELF_SELECTED_LABEL_EN) if is_self else (SAMPLE_LABEL, SAMPLE_LABEL_EN)
    parameters = {
        "methodology": meth.as_dict(),
        "methodology_version": meth.version,
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "source": source,
        "campaign_id": campaign_id,
        "questionnaire": {"id": q.id, "version": q.version, "checksum": q.checksum},
        "compatible_questionnaires": compatible,
        "min_n": min_n,
        "level": meth.level,
        "interval": meth.interval,
        "channels": list(channels if source == "sample" else meth.self_selected_channels),
        "channel_domain": "receipt channel (how the dossier was submitted)" if source == "sample" else "response channel",
        "raking_margins": list(labels),
        "trimming": None,
        "timezone": settings.timezone,
        "exclusion_rules": list(EXCLUSION_RULES),
        "sample_label": label,
        # what else the numbers depend on: the receipts' counts (raking margins, QĐ 766) and the units
        "inputs": {
            "receipts_sha256": compute.digest(receipts.unit_ids, receipts.fields, receipts.dossiers, receipts.overdue, receipts.dissatisfied),
            "units_sha256": compute.digest(*zip(*[(i, u.code, u.name, u.kind) for i, u in sorted(units.items())], strict=True)),
            "dossiers": receipts.total,
        },
    }
    ih = compute.inputs_hash(resp.response_ids, wt.weights, parameters)
    ch_counts_all = np.bincount(resp.channel_codes.astype(np.intp), minlength=len(CHANNEL_CODES))  # one-digit codes: no sort
    ch_codes = np.flatnonzero(ch_counts_all)
    ch_counts = ch_counts_all[ch_codes]
    summary = {
        "n_respondents": n,
        "n_loaded": int(in_scope.sum()),
        "n_reference_only": int((~in_scope).sum()),
        "exclusions": exclusions,
        "response_rates": response_rates,
        "weighting": {k: v for k, v in wt.info.items() if k not in ("uncovered", "self_representing")},
        "coverage": {"uncovered": wt.info.get("uncovered", {}), "self_representing": wt.info.get("self_representing", {})},
        "composition": wt.composition,
        "fieldwork": {"first_day": str(resp.day.min()), "last_day": str(resp.day.max())},
        "channels": {CHANNEL_CODES[int(c)]: int(k) for c, k in zip(ch_codes.tolist(), ch_counts.tolist(), strict=True)},
        "small_cells": small,
        "integrity": {"kiosk_window": integrity_devices},
        "admin_766": {
            "note": "QĐ 766/QĐ-TTg: 1 − overdue share − share of dossiers rated “không hài lòng”; counts non-raters as satisfied, not a survey estimate. Complaints are not recorded with receipts, so none are counted.",
            "full_points_at": meth.admin_766_full_points_at,
            "by_domain": adm_detail,
        },
        "sample_label": label,
        "sample_label_en": label_en,
        "is_self_selected": is_self,
    }
    return ComputedRun(
        period_start=period_start, period_end=period_end, source=source, campaign_id=campaign_id,
        methodology_version=meth.version, questionnaire_id=q.id, parameters=parameters, summary=_json_safe(summary),
        cells=cells, inputs_hash=ih, respondents=resp, weights=wt.weights, strata=wt.strata, psu=wt.psu, unit_info=units,
    )


def _count_by(labels: np.ndarray, counts: np.ndarray) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for lab, c in zip(np.asarray(labels).tolist(), np.asarray(counts).tolist(), strict=True):
        out[lab] = out.get(lab, 0) + int(c)
    return out


def _response_rates(statuses: list[str]) -> dict[str, Any]:
    import sampling

    counts = dict.fromkeys(("I", "P", "R", "NC", "O", "UH", "UO"), 0)
    ne = 0
    for s in statuses:
        if s == "pending":
            counts["UO"] += 1
        elif s == "NE":
            ne += 1
        else:
            counts[s] += 1
    if not statuses:
        return {}
    rates = sampling.aapor_rates(**counts, NE=ne if ne else None)
    return {**{k: v for k, v in rates.as_dict().items() if k != "counts"}, "counts": {**counts, "NE": ne}}


def _json_safe(x: Any) -> Any:
    """NaN/inf -> None and numpy scalars -> Python, so the summary is valid JSON on both backends."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# --------------------------------------------------------------------------- storing and reading


def cell_read(c: Any) -> CellRead:
    g = c.get if isinstance(c, dict) else lambda k: getattr(c, k)
    return CellRead(
        domain=g("domain"), domain_code=g("domain_code"), domain_label=g("domain_label"), measure=g("measure"),
        measure_code=g("measure_code"), estimate=g("estimate"), se=g("se"), ci_low=g("ci_low"), ci_high=g("ci_high"),
        df=g("df"), deff=g("deff"), n_eff=g("n_eff"), n=int(g("n")), method=g("method"),
    )


def _label(source: str) -> str:
    return SELF_SELECTED_LABEL if source == "self_selected" else SAMPLE_LABEL


def _run_read(run: IndexRun, cells: list[Any]) -> RunRead:
    return RunRead(
        id=run.id, period_start=run.period_start, period_end=run.period_end, source=run.source, campaign_id=run.campaign_id,
        methodology_version=run.methodology_version, questionnaire_id=run.questionnaire_id, inputs_hash=run.inputs_hash,
        parameters=dict(run.parameters or {}), summary=dict(run.summary or {}), status=run.status, created_by=run.created_by,
        created_at=run.created_at, published_by=run.published_by, published_at=run.published_at,
        is_self_selected=run.source == "self_selected", sample_label=_label(run.source), cells=[cell_read(c) for c in cells],
    )


_CELL_ORDER = {d: i for i, d in enumerate(("province", "unit_group", "unit", "field", "channel"))}
_MEASURE_ORDER = {m: i for i, m in enumerate(("sipas", "pillar", "item", "overall", "mean_score", "expectation", "admin_766"))}


def cell_sort_key(c: Any) -> tuple:
    g = c.get if isinstance(c, dict) else lambda k: getattr(c, k)
    return (_CELL_ORDER.get(g("domain"), 9), g("domain_code"), _MEASURE_ORDER.get(g("measure"), 9), g("measure_code"))


async def create_run(
    session: AsyncSession,
    settings: Settings,
    *,
    period_start: date,
    period_end: date,
    source: str,
    campaign_id: int | None = None,
    methodology_version: str = DEFAULT_METHODOLOGY,
    actor: str,
    progress: Progress | None = None,
) -> RunRead:
    """Compute and store a draft run (one transaction with its audit entry).

    A run with the same inputs hash already stored is returned instead (same inputs, same numbers).
    """
    computed = await compute_run(
        session, settings, period_start=period_start, period_end=period_end, source=source, campaign_id=campaign_id,
        methodology_version=methodology_version, progress=progress,
    )
    return await store_run(session, computed, actor=actor, progress=progress)


async def store_run(session: AsyncSession, computed: ComputedRun, *, actor: str, progress: Progress | None = None) -> RunRead:
    """Store a computed run, or return the stored run with the same inputs hash."""
    return (await store_run_checked(session, computed, actor=actor, progress=progress))[0]


async def store_run_checked(session: AsyncSession, computed: ComputedRun, *, actor: str, progress: Progress | None = None) -> tuple[RunRead, bool]:
    """(run, created): ``created`` is False when a run with the same inputs hash was already stored."""
    existing = await session.scalar(select(IndexRun.id).where(IndexRun.inputs_hash == computed.inputs_hash).order_by(IndexRun.id).limit(1))
    if existing is not None:
        return await get_run(session, existing), False
    cells = sorted(computed.cells, key=cell_sort_key)
    try:
        run = IndexRun(
            period_start=computed.period_start, period_end=computed.period_end, source=computed.source,
            campaign_id=computed.campaign_id, methodology_version=computed.methodology_version,
            questionnaire_id=computed.questionnaire_id, inputs_hash=computed.inputs_hash, parameters=computed.parameters,
            summary=computed.summary, status="draft", created_by=actor, created_at=utcnow(),
        )
        session.add(run)
        await session.flush()
        rows = [{**c, "run_id": run.id} for c in cells]
        for i in range(0, len(rows), CELL_INSERT_CHUNK):
            await session.execute(insert(IndexCell), rows[i : i + CELL_INSERT_CHUNK])
            _progress(progress, "store", min(i + CELL_INSERT_CHUNK, len(rows)), len(rows))
        audit.record(
            session, actor, "indices.run", "index_run", run.id, source=run.source, campaign_id=run.campaign_id,
            period=f"{run.period_start}..{run.period_end}", methodology=run.methodology_version, inputs_hash=run.inputs_hash,
            n_respondents=computed.summary.get("n_respondents"), cells=len(rows),
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return _run_read(run, cells), True


def _summary(run: IndexRun, sipas: float | None) -> RunSummary:
    return RunSummary(
        id=run.id, period_start=run.period_start, period_end=run.period_end, source=run.source, campaign_id=run.campaign_id,
        methodology_version=run.methodology_version, questionnaire_id=run.questionnaire_id, inputs_hash=run.inputs_hash,
        status=run.status, created_by=run.created_by, created_at=run.created_at, published_by=run.published_by,
        published_at=run.published_at, n_respondents=int((run.summary or {}).get("n_respondents", 0)), sipas=sipas,
        is_self_selected=run.source == "self_selected", sample_label=_label(run.source),
    )


async def list_runs(session: AsyncSession) -> list[RunSummary]:
    """Every run, newest first, with its province SIPAS."""
    runs = (await session.execute(select(IndexRun).order_by(IndexRun.id.desc()))).scalars().all()
    sipas = dict(
        (await session.execute(
            select(IndexCell.run_id, IndexCell.estimate).where(IndexCell.domain == "province", IndexCell.measure == "sipas")
        )).all()
    )
    return [_summary(r, sipas.get(r.id)) for r in runs]


async def get_run(session: AsyncSession, run_id: int) -> RunRead:
    """The run with every cell; RunNotFound if there is none."""
    run = await session.get(IndexRun, run_id, populate_existing=True)
    if run is None:
        raise RunNotFound(run_id)
    cells = (await session.execute(select(IndexCell).where(IndexCell.run_id == run_id))).scalars().all()
    return _run_read(run, sorted(cells, key=cell_sort_key))


async def publish_run(session: AsyncSession, run_id: int, actor: str) -> RunRead:
    """Publish a draft run: from now on it is never changed. Publishing twice is an error."""
    run = await session.get(IndexRun, run_id)
    if run is None:
        raise RunNotFound(run_id)
    if run.status == "published":
        raise IndexRunError("run_id", f"Kết quả số {run_id} đã được công bố và không thay đổi được.", f"Run #{run_id} is already published and cannot change.")
    try:
        now = utcnow()
        await session.execute(
            update(IndexRun).where(IndexRun.id == run_id, IndexRun.status == "draft").values(status="published", published_by=actor, published_at=now)
        )
        audit.record(session, actor, "indices.publish", "index_run", run_id, source=run.source, inputs_hash=run.inputs_hash,
                     period=f"{run.period_start}..{run.period_end}")
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return await get_run(session, run_id)


async def latest_published(session: AsyncSession, *, source: str = "sample") -> RunRead | None:
    """The most recently published run of ``source`` (by period end, then publication)."""
    rid = await session.scalar(
        select(IndexRun.id).where(IndexRun.status == "published", IndexRun.source == source)
        .order_by(IndexRun.period_end.desc(), IndexRun.published_at.desc(), IndexRun.id.desc()).limit(1)
    )
    return None if rid is None else await get_run(session, rid)


async def headline_run(session: AsyncSession, period_start: date, period_end: date) -> RunRead | None:
    """The run that is *the index* for exactly this period: the latest published sample run.

    When any sample run exists for the period (even a draft), a self-selected run is never the
    headline: the result is the published sample run or None.  Only when the period has no sample run
    at all is the latest published self-selected run returned (and it is labelled as such).
    """
    base = select(IndexRun.id).where(IndexRun.period_start == period_start, IndexRun.period_end == period_end)
    sample = await session.scalar(
        base.where(IndexRun.source == "sample", IndexRun.status == "published").order_by(IndexRun.published_at.desc(), IndexRun.id.desc()).limit(1)
    )
    if sample is not None:
        return await get_run(session, sample)
    if await session.scalar(base.where(IndexRun.source == "sample").limit(1)) is not None:
        return None
    other = await session.scalar(
        base.where(IndexRun.source == "self_selected", IndexRun.status == "published").order_by(IndexRun.published_at.desc(), IndexRun.id.desc()).limit(1)
    )
    return None if other is None else await get_run(session, other)


# --------------------------------------------------------------------------- recomputing a stored run


class InputsChanged(IndexRunError):
    """The stored run's inputs are no longer what the database holds (e.g. a flagged response was reviewed)."""


async def recompute_run(session: AsyncSession, settings: Settings, run_id: int, progress: Progress | None = None) -> tuple[RunRead, ComputedRun]:
    """The stored run and its inputs recomputed (weights per respondent, for microdata); the inputs hash
    must match the stored one, else InputsChanged (nothing is exported from changed inputs)."""
    from dataclasses import replace

    run = await get_run(session, run_id)
    p = run.parameters
    # the run's own settings, whatever the environment says today
    settings = replace(settings, index_min_n=int(p.get("min_n", settings.index_min_n)), timezone=str(p.get("timezone", settings.timezone)))
    computed = await compute_run(
        session, settings, period_start=run.period_start, period_end=run.period_end, source=run.source, campaign_id=run.campaign_id,
        methodology_version=run.methodology_version, progress=progress,
    )
    if computed.inputs_hash != run.inputs_hash:
        raise InputsChanged(
            "run_id", f"Dữ liệu đầu vào của kết quả số {run_id} đã thay đổi (mã băm khác): hãy tạo kết quả mới.",
            f"The inputs of run #{run_id} have changed since it was made (different inputs hash): create a new run.",
        )
    return run, computed


def computed_run_read(computed: ComputedRun) -> RunRead:
    """A not-stored run as a RunRead (id 0, status "computed"), e.g. for microdata of a period."""
    return RunRead(
        id=0, period_start=computed.period_start, period_end=computed.period_end, source=computed.source,
        campaign_id=computed.campaign_id, methodology_version=computed.methodology_version, questionnaire_id=computed.questionnaire_id,
        inputs_hash=computed.inputs_hash, parameters=computed.parameters, summary=computed.summary, status="computed",
        created_by="", created_at=utcnow(), published_by=None, published_at=None, is_self_selected=computed.source == "self_selected",
        sample_label=_label(computed.source), cells=[cell_read(c) for c in sorted(computed.cells, key=cell_sort_key)],
    )


async def response_comments(session: AsyncSession, response_ids: np.ndarray) -> list[str]:
    """Free-text comments of the given responses, in that order ("" when none)."""
    from survey.db.models import Response

    ids = [x.decode("ascii").rstrip() if isinstance(x, bytes) else str(x) for x in np.asarray(response_ids).tolist()]
    found: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for rid, comment in (await session.execute(select(Response.id, Response.comment).where(Response.id.in_(chunk)))).all():
            found[rid] = comment or ""
    return [found.get(r, "") for r in ids]
