"""Parse a sampling frame from CSV (pure: text in, checked rows out; nothing touches the database).

Columns (header required, order free): ``receipt_id`` and/or ``dossier_code`` (one of them per row),
``unit_code``, ``procedure_code`` (optional value), ``field``, ``channel``, ``received_at``
(``YYYY-MM-DD``, ``DD/MM/YYYY`` or an ISO date-time).  A broken row stops the import with
``line N: column: reason`` (N counts the header as line 1), so nothing is written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from survey.db.models.receipts import RECEIPT_CHANNELS
from survey.inputs import text_error

REQUIRED_COLUMNS = ("unit_code", "field", "channel", "received_at")
OPTIONAL_COLUMNS = ("receipt_id", "dossier_code", "procedure_code")
MAX_FIELD = {"dossier_code": 40, "unit_code": 32, "procedure_code": 64, "field": 255}


class FrameCsvError(ValueError):
    """A problem in the CSV; ``line`` is 1-based (the header is line 1), ``column`` names the field."""

    def __init__(self, line: int, column: str, reason: str):
        super().__init__(f"line {line}: {column}: {reason}")
        self.line = line
        self.column = column
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FrameRow:
    line: int
    receipt_id: int | None
    dossier_code: str
    unit_code: str
    procedure_code: str
    field: str
    channel: str
    received_on: date


def _parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    return datetime.fromisoformat(text).date()


def parse_frame_csv(data: bytes | str) -> list[FrameRow]:
    """Every row of the CSV, checked. Raises FrameCsvError on the first broken row or a missing column."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FrameCsvError(1, "file", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = data.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise FrameCsvError(1, "header", "the file is empty") from None
    for col in REQUIRED_COLUMNS:
        if col not in header:
            raise FrameCsvError(1, col, "missing column")
    if "receipt_id" not in header and "dossier_code" not in header:
        raise FrameCsvError(1, "dossier_code", "missing column (receipt_id or dossier_code is needed)")
    pos = {name: i for i, name in enumerate(header)}
    rows: list[FrameRow] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not record or all(not c.strip() for c in record):
            continue
        if len(record) != len(header):
            raise FrameCsvError(line, "row", f"has {len(record)} values, the header has {len(header)}")

        def get(name: str, _record: list[str] = record) -> str:
            i = pos.get(name)
            return _record[i].strip() if i is not None else ""

        for name, limit in MAX_FIELD.items():
            if len(get(name)) > limit:
                raise FrameCsvError(line, name, f"longer than {limit} characters")
        for name, value in zip(header, record, strict=False):
            if (reason := text_error(value)) is not None:  # the application's one character rule
                raise FrameCsvError(line, name, reason)
        rid_text, dossier = get("receipt_id"), get("dossier_code")
        receipt_id = None
        if rid_text:
            if not rid_text.isdigit() or int(rid_text) <= 0:
                raise FrameCsvError(line, "receipt_id", f"must be a positive integer, got {rid_text!r}")
            receipt_id = int(rid_text)
        if receipt_id is None and not dossier:
            raise FrameCsvError(line, "dossier_code", "empty (give receipt_id or dossier_code)")
        key = dossier or f"#{receipt_id}"
        if key in seen:
            raise FrameCsvError(line, "dossier_code" if dossier else "receipt_id", f"duplicate of line {seen[key]}")
        seen[key] = line
        unit_code = get("unit_code")
        if not unit_code:
            raise FrameCsvError(line, "unit_code", "empty")
        field = get("field")
        if not field:
            raise FrameCsvError(line, "field", "empty")
        channel = get("channel").lower()
        if channel not in RECEIPT_CHANNELS:
            raise FrameCsvError(line, "channel", f"must be one of {', '.join(RECEIPT_CHANNELS)}, got {get('channel')!r}")
        raw_date = get("received_at")
        try:
            received = _parse_date(raw_date)
        except ValueError:
            raise FrameCsvError(line, "received_at", f"not a date: {raw_date!r} (use YYYY-MM-DD)") from None
        rows.append(FrameRow(line, receipt_id, dossier, unit_code, get("procedure_code"), field, channel, received))
    if not rows:
        raise FrameCsvError(2, "row", "the file has a header but no rows")
    return rows
