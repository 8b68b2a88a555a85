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
from sqlalchemy import Integer, func, select
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


def _frozen(arr: np.ndarray) -> np.ndarray:
    """``arr`` itself made read-only (for arrays this module has just built and shares with nobody: no copy)."""
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
    """SQL for a text of one character per key, extracted by the database.

    ``kind="answers"``: the digit stored under each key of the JSON object (``0`` when absent);
    ``kind="choices"``: ``1``/``0`` for whether each key is in the JSON array.  No JSON is parsed in
    Python: SQLite's ``json_extract`` / PostgreSQL's ``->>`` and ``?`` do it.
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


#: response channels, review statuses and receipt channels as small integer codes (the read model's)
from survey.responses.readmodel import CHANNEL_CODES, RECEIPT_CHANNEL_CODES  # noqa: E402

REVIEW_CODES = ("accepted", "pending", "rejected")
#: days per read query (each query returns one packed string for its rows)
READ_CHUNK_DAYS = 7


def _case_sql(column: str, codes: Sequence[str]) -> str:
    """``CASE column WHEN codes[i] THEN i ... ELSE 0 END`` (one digit: at most 10 codes; "" is skipped)."""
    if len(codes) > 10:
        raise ValueError("at most 10 codes fit a one-digit column")
    whens = []
    for i, v in enumerate(codes):
        if v == "":
            continue
        if not _SAFE_ID.match(v):
            raise ValueError(f"unsafe code {v!r}")
        whens.append(f"WHEN '{v}' THEN {i}")
    return f"(CASE {column} {' '.join(whens)} ELSE 0 END)" if whens else "0"


def _epoch_sql(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"


def _int_sql(dialect: str, expr: str, width: int) -> str:
    if dialect == "sqlite":
        return f"printf('%0{width}d', {expr})"
    return f"lpad(CAST({expr} AS TEXT), {width}, '0')"


@dataclass(frozen=True, slots=True, eq=False)
class IndexResponses:
    """Respondents of an index run as parallel read-only arrays (no personal data, no comments).

    ``answers[:, j]`` is item ``items[j]``: 1..5, 0 = "Không ý kiến" or not answered; ``overall`` 0..5;
    ``chosen[:, a]`` whether expectation area ``areas[a]`` was chosen.  Categorical columns are small
    integer codes: ``channel_codes`` into ``CHANNEL_CODES``, ``review_codes`` into ``REVIEW_CODES``,
    ``receipt_channel_codes`` into ``RECEIPT_CHANNEL_CODES`` (how the dossier was submitted),
    ``field_codes`` into ``field_names`` (0 = unknown), ``questionnaire_codes`` into
    ``questionnaires`` (0 = another questionnaire).  ``day`` is the local calendar day; rows are in
    response-id order.  For campaign respondents ``member_ids`` names the drawn member (else 0).
    """

    items: tuple[str, ...]
    areas: tuple[str, ...]
    field_names: tuple[str, ...]
    questionnaires: tuple[str, ...]
    response_ids: np.ndarray
    unit_ids: np.ndarray
    field_codes: np.ndarray
    channel_codes: np.ndarray
    review_codes: np.ndarray
    questionnaire_codes: np.ndarray
    receipt_channel_codes: np.ndarray
    device_ids: np.ndarray
    day: np.ndarray
    answers: np.ndarray
    overall: np.ndarray
    chosen: np.ndarray
    member_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.response_ids.shape[0])

    def take(self, idx: np.ndarray) -> IndexResponses:
        """The rows ``idx`` (an index or boolean array), same columns."""
        cols = {}
        for name in self.__slots__:
            v = getattr(self, name)
            cols[name] = _frozen(v[idx]) if isinstance(v, np.ndarray) else v  # v[idx] is already a copy (or a view of a read-only array)
        return IndexResponses(**cols)

    def channel_is(self, *names: str) -> np.ndarray:
        wanted = np.zeros(10, dtype=bool)  # a one-digit code
        wanted[[CHANNEL_CODES.index(n) for n in names]] = True
        return wanted[self.channel_codes]

    def review_is(self, name: str) -> np.ndarray:
        return self.review_codes == REVIEW_CODES.index(name)

    @property
    def channels(self) -> np.ndarray:
        return np.array(CHANNEL_CODES, dtype=object)[self.channel_codes]

    @property
    def receipt_channels(self) -> np.ndarray:
        return np.array(RECEIPT_CHANNEL_CODES, dtype=object)[self.receipt_channel_codes]

    @property
    def fields(self) -> np.ndarray:
        return np.array(self.field_names, dtype=object)[self.field_codes]

    @property
    def questionnaire_ids(self) -> np.ndarray:
        return np.array(("", *self.questionnaires), dtype=object)[self.questionnaire_codes]

    def response_id_strings(self) -> list[str]:
        return [b.decode("ascii").rstrip() for b in self.response_ids.tolist()]


def _local_day(epoch: np.ndarray, tz: ZoneInfo, at: date) -> np.ndarray:
    offset = int(datetime.combine(at, time(12), tz).utcoffset().total_seconds())  # type: ignore[union-attr]
    return ((epoch + offset) // 86400).astype("datetime64[D]")


#: rows per rowid span when SQLite reads the table in storage order
READ_CHUNK_ROWS = 250_000


async def _sqlite_rowid_spans(session: AsyncSession, start: datetime, end: datetime) -> list[tuple[int, int]] | None:
    """Rowid spans covering the responses table when the period holds over a fifth of it, else None."""
    from sqlalchemy import bindparam, text

    from survey.db.base import UTCDateTime

    lo, hi = (await session.execute(text("SELECT min(rowid), max(rowid) FROM responses"))).one()
    if lo is None:
        return None
    in_period = await session.scalar(
        text("SELECT count(*) FROM responses WHERE submitted_at >= :lo AND submitted_at < :hi").bindparams(
            bindparam("lo", type_=UTCDateTime), bindparam("hi", type_=UTCDateTime)),
        {"lo": start, "hi": end},
    )
    if not in_period or in_period * 5 < (hi - lo + 1):
        return None
    return [(a, min(a + READ_CHUNK_ROWS, hi + 1)) for a in range(lo, hi + 1, READ_CHUNK_ROWS)]


def sort_ids(ids: np.ndarray) -> np.ndarray:
    """The order of ``ids`` (S36) as a byte-wise sort gives it (ids are unique).

    Sorts an 8-byte big-endian key of each id (numpy's integer sort, several times faster than sorting
    the strings), then puts the ids whose keys tie (a few per million for random UUIDs) in full order.
    """
    n = ids.shape[0]
    if n < 2:
        return np.arange(n)
    b = np.zeros((n, 8), dtype=np.uint8)
    raw = np.ascontiguousarray(ids).view(np.uint8).reshape(n, ids.itemsize)  # the ids' own bytes: no copy
    b[:, : min(8, ids.itemsize)] = raw[:, :8]
    key = b.view(">u8").ravel().astype(np.uint64)
    order = np.argsort(key, kind="stable")  # timsort: compacted days arrive as runs sorted by id
    k = key[order]
    tie = np.flatnonzero(k[1:] == k[:-1])
    if tie.size:
        at = np.unique(np.concatenate([tie, tie + 1]))  # positions in sorted order whose key is shared
        members = order[at]
        order[at] = members[np.argsort(ids[members], kind="stable")]
    return order


def _case_digit(column: str, codes: Sequence[str]) -> str:
    """``CASE column WHEN codes[i] THEN 'i' ... ELSE '0' END`` as text."""
    whens = " ".join(f"WHEN '{v}' THEN '{i}'" for i, v in enumerate(codes) if v and _SAFE_ID.match(v))
    return f"(CASE {column} {whens} ELSE '0' END)"


async def _pack_missing(session: AsyncSession, start: datetime, end: datetime, channels: Sequence[str]) -> list[tuple[str, int, str, str]]:
    """(questionnaire id, version, record, review status) of the period's rows that have no record, packed here."""
    from survey.responses.readmodel import pack

    r = Response.__table__
    rows = (await session.execute(
        select(r.c.id, r.c.unit_id, r.c.procedure_id, r.c.device_id, r.c.submitted_at, r.c.channel, r.c.questionnaire_id,
               r.c.questionnaire_version, r.c.answers, r.c.overall, r.c.expectations, Receipt.procedure_id, Receipt.channel, r.c.review_status)
        .outerjoin(Receipt, Receipt.id == r.c.receipt_id)
        .where(r.c.packed.is_(None), r.c.submitted_at >= start, r.c.submitted_at < end, r.c.channel.in_(list(channels)))
    )).all()
    return [
        (x[6], int(x[7]), pack(id=x[0], unit_id=x[1], procedure_id=x[2], device_id=x[3], submitted_at=x[4], channel=x[5], questionnaire_id=x[6],
                               questionnaire_version=x[7], answers=x[8], overall=x[9], expectations=x[10], receipt_procedure_id=x[11],
                               receipt_channel=x[12]), x[13])
        for x in rows
    ]


def _map_body(body: np.ndarray, q_items, q_opts, item_pos: dict, area_pos: dict, k: int, na: int) -> tuple[np.ndarray, np.ndarray]:
    """``answers`` (m, k) and ``chosen`` (m, na) in the run's item and area order, from a questionnaire's own
    record body (m, items + options) of values 0..9 (one per item, then 0/1 per option)."""
    m = body.shape[0]
    answers = np.zeros((m, k), dtype=np.uint8)
    src = [(j, item_pos[it]) for j, it in enumerate(q_items) if it in item_pos]
    if src:
        answers[:, [d for _, d in src]] = body[:, [c for c, _ in src]]
    chosen = np.zeros((m, na), dtype=bool)
    osrc = [(len(q_items) + j, area_pos[o]) for j, o in enumerate(q_opts) if o in area_pos]
    if osrc:
        chosen[:, [d for _, d in osrc]] = body[:, [c for c, _ in osrc]] == 1
    return answers, chosen


def _decode_records(rec: np.ndarray, qcode: int, q_items, q_opts, item_pos: dict, area_pos: dict, k: int, na: int) -> dict[str, np.ndarray]:
    """The columns of fixed-width read-model records of one questionnaire version (``rec`` (m, width) ASCII)."""
    from survey.responses import readmodel as rm

    out = rm.decode_header(rec)
    body = rec[:, rm.HEADER_WIDTH :]
    if ((body < 48) | (body > 57)).any():
        raise ValueError("stored responses hold a value outside the packed record (answers must be 0..9)")
    return _with_body(out, body - 48, qcode, q_items, q_opts, item_pos, area_pos, k, na)


def _with_body(header: dict, body: np.ndarray, qcode: int, q_items, q_opts, item_pos: dict, area_pos: dict, k: int, na: int) -> dict[str, np.ndarray]:
    """The header columns, the questionnaire code and the body mapped onto the run's items and areas."""
    out = dict(header)
    out["qcode"] = np.full(body.shape[0], qcode, dtype=np.int8)
    out["answers"], out["chosen"] = _map_body(body, q_items, q_opts, item_pos, area_pos, k, na)
    return out


async def load_index_responses(
    session: AsyncSession,
    *,
    period_start: date,
    period_end: date,
    items: Sequence[str],
    areas: Sequence[str],
    channels: Sequence[str],
    questionnaires: Sequence[str],
    timezone: str,
    campaign_id: int | None = None,
    compact: bool = True,
) -> IndexResponses:
    """Responses submitted in the period (local days, inclusive) on ``channels``, as arrays.

    Reads the read model (``responses.packed``, ``survey.responses.readmodel``): per chunk of the
    period the database only concatenates the stored records, one string per questionnaire version
    (``group_concat`` / ``string_agg``), plus the ids of the rows not accepted by the review (the one
    mutable thing read).  Python decodes each string with numpy and maps every questionnaire's own item
    and option order onto ``items`` / ``areas``: no JSON and no row is handled in a Python loop (see
    benchmarks/bench_indices.py for the strategies measured).  Rows without a record (none once the
    migration has run) are packed here.  With ``campaign_id`` only that campaign's respondents are read
    (joined to their drawn member).  Every review status is returned: the run counts what each
    exclusion rule removes.

    Closed days are read from the read model by day (``survey.responses.days``: one value per day,
    compacted on first use when ``compact``), with the review statuses of their rows from the partial
    index of rows not accepted; the rest of the period (today, days that changed) row by row.
    """
    from sqlalchemy import bindparam, text

    from survey.db.base import UTCDateTime
    from survey.responses import readmodel as rm

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    tz = ZoneInfo(timezone)
    k, na = len(items), len(areas)
    for ch in channels:
        if ch not in CHANNEL_CODES:
            raise ValueError(f"unknown channel {ch!r}")
    if len(questionnaires) > 9:
        raise ValueError("at most 9 compatible questionnaires")
    layouts = rm.known_layouts()
    keys = list(layouts)
    for qid, _v in keys:
        if not _SAFE_ID.match(qid):
            raise ValueError(f"unsafe questionnaire id {qid!r}")
    H = rm.HEADER_WIDTH
    agg = (lambda e: f"group_concat({e}, '')") if dialect == "sqlite" else (lambda e: f"string_agg({e}, '')")
    known = " OR ".join(f"(r.questionnaire_id = '{q}' AND r.questionnaire_version = {int(v)})" for q, v in keys) or "1 = 0"
    cols = [agg(f"CASE WHEN r.questionnaire_id = '{q}' AND r.questionnaire_version = {int(v)} THEN r.packed END") for q, v in keys]
    cols.append(agg(f"CASE WHEN NOT ({known}) THEN substr(r.packed, 1, {H}) END"))  # unknown questionnaire: the header only
    cols.append(agg(f"CASE WHEN r.review_status <> 'accepted' THEN substr(r.packed, 1, 36) || {_case_digit('r.review_status', REVIEW_CODES)} END"))
    joins = ""
    where = "r.submitted_at >= :lo AND r.submitted_at < :hi AND r.channel IN :channels"
    if campaign_id is not None:
        joins = " JOIN campaign_members m ON m.response_id = r.id AND m.campaign_id = :campaign_id"
        member_sql = "printf('%010d', m.id)" if dialect == "sqlite" else "lpad(CAST(m.id AS TEXT), 10, '0')"
        cols.append(agg(f"substr(r.packed, 1, 36) || {member_sql} || {_case_digit('m.channel', RECEIPT_CHANNEL_CODES)}"))
    sql = f"SELECT count(*), count(r.packed), {', '.join(cols)} FROM responses r{joins} WHERE {where}"
    binds = [bindparam("lo", type_=UTCDateTime), bindparam("hi", type_=UTCDateTime), bindparam("channels", expanding=True),
             *([bindparam("campaign_id")] if campaign_id is not None else [])]
    stmt = text(sql).bindparams(*binds)
    start, end = _period_bounds(FrameFilter(period_from=period_start, period_to=period_end, timezone=timezone))
    assert start is not None and end is not None
    nq = len(keys)
    base = {"channels": list(channels), **({"campaign_id": campaign_id} if campaign_id is not None else {})}
    calls: list[tuple[Any, dict[str, Any]]] = []
    compacted = None
    raw_ranges = [(start, end)]
    if campaign_id is None and compact:
        from survey.responses.days import compacted_period

        compacted = await compacted_period(
            session, start=start, end=end, period_start=period_start, period_end=period_end, timezone=timezone
        )
        raw_ranges = compacted.uncovered
    whole = raw_ranges == [(start, end)]
    spans = await _sqlite_rowid_spans(session, start, end) if dialect == "sqlite" and campaign_id is None and whole else None
    if spans is not None:
        # most of the table is in the period: read it in rowid order (sequential pages), not through the
        # submitted_at index (random pages); the period is still a condition on every row
        seq_where = "r.rowid >= :rlo AND r.rowid < :rhi AND " + where
        seq = text(sql.replace("FROM responses r ", "FROM responses r NOT INDEXED ", 1).replace(f"WHERE {where}", f"WHERE {seq_where}", 1)).bindparams(*binds)
        calls = [(seq, {**base, "lo": start, "hi": end, "rlo": rlo, "rhi": rhi}) for rlo, rhi in spans]
    else:
        for range_lo, range_hi in raw_ranges:
            lo = range_lo
            while lo < range_hi:
                hi = min(range_hi, lo + timedelta(days=READ_CHUNK_DAYS))
                calls.append((stmt, {**base, "lo": lo, "hi": hi}))
                lo = hi
    qcode_of = {qid: i + 1 for i, qid in enumerate(questionnaires)}
    item_pos = {it: j for j, it in enumerate(items)}
    area_pos = {a: j for j, a in enumerate(areas)}
    decoded: list[dict[str, np.ndarray]] = []  # each chunk decoded as it arrives: no whole-period string kept
    flagged_parts: list[str] = []
    member_parts: list[str] = []

    def decode(strings: Sequence[str | None]) -> None:
        """One chunk's records (a string per questionnaire version, then the headers of unknown ones) as arrays."""
        for i, v in enumerate(strings):
            if not v:
                continue
            if i < nq:
                (qid, _ver), (q_items, q_opts) = keys[i], layouts[keys[i]]
                qcode = qcode_of.get(qid, 0)
            else:
                q_items, q_opts, qcode = (), (), 0
            width = H + len(q_items) + len(q_opts)
            raw = v.encode("ascii", errors="replace")
            if len(raw) % width:
                raise ValueError("stored read-model records do not match their questionnaire (run the migrations)")
            rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, width)
            decoded.append(_decode_records(rec, qcode, q_items, q_opts, item_pos, area_pos, k, na))

    if compacted is not None and compacted.entries:
        await _read_compacted(session, compacted, channels, dialect, layouts, qcode_of, item_pos, area_pos, k, na, decoded, flagged_parts)
    missing = False
    for st, params in calls:
        row = (await session.execute(st, params)).one()
        missing |= row[0] != row[1]
        decode(row[2 : 3 + nq])
        if row[3 + nq]:
            flagged_parts.append(row[3 + nq])
        if campaign_id is not None and row[4 + nq]:
            member_parts.append(row[4 + nq])
        del row
    if missing:  # rows written without a record (none once the migration ran): packed here, with the same function
        if campaign_id is not None:
            raise ValueError("campaign respondents without a read-model record: run the migrations (hailong migrate)")
        by_q: list[list[str]] = [[] for _ in range(nq + 1)]
        for qid, ver, rec, review in await _pack_missing(session, start, end, channels):
            i = keys.index((qid, ver)) if (qid, ver) in keys else nq
            by_q[i].append(rec if i < nq else rec[:H])
            if review != "accepted":
                flagged_parts.append(rec[:36] + (str(REVIEW_CODES.index(review)) if review in REVIEW_CODES else "0"))
        decode(["".join(x) for x in by_q])
    if not decoded:
        decoded.append(_decode_records(np.zeros((0, H), np.uint8), 0, (), (), item_pos, area_pos, k, na))
    # one column at a time: concatenated, its pieces dropped, put in id order (peak: the data plus one column)
    names = list(decoded[0])
    ids_all = np.concatenate([d.pop("ids") for d in decoded])
    order = sort_ids(ids_all)
    cols = {"ids": ids_all[order]}
    del ids_all
    for name in names[1:]:
        whole = np.concatenate([d.pop(name) for d in decoded])
        cols[name] = whole[order]
        del whole
    decoded.clear()
    n = int(cols["ids"].shape[0])
    ids, unit, proc, device, epoch = cols["ids"], cols["unit"], cols["procedure"], cols["device"], cols["epoch"]
    chan, rchan, overall, qcodes, answers, chosen = cols["chan"], cols["rchan"], cols["overall"], cols["qcode"], cols["answers"], cols["chosen"]
    review = np.zeros(n, dtype=np.int8)
    flagged = "".join(flagged_parts).encode("ascii")
    if flagged:
        fr = np.frombuffer(flagged, dtype=np.uint8).reshape(-1, 37)
        fids = np.ascontiguousarray(fr[:, :36]).view("S36").ravel()
        pos = np.minimum(np.searchsorted(ids, fids), max(n - 1, 0))
        # a row written after the compacted days were checked (an offline kiosk's replay) is not in this read
        hit = (ids[pos] == fids) if n else np.zeros(fids.shape[0], bool)
        review[pos[hit]] = fr[hit, 36].astype(np.int8) - 48
    member = np.zeros(n, np.int64 if campaign_id is not None else np.int8)  # no campaign: a placeholder column
    if campaign_id is not None and member_parts:
        mr = np.frombuffer("".join(member_parts).encode("ascii"), dtype=np.uint8).reshape(-1, 47)
        pos = np.searchsorted(ids, np.ascontiguousarray(mr[:, :36]).view("S36").ravel())
        member[pos] = rm.digits(mr[:, 36:46])
        rchan[pos] = mr[:, 46].astype(np.int64) - 48
    procs = (await session.execute(select(Procedure.id, Procedure.field))).all()
    field_names = tuple(["", *sorted({f for _i, f in procs if f})])
    lookup = np.zeros(max([i for i, _f in procs] + [int(proc.max()) if n else 0]) + 1, dtype=np.int32)
    for pid, f in procs:
        lookup[pid] = field_names.index(f) if f else 0
    return IndexResponses(
        items=tuple(items), areas=tuple(areas), field_names=field_names, questionnaires=tuple(questionnaires),
        response_ids=_frozen(ids), unit_ids=_frozen(unit), field_codes=_frozen(lookup[proc]), channel_codes=_frozen(chan),
        review_codes=_frozen(review), questionnaire_codes=_frozen(qcodes), receipt_channel_codes=_frozen(rchan),
        device_ids=_frozen(device), day=_frozen(_local_day(epoch, tz, period_start)), answers=_frozen(answers), overall=_frozen(overall),
        chosen=_frozen(chosen), member_ids=_frozen(member),
    )


async def _read_compacted(session, compacted, channels, dialect, layouts, qcode_of, item_pos, area_pos, k, na, decoded, flagged_parts) -> None:
    """Decode the compacted days' records (kept to ``channels``) into ``decoded``; their rows not accepted by the
    review into ``flagged_parts`` (id + review digit)."""
    from sqlalchemy import bindparam, text

    from survey.db.base import UTCDateTime
    from survey.responses import readmodel as rm
    from survey.responses.days import day_records, part_columns, part_size

    wanted = np.zeros(10, dtype=bool)
    wanted[[CHANNEL_CODES.index(c) for c in channels]] = True
    async for entry, blob in day_records(session, compacted.entries):
        off = 0
        for p in entry.parts:
            key = (p["q"], int(p["v"]))
            q_items, q_opts = layouts[key] if p.get("known") and key in layouts else ((), ())
            body_width = len(q_items) + len(q_opts)
            n_part, ints = int(p["n"]), str(p.get("ints", ""))
            size = part_size(n_part, body_width, ints) if ints in ("<i4", "<i8") else -1
            if size < 0 or rm.HEADER_WIDTH + body_width != int(p["width"]) or off + size > len(blob):
                raise ValueError("a compacted day of the read model does not match its questionnaire (run the migrations)")
            cols, body = part_columns(blob, off, n_part, body_width, ints)  # views on the day's bytes: nothing decoded
            off += size
            keep = wanted[np.clip(cols["chan"], 0, 9)]
            if not keep.all():
                cols = {c: v[keep] for c, v in cols.items()}
                body = body[keep]
            qcode = qcode_of.get(p["q"], 0) if q_items or q_opts else 0
            decoded.append(_with_body(cols, body, qcode, q_items, q_opts, item_pos, area_pos, k, na))
        del blob
    agg = "group_concat({}, '')" if dialect == "sqlite" else "string_agg({}, '')"
    # the id itself, not the record's copy of it (a row may have lost its record and still be in a compacted day)
    padded_id = "printf('%-36s', r.id)" if dialect == "sqlite" else "rpad(r.id, 36)"
    sql = text(
        f"SELECT {agg.format(padded_id + ' || ' + _case_digit('r.review_status', REVIEW_CODES))} FROM responses r "
        "WHERE r.review_status <> 'accepted' AND r.submitted_at >= :lo AND r.submitted_at < :hi AND r.channel IN :channels"
    ).bindparams(bindparam("lo", type_=UTCDateTime), bindparam("hi", type_=UTCDateTime), bindparam("channels", expanding=True))
    for lo, hi in compacted.covered:
        value = await session.scalar(sql, {"lo": lo, "hi": hi, "channels": list(channels)})
        if value:
            flagged_parts.append(value)


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
class ReceiptCounts:
    """Receipts received in a period, counted per (unit, field) by the database: raking margins and the
    QĐ 766 administrative rate need no more than these counts."""

    unit_ids: np.ndarray
    fields: np.ndarray
    dossiers: np.ndarray
    #: returned on a later local day than the appointment date
    overdue: np.ndarray
    #: rated "không hài lòng" (an overall rating in ``dissatisfied``) on any channel
    dissatisfied: np.ndarray

    def __len__(self) -> int:
        return int(self.unit_ids.shape[0])

    @property
    def total(self) -> int:
        return int(self.dossiers.sum())


def _local_date_sql(dialect: str, column: str, timezone: str, offset_seconds: int) -> str:
    if dialect == "sqlite":  # SQLite has no time zones: the zone's offset in the period (Việt Nam has no DST)
        return f"date({column}, '{offset_seconds:+d} seconds')"
    if not _SAFE_TZ.match(timezone):
        raise ValueError(f"unsafe time zone name {timezone!r}")
    return f"CAST(({column} AT TIME ZONE '{timezone}') AS DATE)"


_SAFE_TZ = __import__("re").compile(r"^[A-Za-z0-9_+\-/]{1,64}$")


async def load_receipt_counts(
    session: AsyncSession, *, period_start: date, period_end: date, timezone: str, dissatisfied: Sequence[int] = (1, 2)
) -> ReceiptCounts:
    """Receipts received in the period, grouped by (unit, field): dossiers, overdue, rated dissatisfied.

    Ratings are linked through ``responses.receipt_id`` (QR, receipt-bound kiosk; accepted only) and
    through campaign members' receipts.  One aggregate query: no receipt row reaches Python.
    """
    from sqlalchemy import bindparam, exists, literal_column, or_

    from survey.db.base import UTCDateTime
    from survey.db.models import CampaignMember

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    tz = ZoneInfo(timezone)
    offset = int(datetime.combine(period_start, time(12), tz).utcoffset().total_seconds())  # type: ignore[union-attr]
    start, end = _period_bounds(FrameFilter(period_from=period_start, period_to=period_end, timezone=timezone))
    bad = [int(v) for v in dissatisfied]
    r2 = Response.__table__.alias("r2")
    # the campaign members' bad ratings are few: one uncorrelated set (materialised once), not a probe per receipt
    campaign_bad = (
        select(CampaignMember.receipt_id)
        .join(r2, r2.c.id == CampaignMember.response_id)
        .where(r2.c.overall.in_(bad), CampaignMember.receipt_id.is_not(None))
    )
    rated_bad = or_(
        exists().where(Response.receipt_id == Receipt.id, Response.overall.in_(bad), Response.review_status == "accepted"),
        Receipt.id.in_(campaign_bad),
    )
    # returned after the appointment instant is necessary for a later local day: the cheap comparison first,
    # so the local dates are only computed for the few late-looking receipts
    late = literal_column(
        f"CASE WHEN receipts.returned_at IS NOT NULL AND receipts.appointment_at IS NOT NULL AND receipts.returned_at > receipts.appointment_at AND "
        f"{_local_date_sql(dialect, 'receipts.returned_at', timezone, offset)} > {_local_date_sql(dialect, 'receipts.appointment_at', timezone, offset)} "
        f"THEN 1 ELSE 0 END"
    )
    # grouped by (unit, procedure), fields attached here: "+ 0" keeps SQLite from walking the (unit_id, ...)
    # indexes for the grouping order instead of the received_at range (~0.7 s -> 0.25 s at 200k receipts)
    unit_key = (Receipt.unit_id + 0).label("unit")
    stmt = (
        select(unit_key, Receipt.procedure_id, func.count(), func.sum(late), func.sum(func.cast(rated_bad, Integer)))
        .where(
            Receipt.received_at >= bindparam("start", start, type_=UTCDateTime),
            Receipt.received_at < bindparam("end", end, type_=UTCDateTime),
        )
        .group_by(unit_key, Receipt.procedure_id)
    )
    rows = (await session.execute(stmt)).all()
    field_of = {pid: f or "" for pid, f in (await session.execute(select(Procedure.id, Procedure.field))).all()}
    sums: dict[tuple[int, str], list[int]] = {}
    for unit_id, proc_id, n, overdue, bad_n in rows:
        acc = sums.setdefault((int(unit_id), field_of.get(proc_id, "")), [0, 0, 0])
        acc[0] += int(n)
        acc[1] += int(overdue or 0)
        acc[2] += int(bad_n or 0)
    keys = sorted(sums)
    return ReceiptCounts(
        unit_ids=_ro([u for u, _f in keys], np.int64), fields=_ro([f for _u, f in keys], object),
        dossiers=_ro([sums[x][0] for x in keys], np.int64), overdue=_ro([sums[x][1] for x in keys], np.int64),
        dissatisfied=_ro([sums[x][2] for x in keys], np.int64),
    )


async def load_units(session: AsyncSession) -> list[tuple[int, str, str, str, int | None]]:
    """(id, code, name, kind, parent_id) of every unit, by code."""
    return [tuple(r) for r in (await session.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id).order_by(Unit.code))).all()]


# --------------------------------------------------------------------------- change between two stored periods


def change_between(before: Any, after: Any, level: float = 0.95) -> dict[str, Any] | None:
    """The change ``after - before`` of two stored cells of independent samples (two periods), with its interval.

    ``analysis.difference_independent`` (se = sqrt(se1² + se2²), Welch-Satterthwaite df when both df are known).
    Returns {"estimate", "low", "high", "significant", "p_value"}, or None when an estimate or standard error is missing.
    """
    import analysis as an

    if before is None or after is None or before.se is None or after.se is None or before.estimate is None or after.estimate is None:
        return None
    est = an.difference_independent(after.estimate, after.se, before.estimate, before.se, after.df or None, before.df or None)
    low, high = (float(x) for x in est.confint(level))
    p = getattr(est, "p_value", None)
    return {"estimate": float(est.estimate), "low": low, "high": high, "significant": bool(low > 0 or high < 0), "p_value": None if p is None else float(p)}
