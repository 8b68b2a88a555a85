"""Import units, procedures and receipts from UTF-8 CSV files (with or without a BOM).

Every file is read and validated in full before anything is written; the first problems are
reported as ``line N: <field>: <reason>`` (line 1 is the header) and nothing is stored.  Writes
happen in the caller's session and are committed once at the end (rolled back on any error).

Units and procedures are upserted on ``code`` (an existing code gets the file's name, kind, parent,
field...).  Receipts are idempotent on ``dossier_code`` (an existing receipt of the same unit is
kept; of another unit it is an error).

Columns:
- units: code, name, kind (province|department|commune|ward|special_zone), parent_code (optional;
  defined earlier in the file or already in the database)
- procedures: code, name, field, processing_days (optional, whole days)
- receipts: dossier_code, unit_code, procedure_code, received_at, appointment_date, returned_at,
  channel (direct|online|postal, default direct), counter.  Dates: ISO 8601 (2026-11-22,
  2026-11-22T08:30) or Vietnamese dd/mm/yyyy [HH:MM]; times without offset are local.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.db.models import Procedure, Unit
from survey.db.models.units import UNIT_KINDS
from survey.inputs import text_error
from survey.receipts import services as receipts
from survey.settings import Settings

EXAMPLES_DIR = Path(__file__).parent / "examples"
MAX_ERRORS = 20

UNIT_COLUMNS = ("code", "name", "kind", "parent_code")
PROCEDURE_COLUMNS = ("code", "name", "field", "processing_days")
RECEIPT_COLUMNS = ("dossier_code", "unit_code", "procedure_code", "received_at", "appointment_date", "returned_at", "channel", "counter")
_REQUIRED = {
    "units": ("code", "name", "kind"),
    "procedures": ("code", "name", "field"),
    "receipts": ("dossier_code", "unit_code", "received_at"),
}
_CHANNEL_ALIASES = {
    "direct": "direct", "trực tiếp": "direct", "truc tiep": "direct",
    "online": "online", "trực tuyến": "online", "truc tuyen": "online",
    "postal": "postal", "bưu chính": "postal", "buu chinh": "postal",
}  # fmt: skip

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class CsvImportError(ValueError):
    """The file is not importable; ``errors`` lists the first problems. Nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors[:MAX_ERRORS]
        super().__init__(str(errors[0]) if errors else "invalid file")


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int
    created: int
    updated: int  # units/procedures: changed by the upsert; receipts: already registered

    def summary(self, what: str) -> str:
        verb = "already registered" if what == "receipts" else "updated"
        return f"{self.rows} {what}: {self.created} created, {self.updated} {verb}"


# --------------------------------------------------------------------------- reading


def read_rows(
    source: str | Path | bytes, kind: str, *, columns: tuple[str, ...] | None = None, required: tuple[str, ...] | None = None
) -> list[tuple[int, dict[str, str]]]:
    """Decode (UTF-8, optional BOM), check the header, return (line number, row) for non-blank rows.

    ``kind`` names one of the files above; other features pass their own ``columns`` and ``required``.
    """
    if columns is None:
        columns = {"units": UNIT_COLUMNS, "procedures": PROCEDURE_COLUMNS, "receipts": RECEIPT_COLUMNS}[kind]
    required = _REQUIRED[kind] if required is None else required
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvImportError([RowError(line, "file", "is not valid UTF-8 (save the CSV as UTF-8)")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CsvImportError([RowError(1, "header", "the file is empty")]) from None
    errors = []
    unknown = [h for h in header if h not in columns]
    if unknown:
        errors.append(RowError(1, "header", f"unknown column(s) {', '.join(repr(u) for u in unknown)}; expected {', '.join(columns)}"))
    missing = [c for c in required if c not in header]
    if missing:
        errors.append(RowError(1, "header", f"missing column(s) {', '.join(missing)}"))
    if len(set(header)) != len(header):
        errors.append(RowError(1, "header", "a column appears twice"))
    if errors:
        raise CsvImportError(errors)
    rows = []
    line = reader.line_num
    try:
        for values in reader:
            start, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                errors.append(RowError(start, "row", f"has {len(values)} fields, the header has {len(header)}"))
                continue
            row = {c: "" for c in columns}
            row.update({h: v.strip() for h, v in zip(header, values, strict=False)})
            for h, v in zip(header, values, strict=False):
                if (reason := text_error(v)) is not None:  # NUL etc.: PostgreSQL cannot store them (survey/inputs.py)
                    errors.append(RowError(start, h, reason))
            rows.append((start, row))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "row", f"CSV syntax error: {exc}"))
    if errors:
        raise CsvImportError(errors)
    return rows


def _text(row: dict, name: str, line: int, errors: list, *, required: bool, max_len: int) -> str | None:
    value = row.get(name, "")
    if not value:
        if required:
            errors.append(RowError(line, name, "is required"))
        return None
    if len(value) > max_len:
        errors.append(RowError(line, name, f"is longer than {max_len} characters"))
        return None
    return value


def _code(row: dict, name: str, line: int, errors: list, *, required: bool, max_len: int) -> str | None:
    value = _text(row, name, line, errors, required=required, max_len=max_len)
    if value is not None and any(ch.isspace() for ch in value):
        errors.append(RowError(line, name, f"{value!r} must not contain spaces"))
        return None
    return value


def parse_datetime(value: str) -> datetime:
    """ISO 8601 or dd/mm/yyyy[ HH:MM[:SS]]; ValueError otherwise."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a date and time (use 2026-11-22T08:30 or 22/11/2026 08:30)")


def parse_date(value: str) -> date:
    for parse in (date.fromisoformat, lambda v: datetime.strptime(v, "%d/%m/%Y").date()):
        try:
            return parse(value)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise ValueError(f"{value!r} is not a date (use 2026-11-25 or 25/11/2026)") from None


def _duplicates(line: int, code: str | None, seen: dict[str, int], errors: list, field: str = "code") -> None:
    if code is None:
        return
    if code in seen:
        errors.append(RowError(line, field, f"{code!r} appears twice (also on line {seen[code]})"))
    else:
        seen[code] = line


def _stop(errors: list[RowError]) -> None:
    if errors:
        raise CsvImportError(sorted(errors, key=lambda e: e.line))


# --------------------------------------------------------------------------- units


async def import_units(session: AsyncSession, source: str | Path | bytes, progress: Progress | None = None, *, actor: str = "import", source_name: str | None = None) -> ImportResult:
    rows = read_rows(source, "units")
    errors: list[RowError] = []
    parsed = []
    seen: dict[str, int] = {}
    for line, row in rows:
        code = _code(row, "code", line, errors, required=True, max_len=32)
        name = _text(row, "name", line, errors, required=True, max_len=255)
        kind = row.get("kind", "").lower()
        if not kind:
            errors.append(RowError(line, "kind", "is required"))
        elif kind not in UNIT_KINDS:
            errors.append(RowError(line, "kind", f"{row['kind']!r} is not one of {', '.join(UNIT_KINDS)}"))
        parent = _code(row, "parent_code", line, errors, required=False, max_len=32)
        _duplicates(line, code, seen, errors)
        parsed.append((line, code, name, kind, parent))
    existing = {u.code: u for u in await session.scalars(select(Unit))}
    by_id = {u.id: u.code for u in existing.values()}
    parent_of: dict[str, str | None] = {u.code: by_id.get(u.parent_id) for u in existing.values()}
    defined: set[str] = set(existing)
    for line, code, _name, _kind, parent in parsed:
        if parent is not None:
            if parent == code:
                errors.append(RowError(line, "parent_code", "a unit cannot be its own parent"))
            elif parent not in defined:
                errors.append(RowError(line, "parent_code", f"unknown unit {parent!r} (define it on an earlier line or import it first)"))
        if code is not None:
            defined.add(code)
            parent_of[code] = parent
    for line, code, *_rest in parsed:  # an upsert may re-parent an existing unit: refuse cycles
        walk, steps = code, 0
        while walk is not None and steps <= len(parent_of):
            walk, steps = parent_of.get(walk), steps + 1
            if walk == code:
                errors.append(RowError(line, "parent_code", "would make the hierarchy circular"))
                break
    _stop(errors)
    created = updated = 0
    units = dict(existing)
    try:
        for _line, code, name, kind, parent in parsed:
            parent_id = units[parent].id if parent else None
            unit = units.get(code)
            if unit is None:
                unit = Unit(code=code, name=name, kind=kind, parent_id=parent_id)
                session.add(unit)
                units[code] = unit
                created += 1
            elif (unit.name, unit.kind, unit.parent_id) != (name, kind, parent_id):
                unit.name, unit.kind, unit.parent_id = name, kind, parent_id
                updated += 1
            await session.flush()  # children on later lines need this unit's id
            if progress is not None:
                progress(1)
        audit.record(session, actor, "import.units", "unit", None, rows=len(parsed), created=created, updated=updated, file=source_name or _source_label(source))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ImportResult(rows=len(parsed), created=created, updated=updated)


# --------------------------------------------------------------------------- procedures


async def import_procedures(session: AsyncSession, source: str | Path | bytes, progress: Progress | None = None, *, actor: str = "import", source_name: str | None = None) -> ImportResult:
    rows = read_rows(source, "procedures")
    errors: list[RowError] = []
    parsed = []
    seen: dict[str, int] = {}
    for line, row in rows:
        code = _code(row, "code", line, errors, required=True, max_len=64)
        name = _text(row, "name", line, errors, required=True, max_len=500)
        field_ = _text(row, "field", line, errors, required=True, max_len=255)
        days = None
        raw = row.get("processing_days", "")
        if raw:
            try:
                days = int(raw)
                if not 0 <= days <= 3650:
                    raise ValueError
            except ValueError:
                errors.append(RowError(line, "processing_days", f"{raw!r} is not a whole number of days between 0 and 3650"))
        _duplicates(line, code, seen, errors)
        parsed.append((code, name, field_, days))
    _stop(errors)
    existing = {p.code: p for p in await session.scalars(select(Procedure).where(Procedure.code.in_([p[0] for p in parsed])))} if parsed else {}
    created = updated = 0
    try:
        for code, name, field_, days in parsed:
            proc = existing.get(code)
            if proc is None:
                session.add(Procedure(code=code, name=name, field=field_, processing_days=days))
                created += 1
            elif (proc.name, proc.field, proc.processing_days) != (name, field_, days):
                proc.name, proc.field, proc.processing_days = name, field_, days
                updated += 1
            if progress is not None:
                progress(1)
        audit.record(session, actor, "import.procedures", "procedure", None, rows=len(parsed), created=created, updated=updated, file=source_name or _source_label(source))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ImportResult(rows=len(parsed), created=created, updated=updated)


# --------------------------------------------------------------------------- receipts


async def import_receipts(
    session: AsyncSession, source: str | Path | bytes, settings: Settings, progress: Progress | None = None, *, actor: str = "import",
    source_name: str | None = None,
) -> ImportResult:
    rows = read_rows(source, "receipts")
    errors: list[RowError] = []
    items: list[receipts.ReceiptInput] = []
    lines: list[int] = []
    for line, row in rows:
        n = len(errors)
        received_at = appointment = returned_at = None
        if not row["received_at"]:
            errors.append(RowError(line, "received_at", "is required"))
        else:
            try:
                received_at = parse_datetime(row["received_at"])
            except ValueError as exc:
                errors.append(RowError(line, "received_at", str(exc)))
        if row["appointment_date"]:
            try:
                appointment = parse_date(row["appointment_date"])
            except ValueError as exc:
                errors.append(RowError(line, "appointment_date", str(exc)))
        if row["returned_at"]:
            try:
                returned_at = parse_datetime(row["returned_at"])
            except ValueError as exc:
                errors.append(RowError(line, "returned_at", str(exc)))
        channel = _CHANNEL_ALIASES.get(row["channel"].lower(), row["channel"].lower()) if row["channel"] else "direct"
        if len(errors) == n:
            items.append(
                receipts.ReceiptInput(
                    dossier_code=row["dossier_code"],
                    unit_code=row["unit_code"],
                    received_at=received_at,
                    procedure_code=row["procedure_code"] or None,
                    appointment_date=appointment,
                    returned_at=returned_at,
                    channel=channel,
                    counter=row["counter"] or None,
                )
            )
            lines.append(line)
    try:
        results = await receipts.register_receipts_bulk(session, items, None, settings, commit=False, progress=progress)
    except receipts.ReceiptValidationError as exc:
        await session.rollback()
        errors.extend(RowError(lines[e.index or 0], e.field, e.message) for e in exc.errors)
    except BaseException:
        await session.rollback()
        raise
    if errors:  # row-level parse errors also stop the import: undo the flushed inserts
        await session.rollback()
        _stop(errors)
    created = sum(r.created for r in results)
    try:
        audit.record(session, actor, "import.receipts", "receipt", None, rows=len(results), created=created, unchanged=len(results) - created, file=source_name or _source_label(source))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ImportResult(rows=len(results), created=created, updated=len(results) - created)


def _source_label(source: str | Path | bytes) -> str:
    """The file's name for the audit log (its path may say who ran it; the content is never logged)."""
    return Path(source).name if isinstance(source, str | Path) else "-"
