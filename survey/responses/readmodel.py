"""The columnar read model of a response: one fixed-width ASCII record written with the row.

``responses.packed`` holds everything immutable an index run reads, so the loader's SQL per row is
nothing but concatenating this column (``survey.stats.load_index_responses``) and Python decodes the
records with numpy.  Every write path computes it with :func:`pack` (``store_response``; the bulk demo
inserts through the column default :func:`column_default`); the migration ``0009_read_model`` and
:func:`fill_missing` pack rows that have none with the same function; :func:`pack_arrays` is the
vectorised twin for bulk loads (the benchmark), tested equal to :func:`pack`.

Record (positions from 0; numbers zero-padded decimal):

=====  =====  ==============================================================================
pos    width  field
=====  =====  ==============================================================================
0      36     response id, left-justified, space-padded
36     10     unit id
46     10     procedure id: the response's, else its receipt's, else 0
56     10     kiosk device id (0 = none)
66     12     submitted_at, Unix seconds (UTC, truncated)
78     1      response channel, index into ``CHANNEL_CODES``
79     1      the receipt's channel (how the dossier was submitted), index into ``RECEIPT_CHANNEL_CODES``
80     1      overall rating 0..5 (0 = none)
81     8      questionnaire key: ``questionnaire_key(id, version)`` (8 hex digits)
89     k      one digit per item in the questionnaire's own item order (0 = "Không ý kiến" / not answered)
89+k   o      ``1``/``0`` per expectation option in the questionnaire's option order
=====  =====  ==============================================================================

Mutable things (the review status that integrity screening changes, comments that retention purges)
stay out of the record.  No personal data is in it.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np

#: response channels and receipt channels as the one-digit codes of the record
CHANNEL_CODES = ("", "qr", "kiosk", "campaign", "web", "paper", "expert")
RECEIPT_CHANNEL_CODES = ("", "direct", "online", "postal")
ID_WIDTH = 36
HEADER_WIDTH = 89
#: (name, start, width) of the numeric header fields
FIELDS = (("unit", 36, 10), ("procedure", 46, 10), ("device", 56, 10), ("epoch", 66, 12))
CHANNEL_POS, RECEIPT_CHANNEL_POS, OVERALL_POS, QKEY_POS, QKEY_WIDTH = 78, 79, 80, 81, 8


def questionnaire_key(questionnaire_id: str, version: int) -> str:
    """8 hex digits naming a questionnaire version in the record (no table of codes to keep)."""
    return hashlib.sha256(f"{questionnaire_id}\x1f{int(version)}".encode()).hexdigest()[:QKEY_WIDTH]


@lru_cache(maxsize=64)
def layout(questionnaire_id: str, version: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(item ids, expectation option ids) of a questionnaire version in record order; empty if unknown."""
    from survey.questionnaires import registry

    q = registry.all_questionnaires().get((questionnaire_id, int(version)))
    if q is None:
        return (), ()
    return tuple(q.item_ids()), tuple(o.id for o in q.expectations.options) if q.expectations else ()


def known_layouts() -> dict[tuple[str, int], tuple[tuple[str, ...], tuple[str, ...]]]:
    """Layout of every questionnaire version in the registry, by (id, version)."""
    from survey.questionnaires import registry

    return {key: layout(*key) for key in sorted(registry.all_questionnaires())}


def _epoch(at: datetime) -> int:
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return calendar.timegm(at.timetuple())


def _num(value: Any, width: int, name: str) -> str:
    v = int(value or 0)
    s = str(v)
    if v < 0 or len(s) > width:
        raise ValueError(f"{name} {v} does not fit the read model ({width} digits)")
    return s.zfill(width)


def _digit(value: Any, name: str) -> str:
    v = 0 if value is None else int(value)
    if not 0 <= v <= 9:
        raise ValueError(f"{name} {v} is not one digit (the read model stores 0..9)")
    return str(v)


def pack(
    *,
    id: str,
    unit_id: int,
    procedure_id: int | None,
    device_id: int | None,
    submitted_at: datetime,
    channel: str,
    questionnaire_id: str,
    questionnaire_version: int,
    answers: Mapping[str, Any] | None,
    overall: int | None,
    expectations: Sequence[str] | None,
    receipt_procedure_id: int | None = None,
    receipt_channel: str | None = None,
) -> str:
    """The record of one response (see the module docstring). Raises ValueError if a value does not fit."""
    if len(id) > ID_WIDTH or not id.isascii() or ";" in id:
        raise ValueError(f"response id {id!r} does not fit the read model")
    items, options = layout(questionnaire_id, questionnaire_version)
    answers = answers or {}
    chosen = set(expectations or ())
    return "".join((
        id.ljust(ID_WIDTH),
        _num(unit_id, 10, "unit_id"),
        _num(procedure_id or receipt_procedure_id or 0, 10, "procedure_id"),
        _num(device_id, 10, "device_id"),
        _num(_epoch(submitted_at), 12, "submitted_at"),
        str(CHANNEL_CODES.index(channel)) if channel in CHANNEL_CODES else "0",
        str(RECEIPT_CHANNEL_CODES.index(receipt_channel)) if receipt_channel in RECEIPT_CHANNEL_CODES else "0",
        _digit(overall, "overall"),
        questionnaire_key(questionnaire_id, questionnaire_version),
        "".join(_digit(answers.get(i), f"answers.{i}") for i in items),
        "".join("1" if o in chosen else "0" for o in options),
    ))


def pack_values(values: Mapping[str, Any], receipt_procedure_id: int | None = None, receipt_channel: str | None = None) -> str:
    """:func:`pack` of an insert's column values (``responses`` column names)."""
    return pack(
        id=values["id"], unit_id=values["unit_id"], procedure_id=values.get("procedure_id"), device_id=values.get("device_id"),
        submitted_at=values["submitted_at"], channel=values["channel"], questionnaire_id=values["questionnaire_id"],
        questionnaire_version=values["questionnaire_version"], answers=values.get("answers"), overall=values.get("overall"),
        expectations=values.get("expectations"), receipt_procedure_id=receipt_procedure_id, receipt_channel=receipt_channel,
    )


def _receipt_facts(connection: Any, receipt_id: int | None) -> tuple[int | None, str | None]:
    if receipt_id is None:
        return None, None
    from sqlalchemy import select

    from survey.db.models import Receipt

    row = connection.execute(select(Receipt.procedure_id, Receipt.channel).where(Receipt.id == receipt_id)).first()
    return (row[0], row[1]) if row is not None else (None, None)


def column_default(context: Any) -> str:
    """Column default of ``responses.packed``: an insert that does not give the record gets it packed from its
    own values (the receipt's procedure and channel are read when the row names a receipt)."""
    values = dict(context.get_current_parameters())
    if values.get("submitted_at") is None:
        from survey.db.base import utcnow

        values["submitted_at"] = utcnow()  # the column default runs after this one only if absent: keep them equal
    return pack_values(values, *_receipt_facts(context.connection, values.get("receipt_id")))


def fill_missing(connection: Any, batch: int = 5000) -> int:
    """Pack every row of ``responses`` whose record is missing (synchronous connection); returns how many."""
    from sqlalchemy import bindparam, select, update

    from survey.db.models import Receipt, Response

    r = Response.__table__
    done = 0
    while True:
        rows = connection.execute(
            select(r.c.id, r.c.unit_id, r.c.procedure_id, r.c.device_id, r.c.submitted_at, r.c.channel, r.c.questionnaire_id,
                   r.c.questionnaire_version, r.c.answers, r.c.overall, r.c.expectations, Receipt.procedure_id, Receipt.channel)
            .outerjoin(Receipt, Receipt.id == r.c.receipt_id).where(r.c.packed.is_(None)).limit(batch)
        ).all()
        if not rows:
            return done
        params = [
            {"rid": row[0], "rec": pack_values(dict(zip(_PACK_COLUMNS, row[:11], strict=True)), row[11], row[12])} for row in rows
        ]
        connection.execute(update(r).where(r.c.id == bindparam("rid")).values(packed=bindparam("rec")), params)
        done += len(rows)


_PACK_COLUMNS = ("id", "unit_id", "procedure_id", "device_id", "submitted_at", "channel", "questionnaire_id", "questionnaire_version",
                 "answers", "overall", "expectations")


def digits(block: np.ndarray) -> np.ndarray:
    """Integers (int64) from a (n, w) block of ASCII digits."""
    w = block.shape[1]
    return (block.astype(np.int64) - 48) @ (10 ** np.arange(w - 1, -1, -1, dtype=np.int64))


def decode_header(rec: np.ndarray) -> dict[str, np.ndarray]:
    """The header fields of (m, width) ASCII records: ``ids`` (S36); ``unit``, ``procedure``, ``device`` (int32
    where every value fits, else int64), ``epoch`` (int64); ``chan``, ``rchan``, ``overall`` (int8).

    Raises ValueError when a numeric position holds something other than a digit."""
    m = rec.shape[0]
    nums = rec[:, ID_WIDTH:QKEY_POS]
    if ((nums < 48) | (nums > 57)).any():
        raise ValueError("stored responses hold a value outside the packed record (answers must be 0..9)")
    out = {"ids": np.ascontiguousarray(rec[:, :ID_WIDTH]).view(f"S{ID_WIDTH}").ravel()}
    for name, a, w in FIELDS:
        v = digits(rec[:, a : a + w])
        # ids as 32-bit integers where they fit (half the memory of a 10M-respondent run); seconds stay 64-bit
        out[name] = v.astype(np.int32) if name != "epoch" and (not m or int(v.max()) < 2**31) else v
    for name, pos in (("chan", CHANNEL_POS), ("rchan", RECEIPT_CHANNEL_POS), ("overall", OVERALL_POS)):
        out[name] = (rec[:, pos] - 48).astype(np.int8)
    return out


def _digit_block(values: np.ndarray, width: int, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    if (v < 0).any() or (v >= 10**width).any():
        raise ValueError(f"{name} does not fit the read model ({width} digits)")
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((v[:, None] // powers) % 10 + 48).astype(np.uint8)


def pack_arrays(
    *,
    ids: Sequence[str],
    unit_ids: np.ndarray,
    procedure_ids: np.ndarray,
    device_ids: np.ndarray,
    epochs: np.ndarray,
    channels: Sequence[str],
    receipt_channels: Sequence[str] | None,
    overall: np.ndarray,
    questionnaire: tuple[str, int],
    answers: Mapping[str, np.ndarray],
    chosen: Mapping[str, np.ndarray],
) -> list[str]:
    """Vectorised :func:`pack` of many responses of ONE questionnaire version (bulk loads).

    ``procedure_ids`` already resolved (the response's, else the receipt's, else 0); ``epochs`` Unix
    seconds; ``answers[item]`` 0..9 per row (items of the questionnaire not given are 0); ``chosen[option]``
    bool per row.  Returns the records as strings, equal to :func:`pack` row by row.
    """
    n = len(ids)
    items, options = layout(*questionnaire)
    idb = np.array(ids, dtype=f"S{ID_WIDTH}")
    if n and (np.char.str_len(idb) != np.char.str_len(np.array(ids, dtype=str))).any():
        raise ValueError("a response id does not fit the read model")
    idcols = np.frombuffer(np.char.ljust(idb, ID_WIDTH).tobytes(), dtype=np.uint8).reshape(n, ID_WIDTH)
    code = {c: i for i, c in enumerate(CHANNEL_CODES)}
    rcode = {c: i for i, c in enumerate(RECEIPT_CHANNEL_CODES)}
    ch = np.array([code.get(c, 0) for c in channels], dtype=np.int64) if n else np.zeros(0, np.int64)
    rch = np.array([rcode.get(c, 0) for c in receipt_channels], dtype=np.int64) if receipt_channels is not None else np.zeros(n, np.int64)
    qkey = np.frombuffer(questionnaire_key(*questionnaire).encode(), dtype=np.uint8)
    zero = np.zeros(n, np.int64)
    parts = [
        idcols,
        _digit_block(unit_ids, 10, "unit_id"),
        _digit_block(procedure_ids, 10, "procedure_id"),
        _digit_block(np.where(np.asarray(device_ids) > 0, device_ids, 0), 10, "device_id"),
        _digit_block(epochs, 12, "submitted_at"),
        _digit_block(ch, 1, "channel"),
        _digit_block(rch, 1, "receipt_channel"),
        _digit_block(overall, 1, "overall"),
        np.broadcast_to(qkey, (n, QKEY_WIDTH)),
        *[_digit_block(answers.get(i, zero), 1, f"answers.{i}") for i in items],
        *[(np.asarray(chosen.get(o, zero), dtype=bool).astype(np.uint8) + 48)[:, None] for o in options],
    ]
    rec = np.ascontiguousarray(np.concatenate(parts, axis=1))
    width = rec.shape[1]
    return [b.decode("ascii") for b in rec.view(f"S{width}").ravel().tolist()] if n else []
