"""The one adapter from ORM rows to numpy arrays, for ``sampling/`` and ``analysis/``.

Only this module turns database rows into arrays: services ask it for a :class:`Frame` (the
sampling frame of receipts) or for respondents' design variables, then hand plain arrays to the pure
libraries.  Arrays are read-only so a frame can be shared without defensive copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.models import Procedure, Receipt, Response, Unit

#: Variables a frame can be stratified by (combine with commas: ``unit,field``).
STRATA_VARIABLES = ("unit", "field", "channel", "procedure")
#: Separator between the parts of a combined stratum label.
STRATUM_SEPARATOR = " | "


def _ro(values: Any, dtype: Any = None) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True)
class FrameFilter:
    """Which receipts make the frame. Empty tuples mean "no restriction"; dates are local calendar days."""

    period_from: date | None = None
    period_to: date | None = None
    unit_ids: tuple[int, ...] = ()
    unit_codes: tuple[str, ...] = ()
    procedure_ids: tuple[int, ...] = ()
    fields: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    #: Only dossiers whose result was returned (the citizen finished the transaction).
    completed_only: bool = True
    timezone: str = "Asia/Ho_Chi_Minh"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored with a campaign)."""
        return {
            "period_from": self.period_from.isoformat() if self.period_from else None,
            "period_to": self.period_to.isoformat() if self.period_to else None,
            "unit_ids": list(self.unit_ids),
            "unit_codes": list(self.unit_codes),
            "procedure_ids": list(self.procedure_ids),
            "fields": list(self.fields),
            "channels": list(self.channels),
            "completed_only": self.completed_only,
            "timezone": self.timezone,
        }


#: the column order of Frame.from_rows
FRAME_ROW = ("receipt_ids", "dossier_codes", "unit_ids", "unit_codes", "procedure_ids", "procedure_codes", "fields", "channels", "received")


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """A sampling frame: one entry per receipt, as parallel read-only arrays (row order is stable).

    ``receipt_ids`` is 0 and ``procedure_ids`` is 0 where a CSV row names no known receipt/procedure.
    ``received`` holds local calendar days (``datetime64[D]``).  No personal data: the frame knows
    dossier codes, units, procedures, fields, channels and dates only.
    """

    receipt_ids: np.ndarray
    dossier_codes: np.ndarray
    unit_ids: np.ndarray
    unit_codes: np.ndarray
    procedure_ids: np.ndarray
    procedure_codes: np.ndarray
    fields: np.ndarray
    channels: np.ndarray
    received: np.ndarray
    source: str = "db"
    unit_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_columns(
        cls,
        *,
        receipt_ids: Sequence[int],
        dossier_codes: Sequence[str],
        unit_ids: Sequence[int],
        unit_codes: Sequence[str],
        procedure_ids: Sequence[int],
        procedure_codes: Sequence[str],
        fields: Sequence[str],
        channels: Sequence[str],
        received: Sequence[date],
        source: str = "db",
        unit_names: dict[str, str] | None = None,
    ) -> Frame:
        return cls(
            receipt_ids=_ro(receipt_ids, np.int64),
            dossier_codes=_ro(dossier_codes, object),
            unit_ids=_ro(unit_ids, np.int64),
            unit_codes=_ro(unit_codes, object),
            procedure_ids=_ro(procedure_ids, np.int64),
            procedure_codes=_ro(procedure_codes, object),
            fields=_ro(fields, object),
            channels=_ro(channels, object),
            received=_ro(np.array(received, dtype="datetime64[D]")),
            source=source,
            unit_names=dict(unit_names or {}),
        )

    @classmethod
    def from_rows(cls, rows: Sequence[tuple], source: str, unit_names: dict[str, str]) -> Frame:
        """A frame from row tuples in FRAME_ROW order."""
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(FRAME_ROW)
        return cls.from_columns(**dict(zip(FRAME_ROW, columns, strict=True)), source=source, unit_names=unit_names)

    def __len__(self) -> int:
        return int(self.receipt_ids.shape[0])

    @property
    def size(self) -> int:
        return len(self)

    def variable(self, name: str) -> np.ndarray:
        """The label array of one stratification variable (``unit``, ``field``, ``channel``, ``procedure``)."""
        if name == "unit":
            return self.unit_codes
        if name == "field":
            return self.fields
        if name == "channel":
            return self.channels
        if name == "procedure":
            return self.procedure_codes
        raise ValueError(f"strata variable must be one of {STRATA_VARIABLES}, got {name!r}")

    def strata(self, variables: Sequence[str]) -> np.ndarray:
        """Stratum label of every row: the named variables joined with `` | `` (one constant stratum if none)."""
        if not variables:
            return _ro(np.full(len(self), "all", dtype=object))
        parts = [self.variable(v).astype(str) for v in variables]
        out = parts[0]
        for p in parts[1:]:
            out = np.char.add(np.char.add(out, STRATUM_SEPARATOR), p)
        return _ro(out, object)

    def counts(self, name: str) -> dict[str, int]:
        """Frame rows per category of a variable (sorted labels)."""
        labels, counts = np.unique(self.variable(name).astype(str), return_counts=True)
        return {str(k): int(v) for k, v in zip(labels, counts, strict=True)}


def _period_bounds(flt: FrameFilter) -> tuple[datetime | None, datetime | None]:
    tz = ZoneInfo(flt.timezone)
    start = datetime.combine(flt.period_from, time(0), tz) if flt.period_from else None
    end = datetime.combine(flt.period_to + timedelta(days=1), time(0), tz) if flt.period_to else None
    return start, end


async def load_frame(session: AsyncSession, flt: FrameFilter) -> Frame:
    """Receipts matching ``flt`` as a :class:`Frame`, ordered by receipt id (so draws are reproducible)."""
    stmt = (
        select(
            Receipt.id,
            Receipt.dossier_code,
            Receipt.unit_id,
            Unit.code,
            Unit.name,
            Receipt.procedure_id,
            Procedure.code,
            Procedure.field,
            Receipt.channel,
            Receipt.received_at,
        )
        .join(Unit, Unit.id == Receipt.unit_id)
        .outerjoin(Procedure, Procedure.id == Receipt.procedure_id)
        .order_by(Receipt.id)
    )
    start, end = _period_bounds(flt)
    if start is not None:
        stmt = stmt.where(Receipt.received_at >= start)
    if end is not None:
        stmt = stmt.where(Receipt.received_at < end)
    if flt.unit_ids:
        stmt = stmt.where(Receipt.unit_id.in_(flt.unit_ids))
    if flt.unit_codes:
        stmt = stmt.where(Unit.code.in_(flt.unit_codes))
    if flt.procedure_ids:
        stmt = stmt.where(Receipt.procedure_id.in_(flt.procedure_ids))
    if flt.fields:
        stmt = stmt.where(Procedure.field.in_(flt.fields))
    if flt.channels:
        stmt = stmt.where(Receipt.channel.in_(flt.channels))
    if flt.completed_only:
        stmt = stmt.where(Receipt.returned_at.is_not(None))
    rows = (await session.execute(stmt)).all()
    tz = ZoneInfo(flt.timezone)
    names = {unit_code: unit_name for _rid, _d, _uid, unit_code, unit_name, *_rest in rows}
    frame_rows = [
        (rid, dossier, unit_id, unit_code, proc_id or 0, proc_code or "", fld or "", channel, received_at.astimezone(tz).date())
        for rid, dossier, unit_id, unit_code, _name, proc_id, proc_code, fld, channel, received_at in rows
    ]
    return Frame.from_rows(frame_rows, "db", names)


@dataclass(frozen=True, slots=True, eq=False)
class StratumOutcomes:
    """Past satisfaction per stratum: respondents and the share answering 4 or 5 overall."""

    labels: np.ndarray
    respondents: np.ndarray
    satisfied_share: np.ndarray


async def load_past_outcomes(session: AsyncSession, variables: Sequence[str]) -> StratumOutcomes:
    """Accepted responses with an overall rating, grouped by the stratum variables (for Neyman sd)."""
    stmt = (
        select(Unit.code, Procedure.code, Procedure.field, Receipt.channel, Response.overall)
        .join(Unit, Unit.id == Response.unit_id)
        .outerjoin(Procedure, Procedure.id == Response.procedure_id)
        .outerjoin(Receipt, Receipt.id == Response.receipt_id)
        .where(Response.overall.is_not(None), Response.overall > 0, Response.review_status == "accepted")
    )
    rows = (await session.execute(stmt)).all()
    if not rows:
        return StratumOutcomes(_ro([], object), _ro([], np.int64), _ro([], float))
    unit, proc, fld, chan, overall = (np.array(c, dtype=object) for c in zip(*rows, strict=True))
    by = {"unit": unit, "procedure": proc, "field": fld, "channel": chan}
    parts = [np.array([str(x or "") for x in by[v]], dtype=object) for v in variables] or [np.full(len(rows), "all", dtype=object)]
    labels = parts[0]
    for p in parts[1:]:
        labels = np.array([f"{a}{STRATUM_SEPARATOR}{b}" for a, b in zip(labels, p, strict=True)], dtype=object)
    sat = overall.astype(int) >= 4
    uniq, inv = np.unique(labels.astype(str), return_inverse=True)
    n = np.bincount(inv, minlength=uniq.size)
    k = np.bincount(inv, weights=sat.astype(float), minlength=uniq.size)
    return StratumOutcomes(_ro(uniq.astype(object)), _ro(n, np.int64), _ro(k / np.maximum(n, 1), float))


@dataclass(frozen=True, slots=True, eq=False)
class CampaignResponses:
    """Responding campaign members as arrays: what ``analysis.Design(probs=..., strata=...)`` needs."""

    response_ids: np.ndarray
    probs: np.ndarray
    strata: np.ndarray
    overall: np.ndarray
    answers: tuple[dict[str, int], ...]

    def design_arguments(self) -> dict[str, Any]:
        return {"probs": self.probs, "strata": self.strata}


async def load_campaign_responses(session: AsyncSession, campaign_id: int) -> CampaignResponses:
    """Campaign-channel responses of one campaign, with the inclusion probability and stratum they carry."""
    rows = (
        await session.execute(
            select(Response.id, Response.extra, Response.overall, Response.answers)
            .where(Response.channel == "campaign")
            .order_by(Response.submitted_at, Response.id)
        )
    ).all()
    keep = [r for r in rows if (r[1] or {}).get("campaign_id") == campaign_id]
    return CampaignResponses(
        response_ids=_ro([r[0] for r in keep], object),
        probs=_ro([float(r[1]["inclusion_prob"]) for r in keep], float),
        strata=_ro([str(r[1]["stratum"]) for r in keep], object),
        overall=_ro([r[2] if r[2] is not None else 0 for r in keep], np.int64),
        answers=tuple(dict(r[3] or {}) for r in keep),
    )


async def frame_from_csv_rows(session: AsyncSession, rows: Sequence[Any]) -> Frame:
    """A :class:`Frame` from parsed CSV rows (``survey.campaigns.frame_csv.FrameRow``).

    Unit codes must name known units (a response needs its unit); receipt ids must exist; dossier codes
    are matched to receipts where possible (unmatched rows keep receipt id 0).  Raises
    ``FrameCsvError`` naming the line and column.
    """
    from survey.campaigns.frame_csv import FrameCsvError

    unit_codes = sorted({r.unit_code for r in rows})
    units: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(unit_codes):
        for uid, code, name in (await session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.code.in_(chunk)))).all():
            units[code] = (uid, name)
    proc_codes = sorted({r.procedure_code for r in rows if r.procedure_code})
    procs: dict[str, int] = {}
    for chunk in _chunks(proc_codes):
        for pid, code in (await session.execute(select(Procedure.id, Procedure.code).where(Procedure.code.in_(chunk)))).all():
            procs[code] = pid
    ids = sorted({r.receipt_id for r in rows if r.receipt_id})
    by_id: dict[int, str] = {}
    for chunk in _chunks(ids):
        for rid, code in (await session.execute(select(Receipt.id, Receipt.dossier_code).where(Receipt.id.in_(chunk)))).all():
            by_id[rid] = code
    dossiers = sorted({r.dossier_code for r in rows if r.dossier_code and not r.receipt_id})
    by_code: dict[str, int] = {}
    for chunk in _chunks(dossiers):
        for rid, code in (await session.execute(select(Receipt.id, Receipt.dossier_code).where(Receipt.dossier_code.in_(chunk)))).all():
            by_code[code] = rid
    frame_rows = []
    for r in rows:
        if r.unit_code not in units:
            raise FrameCsvError(r.line, "unit_code", f"unknown unit {r.unit_code!r}")
        if r.receipt_id and r.receipt_id not in by_id:
            raise FrameCsvError(r.line, "receipt_id", f"no receipt with id {r.receipt_id}")
        rid = r.receipt_id or by_code.get(r.dossier_code, 0)
        dossier = r.dossier_code or by_id.get(rid, "")
        frame_rows.append(
            (rid, dossier, units[r.unit_code][0], r.unit_code, procs.get(r.procedure_code, 0), r.procedure_code, r.field, r.channel, r.received_on)
        )
    return Frame.from_rows(frame_rows, "csv", {code: name for code, (_uid, name) in units.items()})


def _chunks(values: Sequence[Any], size: int = 500):
    for i in range(0, len(values), size):
        yield list(values[i : i + size])


# --------------------------------------------------------------------------- index runs: respondents as arrays

#: item / option ids that may be spliced into the SQL of the packed columns (questionnaire ids are data)
_SAFE_ID = __import__("re").compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _packed_sql(dialect: str, column: str, keys: Sequence[str], kind: str) -> str:
    """SQL for one text column holding one character per key, extracted by the database.

    ``kind="answers"``: the digit stored under each key of the JSON object (``0`` when absent);
    ``kind="choices"``: ``1``/``0`` for whether each key is in the JSON array.  No JSON is parsed in
    Python: SQLite's ``json_extract`` / PostgreSQL's ``->>`` and ``?`` do it, one string per row comes back.
    """
    if not keys:
        return "''"
    parts = []
    for key in keys:
        if not _SAFE_ID.match(key):
            raise ValueError(f"unsafe questionnaire key {key!r}")
        if kind == "answers":
            if dialect == "sqlite":
                parts.append(f"coalesce(json_extract({column}, '$.\"{key}\"'), 0)")
            else:
                parts.append(f"coalesce({column} ->> '{key}', '0')")
        elif dialect == "sqlite":
            parts.append(f"(instr({column}, '\"{key}\"') > 0)")
        else:
            parts.append(f"(CASE WHEN {column} ? '{key}' THEN '1' ELSE '0' END)")
    return " || ".join(parts)


def _epoch_sql(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def _unpack(strings: Sequence[str], width: int, zero: int) -> np.ndarray:
    """(n, width) uint8 matrix from equal-length strings of digits (vectorised, no per-row parsing)."""
    n = len(strings)
    if width == 0 or n == 0:
        return np.zeros((n, width), dtype=np.uint8)
    blob = "".join(strings).encode("ascii")
    if len(blob) != n * width:  # a stored value outside 0..9 (never written by the response service)
        raise ValueError("an answer value outside 0..9 was found in the stored responses")
    return (np.frombuffer(blob, dtype=np.uint8).reshape(n, width) - zero).astype(np.uint8)


@dataclass(frozen=True, slots=True, eq=False)
class IndexResponses:
    """Respondents of an index run as parallel read-only arrays (no personal data, no comments).

    ``answers[:, j]`` is item ``items[j]``: 1..5, 0 = "Không ý kiến" or not answered.  ``chosen[:, a]``
    is whether expectation area ``areas[a]`` was chosen.  ``day`` is the local calendar day
    (``datetime64[D]``).  For campaign respondents ``member_ids``, ``probs`` and ``strata`` come from
    the drawn member; elsewhere they are 0, NaN and "".
    """

    items: tuple[str, ...]
    areas: tuple[str, ...]
    response_ids: np.ndarray
    unit_ids: np.ndarray
    fields: np.ndarray
    channels: np.ndarray
    questionnaires: np.ndarray
    review: np.ndarray
    device_ids: np.ndarray
    receipt_ids: np.ndarray
    #: how the dossier was submitted (receipt channel direct/online/postal), "" when unknown
    receipt_channels: np.ndarray
    day: np.ndarray
    answers: np.ndarray
    overall: np.ndarray
    chosen: np.ndarray
    member_ids: np.ndarray
    probs: np.ndarray
    strata: np.ndarray

    def __len__(self) -> int:
        return int(self.response_ids.shape[0])

    def take(self, idx: np.ndarray) -> IndexResponses:
        """The rows ``idx`` (an index or boolean array), same columns."""
        cols = {}
        for name in self.__slots__:
            v = getattr(self, name)
            cols[name] = _ro(v[idx]) if isinstance(v, np.ndarray) else v
        return IndexResponses(**cols)


def _local_day(epoch: np.ndarray, tz: ZoneInfo, at: date) -> np.ndarray:
    offset = int(datetime.combine(at, time(12), tz).utcoffset().total_seconds())  # type: ignore[union-attr]
    return ((epoch + offset) // 86400).astype("datetime64[D]")


async def load_index_responses(
    session: AsyncSession,
    *,
    period_start: date,
    period_end: date,
    items: Sequence[str],
    areas: Sequence[str],
    channels: Sequence[str],
    timezone: str,
    campaign_id: int | None = None,
) -> IndexResponses:
    """Responses submitted in the period (local days, inclusive) on ``channels`` as arrays.

    With ``campaign_id``: only that campaign's respondents (joined to their drawn member).  Every
    review status is returned (the run counts what each exclusion rule removes).  Items and
    expectations are extracted by the database into one packed string per row (see ``_packed_sql``);
    rows come back in response-id order.
    """
    from sqlalchemy import bindparam, literal_column
    from sqlalchemy.orm import aliased

    from survey.db.base import UTCDateTime
    from survey.db.models import CampaignMember

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    tz = ZoneInfo(timezone)
    start, end = _period_bounds(FrameFilter(period_from=period_start, period_to=period_end, timezone=timezone))
    proc2 = aliased(Procedure)
    cols = [
        Response.id,
        Response.unit_id,
        func.coalesce(Procedure.field, proc2.field, ""),
        Response.channel,
        Response.questionnaire_id,
        Response.review_status,
        func.coalesce(Response.device_id, 0),
        func.coalesce(Response.receipt_id, 0),
        literal_column(_epoch_sql(dialect, "responses.submitted_at")),
        literal_column(_packed_sql(dialect, "responses.answers", items, "answers")),
        func.coalesce(Response.overall, 0),
        literal_column(_packed_sql(dialect, "responses.expectations", areas, "choices")),
        func.coalesce(Receipt.channel, ""),
    ]
    stmt = (
        select(*cols)
        .outerjoin(Procedure, Procedure.id == Response.procedure_id)
        .outerjoin(Receipt, Receipt.id == Response.receipt_id)
        .outerjoin(proc2, proc2.id == Receipt.procedure_id)
        .where(
            Response.submitted_at >= bindparam("start", start, type_=UTCDateTime),
            Response.submitted_at < bindparam("end", end, type_=UTCDateTime),
            Response.channel.in_(list(channels)),
        )
    )
    if campaign_id is not None:
        stmt = stmt.add_columns(CampaignMember.id, CampaignMember.inclusion_prob, CampaignMember.stratum, CampaignMember.channel).join(
            CampaignMember, CampaignMember.response_id == Response.id
        ).where(CampaignMember.campaign_id == campaign_id)
    stmt = stmt.order_by(Response.id)
    rows = (await session.execute(stmt)).all()
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(stmt.selected_columns)
    epoch = np.array(columns[8], dtype=np.int64)
    receipt_channels = np.array(columns[12], dtype=object)
    if campaign_id is not None:
        member_ids, probs, strata = np.array(columns[13], dtype=np.int64), np.array(columns[14], dtype=float), np.array(columns[15], dtype=object)
        receipt_channels = np.array(columns[16], dtype=object)
    else:
        member_ids, probs, strata = np.zeros(n, np.int64), np.full(n, np.nan), np.full(n, "", dtype=object)
    return IndexResponses(
        items=tuple(items),
        areas=tuple(areas),
        response_ids=_ro(columns[0], object),
        unit_ids=_ro(columns[1], np.int64),
        fields=_ro(columns[2], object),
        channels=_ro(columns[3], object),
        questionnaires=_ro(columns[4], object),
        review=_ro(columns[5], object),
        device_ids=_ro(columns[6], np.int64),
        receipt_ids=_ro(columns[7], np.int64),
        receipt_channels=_ro(receipt_channels),
        day=_ro(_local_day(epoch, tz, period_start)),
        answers=_ro(_unpack(columns[9], len(items), ord("0"))),
        overall=_ro(columns[10], np.int64),
        chosen=_ro(_unpack(columns[11], len(areas), ord("0")).astype(bool)),
        member_ids=_ro(member_ids),
        probs=_ro(probs),
        strata=_ro(strata),
    )


@dataclass(frozen=True, slots=True, eq=False)
class CampaignMembers:
    """Every fielded member of a campaign (main sample, plus reserves that were used) as arrays."""

    member_ids: np.ndarray
    probs: np.ndarray
    strata: np.ndarray
    status: np.ndarray
    unit_codes: np.ndarray
    fields: np.ndarray
    is_reserve: np.ndarray
    response_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.member_ids.shape[0])


async def load_campaign_members(session: AsyncSession, campaign_id: int) -> CampaignMembers:
    """Members of the main sample and reserves whose disposition is no longer pending, in member order."""
    from sqlalchemy import or_

    from survey.db.models import CampaignMember as M

    rows = (
        await session.execute(
            select(M.id, M.inclusion_prob, M.stratum, M.status, M.unit_code, M.field, M.is_reserve, M.response_id)
            .where(M.campaign_id == campaign_id, or_(M.is_reserve.is_(False), M.status != "pending"))
            .order_by(M.member_no)
        )
    ).all()
    c = list(zip(*rows, strict=True)) if rows else [()] * 8
    return CampaignMembers(
        member_ids=_ro(c[0], np.int64), probs=_ro(c[1], float), strata=_ro(c[2], object), status=_ro(c[3], object),
        unit_codes=_ro(c[4], object), fields=_ro(c[5], object), is_reserve=_ro(c[6], bool),
        response_ids=_ro([r or "" for r in c[7]], object),
    )


@dataclass(frozen=True, slots=True, eq=False)
class ReceiptArrays:
    """Receipts received in a period: what raking margins and the QĐ 766 rate need, as arrays."""

    receipt_ids: np.ndarray
    unit_ids: np.ndarray
    fields: np.ndarray
    overdue: np.ndarray
    returned: np.ndarray
    #: worst overall rating (1..5) given to the dossier on any channel, 0 when not rated
    worst_rating: np.ndarray

    def __len__(self) -> int:
        return int(self.receipt_ids.shape[0])


async def load_receipts(session: AsyncSession, *, period_start: date, period_end: date, timezone: str) -> ReceiptArrays:
    """Receipts received in the period with their field, overdue flag and worst linked rating.

    Overdue = returned on a later local day than the appointment date.  Ratings are linked through
    ``responses.receipt_id`` (QR, receipt-bound kiosk) and campaign members' receipts.
    """
    from sqlalchemy import bindparam

    from survey.db.base import UTCDateTime
    from survey.db.models import CampaignMember

    tz = ZoneInfo(timezone)
    start, end = _period_bounds(FrameFilter(period_from=period_start, period_to=period_end, timezone=timezone))
    rows = (
        await session.execute(
            select(Receipt.id, Receipt.unit_id, func.coalesce(Procedure.field, ""), Receipt.appointment_at, Receipt.returned_at)
            .outerjoin(Procedure, Procedure.id == Receipt.procedure_id)
            .where(
                Receipt.received_at >= bindparam("start", start, type_=UTCDateTime),
                Receipt.received_at < bindparam("end", end, type_=UTCDateTime),
            )
            .order_by(Receipt.id)
        )
    ).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    overdue = np.array(
        [bool(ret is not None and app is not None and ret.astimezone(tz).date() > app.astimezone(tz).date()) for _i, _u, _f, app, ret in rows],
        dtype=bool,
    )
    returned = np.array([r[4] is not None for r in rows], dtype=bool)
    worst = np.zeros(ids.size, dtype=np.int64)
    if ids.size:
        direct = select(Response.receipt_id, Response.overall).where(
            Response.receipt_id.is_not(None), Response.overall > 0, Response.review_status == "accepted"
        )
        via_member = (
            select(CampaignMember.receipt_id, Response.overall)
            .join(Response, Response.id == CampaignMember.response_id)
            .where(CampaignMember.receipt_id.is_not(None), Response.overall > 0)
        )
        lo, hi = int(ids.min()), int(ids.max())
        for stmt, col in ((direct, Response.receipt_id), (via_member, CampaignMember.receipt_id)):
            got = (await session.execute(stmt.where(col >= lo, col <= hi))).all()
            if not got:
                continue
            rid = np.array([g[0] for g in got], dtype=np.int64)
            val = np.array([g[1] for g in got], dtype=np.int64)
            pos = np.searchsorted(ids, rid)
            ok = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == rid)
            # minimum over the linked ratings, "0 = not rated" counted as 9 while taking it
            tmp = np.where(worst == 0, 9, worst)
            np.minimum.at(tmp, pos[ok], val[ok])
            worst = np.where(tmp == 9, 0, tmp)
    return ReceiptArrays(
        receipt_ids=_ro(ids), unit_ids=_ro([r[1] for r in rows], np.int64), fields=_ro([r[2] for r in rows], object),
        overdue=_ro(overdue), returned=_ro(returned), worst_rating=_ro(worst),
    )


async def load_units(session: AsyncSession) -> list[tuple[int, str, str, str, int | None]]:
    """(id, code, name, kind, parent_id) of every unit, by code."""
    return [tuple(r) for r in (await session.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id).order_by(Unit.code))).all()]
