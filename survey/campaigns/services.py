"""Sampling campaigns: check a design, preview sizes per stratum, draw (seeded), invite, export, validate.

Arrays come from :mod:`survey.stats` (the one ORM → numpy adapter); the statistics come from the pure
:mod:`sampling` library.  A draw is one transaction: the campaign, its members and the audit entry are
committed together, or nothing is written.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import sampling
from survey import audit
from survey.db.base import utcnow
from survey.db.models import CampaignMember, SamplingCampaign
from survey.db.models.campaigns import MEMBER_STATUSES
from survey.questionnaires import registry
from survey.receipts.tokens import TokenError, TokenExpired, mint, verify
from survey.responses.validation import FieldError
from survey.settings import Settings
from survey.stats import STRATA_VARIABLES, Frame, FrameFilter, load_past_outcomes

ALLOCATIONS = ("proportional", "equal", "neyman", "power")
SIZE_METHODS = ("fixed", "slovin", "cochran")
#: Columns of the call list (CSV and .xlsx). The frame holds no personal data, so neither does this.
CALL_LIST_COLUMNS = (
    "member_no",
    "dossier_code",
    "unit",
    "procedure",
    "field",
    "received_on",
    "stratum",
    "inclusion_prob",
    "reserve",
    "order",
    "invitation_link",
)
INSERT_CHUNK = 1000
#: Progress callback: (stage, done, total).
Progress = Callable[[str, int, int], None]


class SamplingInputError(ValueError):
    """Bad design or frame: every problem names its field (Vietnamese and English). Nothing was written."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in errors))
        self.errors = errors


def _err(fld: str, vi: str, en: str) -> SamplingInputError:
    return SamplingInputError([FieldError(fld, vi, en)])


@dataclass(frozen=True, slots=True)
class SampleDesign:
    """What the statistician chooses. ``n`` is used with ``size_method="fixed"``; otherwise the margin."""

    name: str = ""
    strata: tuple[str, ...] = ("unit",)
    size_method: str = "fixed"
    n: int | None = None
    margin: float | None = None
    confidence: float = 0.95
    deff: float = 1.0
    response_rate: float = 1.0
    allocation: str = "proportional"
    power: float = 0.5
    minimum: int = 0
    seed: int | None = None
    reserve_fraction: float = 0.0
    questionnaire_id: str = "sipas-full"
    invitation_days: int = 60

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["strata"] = list(self.strata)
        return d


def check_design(design: SampleDesign) -> list[FieldError]:
    """Every problem with the design itself (before looking at the frame)."""
    errors: list[FieldError] = []
    if not design.name.strip():
        errors.append(FieldError("name", "Vui lòng đặt tên cho đợt khảo sát.", "Give the campaign a name."))
    elif len(design.name) > 200:
        errors.append(FieldError("name", "Tên tối đa 200 ký tự.", "The name has at most 200 characters."))
    for v in design.strata:
        if v not in STRATA_VARIABLES:
            errors.append(FieldError("strata", f"Biến phân tầng “{v}” không hợp lệ.", f"Unknown strata variable “{v}” (use {', '.join(STRATA_VARIABLES)})."))
    if len(set(design.strata)) != len(design.strata):
        errors.append(FieldError("strata", "Biến phân tầng bị lặp.", "A strata variable is repeated."))
    if design.size_method not in SIZE_METHODS:
        errors.append(FieldError("size_method", "Cách tính cỡ mẫu không hợp lệ.", f"size_method must be one of {', '.join(SIZE_METHODS)}."))
    elif design.size_method == "fixed":
        if design.n is None:
            errors.append(FieldError("n", "Vui lòng nhập cỡ mẫu n.", "Enter the sample size n."))
        elif design.n <= 0:
            errors.append(FieldError("n", f"Cỡ mẫu phải lớn hơn 0 (đang là {design.n}).", f"n must be greater than 0, got {design.n}."))
    else:
        if design.margin is None or not (0 < design.margin < 1):
            errors.append(FieldError("margin", "Sai số phải nằm trong (0; 1), ví dụ 0,05.", "margin must be in (0, 1), e.g. 0.05."))
        if not (0 < design.confidence < 1):
            errors.append(FieldError("confidence", "Độ tin cậy phải nằm trong (0; 1), ví dụ 0,95.", "confidence must be in (0, 1), e.g. 0.95."))
        if not (design.deff >= 1 and math.isfinite(design.deff)):
            errors.append(FieldError("deff", "Hiệu ứng thiết kế phải ≥ 1.", "deff must be ≥ 1."))
        if not (0 < design.response_rate <= 1):
            errors.append(FieldError("response_rate", "Tỷ lệ trả lời dự kiến phải trong (0; 1].", "response_rate must be in (0, 1]."))
    if design.allocation not in ALLOCATIONS:
        errors.append(FieldError("allocation", "Cách phân bổ không hợp lệ.", f"allocation must be one of {', '.join(ALLOCATIONS)}."))
    if not (0 <= design.power <= 1):
        errors.append(FieldError("power", "Số mũ phân bổ phải trong [0; 1].", "power must be in [0, 1]."))
    if design.minimum < 0:
        errors.append(FieldError("minimum", f"Cỡ mẫu tối thiểu mỗi tầng không được âm (đang là {design.minimum}).", f"minimum must be ≥ 0, got {design.minimum}."))
    if design.seed is not None and not (0 <= design.seed < 2**63):
        errors.append(FieldError("seed", "Hạt giống (seed) phải là số nguyên không âm.", "seed must be a non-negative integer."))
    if not (0 <= design.reserve_fraction <= 5):
        errors.append(FieldError("reserve_fraction", "Tỷ lệ mẫu dự phòng phải trong [0; 5].", "reserve_fraction must be in [0, 5]."))
    if not (1 <= design.invitation_days <= 3650):
        errors.append(FieldError("invitation_days", "Thời hạn lời mời phải từ 1 đến 3650 ngày.", "invitation_days must be 1..3650."))
    try:
        registry.get(design.questionnaire_id)
    except KeyError:
        errors.append(FieldError("questionnaire_id", "Phiếu hỏi không tồn tại.", f"Unknown questionnaire {design.questionnaire_id!r}."))
    return errors


def required_size(design: SampleDesign, frame_size: int) -> int:
    """The total sample size the design asks for on a frame of ``frame_size`` rows."""
    if design.size_method == "fixed":
        return int(design.n or 0)
    if design.size_method == "slovin":
        n = sampling.slovin(frame_size, design.margin)
        return int(min(frame_size, math.ceil(n * design.deff / design.response_rate)))
    return int(
        min(
            frame_size,
            sampling.sample_size_proportion(
                p=0.5, margin=design.margin, confidence=design.confidence, population=frame_size,
                deff=design.deff, response_rate=design.response_rate,
            ),
        )
    )


def check_requested_strata(frame: Frame, flt: FrameFilter | None, design: SampleDesign) -> None:
    """A unit / field / channel the user asked for that has no receipt in the frame is an empty stratum."""
    if flt is None:
        return
    requested = {"unit": flt.unit_codes, "field": flt.fields, "channel": flt.channels}
    for var in design.strata:
        wanted = requested.get(var) or ()
        if not wanted:
            continue
        present = set(frame.variable(var).astype(str).tolist())
        missing = [w for w in wanted if w not in present]
        if missing:
            names = ", ".join(missing)
            raise _err(
                var,
                f"Tầng rỗng: không có hồ sơ nào của {names} trong khung mẫu (kỳ và bộ lọc đã chọn).",
                f"Empty stratum: no receipt of {names} in the frame (chosen period and filters).",
            )


@dataclass(frozen=True, slots=True)
class Preview:
    frame_size: int
    n: int
    rows: list[dict[str, Any]]
    reserve_size: int
    empty_sample_strata: int
    #: English, for the command line (``warnings_vi`` holds the same in Vietnamese for the pages)
    warnings: list[str] = field(default_factory=list)
    warnings_vi: list[str] = field(default_factory=list)


async def _neyman_sd(session: AsyncSession, design: SampleDesign, labels: np.ndarray) -> np.ndarray:
    """Within-stratum SD of "satisfied" from past responses (≥ 20 in the stratum), else 0.5 (p = 0.5)."""
    past = await load_past_outcomes(session, design.strata)
    sd = np.full(labels.size, 0.5)
    if past.labels.size:
        pos = {str(lab): i for i, lab in enumerate(past.labels)}
        for j, lab in enumerate(labels):
            i = pos.get(str(lab))
            if i is not None and past.respondents[i] >= 20:
                p = float(past.satisfied_share[i])
                sd[j] = max(math.sqrt(p * (1 - p)), 0.05)
    return sd


async def plan(session: AsyncSession | None, frame: Frame, design: SampleDesign, flt: FrameFilter | None = None) -> tuple[np.ndarray, int, np.ndarray | None, Preview]:
    """Validate design against frame; return (stratum label per row, n, sd or None, preview). Raises SamplingInputError."""
    errors = check_design(design)
    if errors:
        raise SamplingInputError(errors)
    N = len(frame)
    if N == 0:
        raise _err("frame", "Khung mẫu rỗng: không có hồ sơ nào khớp kỳ và bộ lọc đã chọn.", "The frame is empty: no receipt matches the period and filters.")
    check_requested_strata(frame, flt, design)
    n = required_size(design, N)
    if n > N:
        raise _err("n", f"Cỡ mẫu n = {n} lớn hơn khung mẫu ({N} hồ sơ).", f"n = {n} is larger than the frame ({N} receipts).")
    labels_per_row = frame.strata(design.strata)
    labels, counts = np.unique(labels_per_row.astype(str), return_counts=True)
    sd = await _neyman_sd(session, design, labels) if design.allocation == "neyman" and session is not None else None
    if design.allocation == "neyman" and sd is None:
        sd = np.full(labels.size, 0.5)
    try:
        n_h = sampling.allocate(n, counts, method=design.allocation, sd=sd, power=design.power, minimum=design.minimum)
    except ValueError as exc:
        msg = str(exc)
        fld = "minimum" if msg.startswith("minimum") else "n"
        raise _err(fld, f"Không phân bổ được mẫu: {msg}", f"Cannot allocate the sample: {msg}") from None
    r_h = np.minimum(np.ceil(design.reserve_fraction * n_h - 1e-9).astype(np.int64), counts - n_h)
    rows = [
        {"stratum": str(lab), "population": int(Nh), "sample": int(nh), "reserve": int(rh), "fraction": float(nh) / float(Nh)}
        for lab, Nh, nh, rh in zip(labels, counts, n_h, r_h, strict=True)
    ]
    empty = int((n_h == 0).sum())
    warnings, warnings_vi = [], []
    if empty:
        warnings.append(f"{empty} stratum/strata get no sample (inclusion probability 0): raise n or set a minimum.")
        warnings_vi.append(f"{empty} tầng không được chọn mẫu nào (xác suất chọn bằng 0): tăng cỡ mẫu n hoặc đặt mức tối thiểu mỗi tầng.")
    return labels_per_row, n, sd, Preview(N, n, rows, int(r_h.sum()), empty, warnings, warnings_vi)


async def preview(session: AsyncSession | None, frame: Frame, design: SampleDesign, flt: FrameFilter | None = None) -> Preview:
    """Sizes per stratum for ``design`` on ``frame`` (nothing is drawn or written)."""
    return (await plan(session, frame, design, flt))[3]


@dataclass(frozen=True, slots=True)
class DrawResult:
    campaign_id: int
    seed: int
    preview: Preview


async def draw(
    session: AsyncSession,
    frame: Frame,
    design: SampleDesign,
    *,
    actor: str,
    frame_description: dict[str, Any],
    flt: FrameFilter | None = None,
    progress: Progress | None = None,
) -> DrawResult:
    """Draw the sample (seeded: same seed + same frame → same sample) and store the campaign in one transaction."""
    labels_per_row, n, sd, pv = await plan(session, frame, design, flt)
    seed = design.seed if design.seed is not None else secrets.randbelow(2**31)
    if progress:
        progress("draw", 0, 1)
    s = sampling.draw_stratified_sample(
        labels_per_row.astype(str), n, seed=seed, allocation=design.allocation, minimum=design.minimum,
        sd=sd, power=design.power, reserve_fraction=design.reserve_fraction,
    )
    if progress:
        progress("draw", 1, 1)
    q = registry.get(design.questionnaire_id)
    frame_counts = {"stratum": dict(zip(*[a.tolist() for a in np.unique(labels_per_row.astype(str), return_counts=True)], strict=True))}
    for var in ("unit", "field", "channel"):
        frame_counts[var] = frame.counts(var)
    campaign = SamplingCampaign(
        name=design.name.strip(),
        design={**design.as_dict(), "seed": seed, "n": n},
        frame_filter=frame_description,
        frame_source=frame.source,
        frame_size=len(frame),
        frame_counts=frame_counts,
        allocation=[{**r} for r in s.table()],
        sample_size=s.sample.n,
        reserve_size=s.reserve.n,
        seed=seed,
        questionnaire_id=q.id,
        questionnaire_version=q.version,
        invitations_expire_on=date.today() + timedelta(days=design.invitation_days),
        created_by=actor,
        drawn_at=utcnow(),
    )
    for row in campaign.allocation:
        row["stratum"] = str(row["stratum"])
    try:
        session.add(campaign)
        await session.flush()
        rows = _member_rows(campaign.id, frame, s)
        total = len(rows)
        for i in range(0, total, INSERT_CHUNK):
            await session.execute(insert(CampaignMember), rows[i : i + INSERT_CHUNK])
            if progress:
                progress("store", min(i + INSERT_CHUNK, total), total)
        audit.record(
            session, actor, "sampling.draw", "sampling_campaign", campaign.id,
            name=campaign.name, n=campaign.sample_size, reserve=campaign.reserve_size, frame_size=campaign.frame_size,
            seed=seed, strata=list(design.strata), allocation=design.allocation,
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return DrawResult(campaign.id, seed, pv)


def _member_rows(campaign_id: int, frame: Frame, s: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    no = 0
    for sel, is_reserve in ((s.sample, False), (s.reserve, True)):
        idx = sel.indices
        rids = frame.receipt_ids[idx].tolist()
        dossiers = frame.dossier_codes[idx].tolist()
        uids = frame.unit_ids[idx].tolist()
        ucodes = frame.unit_codes[idx].tolist()
        pids = frame.procedure_ids[idx].tolist()
        pcodes = frame.procedure_codes[idx].tolist()
        fields = frame.fields[idx].tolist()
        chans = frame.channels[idx].tolist()
        received = frame.received[idx].astype(object).tolist()
        strata = sel.strata.astype(str).tolist()
        probs = sel.probs.tolist()
        orders = sel.order.tolist()
        for j in range(len(idx)):
            no += 1
            out.append(
                {
                    "campaign_id": campaign_id, "member_no": no, "receipt_id": rids[j] or None, "dossier_code": dossiers[j],
                    "unit_id": uids[j], "unit_code": ucodes[j], "procedure_id": pids[j] or None, "procedure_code": pcodes[j],
                    "field": fields[j], "channel": chans[j], "received_on": received[j], "stratum": strata[j][:300],
                    "inclusion_prob": float(probs[j]), "selection_order": int(orders[j]), "is_reserve": is_reserve,
                    "status": "pending", "response_id": None, "updated_at": None,
                }
            )
    return out


# --------------------------------------------------------------------------- invitations


def invitation_token(settings: Settings, member_id: int, expires_on: date) -> str:
    kid, keys = settings.signing_keys()
    return mint("campaign", member_id, expires_on, kid, keys)


def invitation_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/c/{token}"


class InvitationNotFound(LookupError):
    pass


class InvitationExpired(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Invitation:
    """What a verified campaign token opens: ids, stratum and inclusion probability; no personal data."""

    token: str
    member_id: int
    campaign_id: int
    receipt_id: int | None
    unit_id: int
    procedure_id: int | None
    stratum: str
    inclusion_prob: float
    questionnaire_id: str
    questionnaire_version: int
    status: str


async def open_invitation(session: AsyncSession, token: str, settings: Settings, today: date) -> Invitation:
    _, keys = settings.signing_keys()
    try:
        claims = verify(token, "campaign", keys, today)
    except TokenExpired:
        raise InvitationExpired(token) from None
    except TokenError:
        raise InvitationNotFound(token) from None
    row = (
        await session.execute(
            select(CampaignMember, SamplingCampaign.questionnaire_id, SamplingCampaign.questionnaire_version)
            .join(SamplingCampaign, SamplingCampaign.id == CampaignMember.campaign_id)
            .where(CampaignMember.id == claims.subject_id)
        )
    ).first()
    if row is None:
        raise InvitationNotFound(token)
    m, qid, qver = row
    return Invitation(
        token=token.strip().upper(), member_id=m.id, campaign_id=m.campaign_id, receipt_id=m.receipt_id, unit_id=m.unit_id,
        procedure_id=m.procedure_id, stratum=m.stratum, inclusion_prob=m.inclusion_prob, questionnaire_id=qid,
        questionnaire_version=qver, status=m.status,
    )


def invitation_extra(inv: Invitation) -> dict[str, Any]:
    """What a campaign response carries into weighting (``Response.extra``).

    The receipt is named here rather than in ``Response.receipt_id``: that column's uniqueness is the
    one-QR-answer-per-receipt rule, and a sampled citizen who already answered the short QR form must
    still be able to answer the full campaign questionnaire (one per member, by ``client_uuid``).
    """
    return {
        "campaign_id": inv.campaign_id,
        "member_id": inv.member_id,
        "receipt_id": inv.receipt_id,
        "stratum": inv.stratum,
        "inclusion_prob": inv.inclusion_prob,
    }


async def mark_responded(session: AsyncSession, inv: Invitation, response_id: str) -> None:
    """After the response is stored: the member's disposition becomes I (complete)."""
    await session.execute(
        update(CampaignMember).where(CampaignMember.id == inv.member_id).values(status="I", response_id=response_id, updated_at=utcnow())
    )
    await session.commit()


# --------------------------------------------------------------------------- reading campaigns


async def list_campaigns(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.execute(select(SamplingCampaign).order_by(SamplingCampaign.id.desc()))).scalars().all()
    return [
        {"id": c.id, "name": c.name, "frame_size": c.frame_size, "sample_size": c.sample_size, "reserve_size": c.reserve_size,
         "strata": list(c.design.get("strata") or []), "allocation": c.design.get("allocation"), "seed": c.seed,
         "created_by": c.created_by, "drawn_at": c.drawn_at}
        for c in rows
    ]


async def get_campaign(session: AsyncSession, campaign_id: int) -> SamplingCampaign | None:
    return await session.get(SamplingCampaign, campaign_id)


async def call_list(session: AsyncSession, campaign_id: int, settings: Settings, include_reserve: bool = True) -> list[dict[str, Any]]:
    """One plain row per member, in member order, with the invitation link (no personal data)."""
    campaign = await session.get(SamplingCampaign, campaign_id)
    if campaign is None:
        raise LookupError(campaign_id)
    stmt = select(CampaignMember).where(CampaignMember.campaign_id == campaign_id).order_by(CampaignMember.member_no)
    if not include_reserve:
        stmt = stmt.where(CampaignMember.is_reserve.is_(False))
    out = []
    for m in (await session.execute(stmt)).scalars():
        token = invitation_token(settings, m.id, campaign.invitations_expire_on)
        out.append(
            {
                "member_no": m.member_no, "dossier_code": m.dossier_code, "unit": m.unit_code, "procedure": m.procedure_code,
                "field": m.field, "received_on": m.received_on.isoformat() if m.received_on else "", "stratum": m.stratum,
                "inclusion_prob": round(m.inclusion_prob, 8), "reserve": "yes" if m.is_reserve else "no",
                "order": m.selection_order, "invitation_link": invitation_url(settings, token),
            }
        )
    return out


def call_list_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CALL_LIST_COLUMNS), lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _csv_safe(r[k]) for k in CALL_LIST_COLUMNS})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _csv_safe(v: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def call_list_xlsx(rows: Sequence[dict[str, Any]], title: str = "Call list") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "Call list")
    ws.append(list(CALL_LIST_COLUMNS))
    for r in rows:
        ws.append([_csv_safe(r[k]) for k in CALL_LIST_COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- dispositions and validation


async def set_dispositions(session: AsyncSession, campaign_id: int, codes: dict[int, str], *, actor: str) -> int:
    """Set member dispositions by member number ({member_no: code}); all or nothing. Returns rows changed."""
    bad = [f"{no}: {c}" for no, c in codes.items() if c not in MEMBER_STATUSES]
    if bad:
        raise _err("status", f"Mã kết quả không hợp lệ: {', '.join(bad)}", f"Invalid disposition code(s): {', '.join(bad)} (use {', '.join(MEMBER_STATUSES)})")
    existing = set((await session.execute(select(CampaignMember.member_no).where(CampaignMember.campaign_id == campaign_id, CampaignMember.member_no.in_(list(codes))))).scalars())
    missing = sorted(set(codes) - existing)
    if missing:
        raise _err("member_no", f"Không có thành viên số {missing[:5]} trong đợt này.", f"No member number(s) {missing[:5]} in this campaign.")
    try:
        for no, code in codes.items():
            await session.execute(
                update(CampaignMember).where(CampaignMember.campaign_id == campaign_id, CampaignMember.member_no == no).values(status=code, updated_at=utcnow())
            )
        audit.record(session, actor, "sampling.dispositions", "sampling_campaign", campaign_id, count=len(codes))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return len(codes)


def _dummies(values: np.ndarray, categories: Sequence[str]) -> np.ndarray:
    return (values.astype(str)[:, None] == np.asarray(categories, dtype=str)[None, :]).astype(float)


def _aapor(statuses: Sequence[str]) -> sampling.AAPORRates | None:
    """AAPOR rates over fielded members; still-pending members count as unknown eligibility (UO)."""
    if not statuses:
        return None
    counts = dict.fromkeys(("I", "P", "R", "NC", "O", "UH", "UO"), 0)
    ne = 0
    for s in statuses:
        if s == "pending":
            counts["UO"] += 1
        elif s == "NE":
            ne += 1
        else:
            counts[s] += 1
    return sampling.aapor_rates(**counts, NE=ne if ne else None)


async def campaign_report(session: AsyncSession, campaign_id: int) -> dict[str, Any] | None:
    """Plain data for the campaign page: design, allocation, dispositions, AAPOR rates, representativeness."""
    c = await session.get(SamplingCampaign, campaign_id)
    if c is None:
        return None
    rows = (
        await session.execute(
            select(CampaignMember.stratum, CampaignMember.unit_code, CampaignMember.field, CampaignMember.channel,
                   CampaignMember.is_reserve, CampaignMember.status, CampaignMember.inclusion_prob)
            .where(CampaignMember.campaign_id == campaign_id)
            .order_by(CampaignMember.member_no)
        )
    ).all()
    main = [r for r in rows if not r.is_reserve]
    fielded = main + [r for r in rows if r.is_reserve and r.status != "pending"]
    status_counts = {s: 0 for s in MEMBER_STATUSES}
    for r in fielded:
        status_counts[r.status] += 1
    rates = _aapor([r.status for r in fielded])
    checks = {}
    for label, group in (("sample", main), ("respondents", [r for r in fielded if r.status in ("I", "P")])):
        checks[label] = _representativeness(c.frame_counts, group, rates if label == "respondents" else None)
    return {
        "id": c.id, "name": c.name, "design": c.design, "frame_filter": c.frame_filter, "frame_source": c.frame_source,
        "frame_size": c.frame_size, "sample_size": c.sample_size, "reserve_size": c.reserve_size, "seed": c.seed,
        "questionnaire": f"{c.questionnaire_id} v{c.questionnaire_version}", "created_by": c.created_by,
        "drawn_at": c.drawn_at, "invitations_expire_on": c.invitations_expire_on, "allocation": c.allocation,
        "status_counts": status_counts, "fielded": len(fielded),
        "rates": None if rates is None else {k: v for k, v in rates.as_dict().items() if k != "counts"},
        "checks": checks,
    }


def _representativeness(frame_counts: dict[str, dict[str, int]], group: Sequence[Any], rates: Any) -> dict[str, Any] | None:
    if not group:
        return None
    strata_counts = frame_counts.get("stratum") or {}
    cats = sorted(strata_counts)
    sample_strata = np.array([r.stratum for r in group], dtype=str)
    observed = np.array([(sample_strata == k).sum() for k in cats], dtype=float)
    frame_vec = np.array([strata_counts[k] for k in cats], dtype=float)
    comp = sampling.composition_test(observed, frame_vec, counts=True) if len(cats) > 1 else None
    smd_rows = []
    weights = 1.0 / np.array([r.inclusion_prob for r in group], dtype=float)
    for var, attr in (("unit", "unit_code"), ("field", "field"), ("channel", "channel")):
        counts = frame_counts.get(var) or {}
        if len(counts) < 2:
            continue
        vcats = sorted(counts)
        N = sum(counts.values())
        SX = _dummies(np.array([getattr(r, attr) for r in group], dtype=str), vcats)
        for k, cat in enumerate(vcats):
            # the frame's 0/1 column for this category, rebuilt from its count (row order is irrelevant)
            fx = np.repeat(np.array([1.0, 0.0]), [counts[cat], N - counts[cat]])
            raw = sampling.standardized_mean_differences(SX[:, k], fx)
            weighted = sampling.standardized_mean_differences(SX[:, k], fx, sample_weights=weights)
            smd_rows.append({"variable": var, "category": cat, "frame_share": counts[cat] / N,
                             "sample_share": float(SX[:, k].mean()), "smd": float(raw[0]), "smd_weighted": float(weighted[0])})
    smd = np.array([r["smd"] for r in smd_rows]) if smd_rows else None
    summary = sampling.RepresentativenessSummary(
        n_sample=len(group), n_frame=int(frame_vec.sum()), composition=comp, smd=smd,
        variable_names=tuple(f"{r['variable']}={r['category']}" for r in smd_rows), rates=rates, alpha=0.05, smd_threshold=0.1,
    )
    return {
        "n": len(group),
        "chi2": None if comp is None else {"statistic": comp.statistic, "df": comp.df, "pvalue": comp.pvalue,
                                           "max_share_diff": comp.max_abs_share_difference, "min_expected": comp.min_expected},
        "strata": [{"stratum": k, "frame_share": float(frame_vec[i] / frame_vec.sum()), "sample_share": float(observed[i] / observed.sum()),
                    "observed": int(observed[i])} for i, k in enumerate(cats)],
        "smd": smd_rows,
        "max_smd": None if smd is None else float(smd.max()),
        "ok": summary.ok,
        "composition_ok": summary.composition_ok,
        "balance_ok": summary.balance_ok,
        "text": summary.to_text(),
    }


async def member_count(session: AsyncSession, campaign_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(CampaignMember).where(CampaignMember.campaign_id == campaign_id)) or 0)


async def form_choices(session: AsyncSession) -> dict[str, Any]:
    """Units and procedure fields for the design form."""
    from survey.db.models import Procedure, Unit

    units = (await session.execute(select(Unit.code, Unit.name).where(Unit.active.is_(True)).order_by(Unit.code))).all()
    fields = (await session.execute(select(Procedure.field).distinct().order_by(Procedure.field))).scalars().all()
    return {"units": [{"code": c, "name": n} for c, n in units], "fields": list(fields)}
