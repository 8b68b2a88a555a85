"""Register receipts (one at a time, in batches, from CSV) and build their survey links.

A receipt is identified by its dossier code (mã hồ sơ).  Registering the same code again for the
same unit returns the existing receipt and the same token (idempotent); the same code for another
unit is a conflict.  Validation is all-or-nothing: :func:`register_receipts_bulk` checks every item
first and writes nothing when any item is wrong.

Public functions (stable; the admin, demo, import and benchmark code call them):

- ``parse_dossier_code(code) -> DossierCode`` / ``dossier_code_error(code) -> str | None``
- ``register_receipt(session, data, client, settings) -> RegisteredReceipt``
- ``register_receipts_bulk(session, items, client, settings, *, commit=True, progress=None)``
- ``get_receipt_for_client(session, dossier_code, client, settings) -> RegisteredReceipt | None``
- ``receipt_token(settings, receipt_id, expires_on)``, ``survey_url(settings, token)``,
  ``verify_receipt_token(settings, token)``, ``slip_context(session, settings, token)``
- ``synthetic_receipts(n, unit_code, ...)`` valid inputs for benchmarks and the demo
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.base import utcnow
from survey.db.models import ApiClient, Procedure, Receipt, Unit
from survey.db.models.receipts import RECEIPT_CHANNELS
from survey.db.write_turns import sqlite_write_turn
from survey.receipts import tokens
from survey.settings import Settings

#: largest batch accepted by POST /api/v1/receipts/batch
MAX_BATCH = 500
#: receipts received earlier are refused (422): their survey link would expire before the token epoch
EARLIEST_RECEIVED_AT = datetime.combine(tokens.EPOCH, time(0), tzinfo=UTC)
_CHUNK = 500  # rows per IN (...) query

# Thông tư 01/2018/TT-VPCP, art. 19: mã hồ sơ = agency code - YYMMDD - XXXX.  The agency code is the
# 4-level code of QCVN 102:2016/BTTTT, V1V2V3.Z1Z2.Y1Y2.MX1X2 (e.g. 000.00.01.H01, 000.20.35.H29):
# three groups of 3, 2 and 2 letters/digits (levels 4..2), then the level-1 code: a letter (H = province,
# G = ministry, ...) and two digits.  XXXX is the day's running number; busy centres print 5 or 6 digits,
# so 4 to 6 digits are accepted (never all zeros).  YYMMDD must be a real date.
DOSSIER_CODE_RE = re.compile(
    r"^(?P<agency>[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2})-(?P<date>[0-9]{6})-(?P<seq>[0-9]{4,6})$"
)


@dataclass(frozen=True, slots=True)
class DossierCode:
    code: str
    agency: str
    received_on: date
    sequence: int


def parse_dossier_code(code: str) -> DossierCode:
    """Normalise (strip, upper-case) and check a dossier code; ValueError with a reason otherwise."""
    text = (code or "").strip().upper()
    if not text:
        raise ValueError("is required")
    m = DOSSIER_CODE_RE.match(text)
    if m is None:
        raise ValueError(
            "must look like 000.00.01.H01-261122-0001 (agency code V1V2V3.Z1Z2.Y1Y2.MX1X2, "
            "date YYMMDD, sequence XXXX; Thông tư 01/2018/TT-VPCP art. 19)"
        )
    raw = m.group("date")
    try:
        day = date(2000 + int(raw[:2]), int(raw[2:4]), int(raw[4:]))
    except ValueError:
        raise ValueError(f"date part {raw} is not a real date (YYMMDD)") from None
    seq = int(m.group("seq"))
    if seq == 0:
        raise ValueError("sequence number must not be 0000")
    return DossierCode(code=text, agency=m.group("agency"), received_on=day, sequence=seq)


def dossier_code_error(code: str) -> str | None:
    try:
        parse_dossier_code(code)
    except ValueError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- inputs, results, errors


@dataclass(slots=True)
class ReceiptInput:
    """One receipt as given by an API client, a CSV row or the demo seeder."""

    dossier_code: str
    unit_code: str
    received_at: datetime  # naive values are local time (settings.timezone)
    procedure_code: str | None = None
    appointment_date: date | None = None
    returned_at: datetime | None = None
    channel: str = "direct"
    counter: str | None = None


@dataclass(frozen=True, slots=True)
class RegisteredReceipt:
    id: int
    dossier_code: str
    unit_code: str
    unit_name: str
    procedure_code: str | None
    received_at: datetime
    appointment_date: date | None
    returned_at: datetime | None
    channel: str
    counter: str | None
    token: str
    survey_url: str
    expires_on: date
    created: bool  # False when the dossier code was already registered


@dataclass(frozen=True, slots=True)
class ReceiptFieldError:
    index: int | None  # position in the batch (None for a single receipt)
    field: str
    message: str

    @property
    def path(self) -> str:
        return self.field if self.index is None else f"items[{self.index}].{self.field}"


class ReceiptValidationError(ValueError):
    """One or more inputs are invalid (answer 422); nothing was written."""

    def __init__(self, errors: list[ReceiptFieldError]):
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors[:5]))
        self.errors = errors


class ReceiptConflict(ReceiptValidationError):
    """A dossier code is already registered for another unit (answer 409); nothing was written."""


class ReceiptForbidden(ReceiptValidationError):
    """The API client may not register receipts for this unit (answer 403); nothing was written."""


# --------------------------------------------------------------------------- tokens and links


def local_zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.timezone)


def local_day(settings: Settings, at: datetime) -> date:
    """The local calendar day of an instant (the YYMMDD a dossier code received then carries)."""
    return _as_aware(at, settings).astimezone(local_zone(settings)).date()


def local_today(settings: Settings) -> date:
    return datetime.now(local_zone(settings)).date()


def receipt_token(settings: Settings, receipt_id: int, expires_on: date) -> str:
    """The receipt's token.  A row stored before received_at was range-checked may expire before the
    token epoch; its link is long expired either way, so it gets a token that expires on the epoch (410)."""
    kid, keys = settings.signing_keys()
    return tokens.mint("receipt", receipt_id, expires_on=max(expires_on, tokens.EPOCH), kid=kid, keys=keys)


def verify_receipt_token(settings: Settings, token: str, today: date | None = None) -> tokens.TokenClaims:
    """Raises tokens.TokenError (404) or tokens.TokenExpired (410)."""
    _kid, keys = settings.signing_keys()
    return tokens.verify(token, "receipt", keys, today or local_today(settings))


def survey_url(settings: Settings, token: str) -> str:
    """``HTTP(S)://HOST/R/TOKEN`` with scheme and host upper-cased, so the QR code uses alphanumeric mode."""
    parts = urlsplit(settings.public_url.rstrip("/"))
    return f"{parts.scheme.upper()}://{parts.netloc.upper()}{parts.path}/R/{token.upper()}"


def canonical_survey_url(settings: Settings, token: str) -> str:
    """``http(s)://host/r/TOKEN``: the link as people and systems use it (JSON, e-mail); only the QR code
    and the printed slip use the upper-case form of :func:`survey_url`."""
    parts = urlsplit(settings.public_url.rstrip("/"))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}/r/{token.upper()}"


def public_link(settings: Settings, path: str) -> str:
    return settings.public_url.rstrip("/") + path


def expires_on_for(settings: Settings, received_at: datetime) -> date:
    return received_at.astimezone(local_zone(settings)).date() + timedelta(days=settings.token_ttl_days)


def _expiry_instant(settings: Settings, expires_on: date) -> datetime:
    """The last moment the token is valid (end of its expiry day, local time) as UTC."""
    end = datetime.combine(expires_on + timedelta(days=1), time(0), tzinfo=local_zone(settings))
    return (end - timedelta(microseconds=1)).astimezone(UTC)


def _as_aware(value: datetime, settings: Settings) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone(settings))
    return value.astimezone(UTC)


def _appointment_instant(settings: Settings, day: date | None) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=local_zone(settings)).astimezone(UTC)


def _local_date(settings: Settings, value: datetime | None) -> date | None:
    return None if value is None else value.astimezone(local_zone(settings)).date()


def _registered(settings: Settings, receipt: Receipt, unit: Unit, procedure_code: str | None, created: bool) -> RegisteredReceipt:
    expires_on = _local_date(settings, receipt.token_expires_at)
    assert expires_on is not None
    token = receipt_token(settings, receipt.id, expires_on)
    return RegisteredReceipt(
        id=receipt.id,
        dossier_code=receipt.dossier_code,
        unit_code=unit.code,
        unit_name=unit.name,
        procedure_code=procedure_code,
        received_at=receipt.received_at,
        appointment_date=_local_date(settings, receipt.appointment_at),
        returned_at=receipt.returned_at,
        channel=receipt.channel,
        counter=receipt.counter,
        token=token,
        survey_url=survey_url(settings, token),
        expires_on=expires_on,
        created=created,
    )


# --------------------------------------------------------------------------- validation


async def _by_code(session: AsyncSession, model, codes: set[str]) -> dict:
    found: dict = {}
    ordered = sorted(c for c in codes if c)  # no query at all when nothing is asked (e.g. no procedure codes)
    for i in range(0, len(ordered), _CHUNK):
        rows = await session.scalars(select(model).where(model.code.in_(ordered[i : i + _CHUNK])))
        found.update({r.code: r for r in rows})
    return found


async def _existing_receipts(session: AsyncSession, codes: set[str]) -> dict[str, Receipt]:
    found: dict[str, Receipt] = {}
    ordered = sorted(codes)
    for i in range(0, len(ordered), _CHUNK):
        rows = await session.scalars(select(Receipt).where(Receipt.dossier_code.in_(ordered[i : i + _CHUNK])))
        found.update({r.dossier_code: r for r in rows})
    return found


async def _allowed_unit_ids(session: AsyncSession, client: ApiClient | None, used: Set[int] = frozenset()) -> set[int] | None:
    """Units a restricted client may use: its own unit and every unit below it (None = unrestricted).

    When every unit in ``used`` is the client's own unit, that is all the caller needs to know and the
    unit tree is not read (the common case: a one-stop-shop system registering for its own office).
    """
    if client is None or client.unit_id is None:
        return None
    if used <= {client.unit_id}:
        return {client.unit_id}
    rows = (await session.execute(select(Unit.id, Unit.parent_id))).all()
    children: dict[int, list[int]] = {}
    for uid, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(uid)
    allowed, todo = set(), [client.unit_id]
    while todo:
        uid = todo.pop()
        if uid not in allowed:
            allowed.add(uid)
            todo.extend(children.get(uid, []))
    return allowed


def _may_see(receipt: Receipt, client: ApiClient | None, allowed: Set[int] | None, settings: Settings) -> bool:
    """May ``client`` read (and replay, filling ``returned_at``) this stored receipt?

    Its own receipts always; with ``HAILONG_API_SHARE_UNIT_RECEIPTS`` a client restricted to a unit also
    those of its units (registered by another client or imported).  CSV imports and the demo
    (``client`` None) are the administrator's and see everything.
    """
    if client is None or receipt.api_client_id == client.id:
        return True
    return bool(settings.api_share_unit_receipts and allowed is not None and receipt.unit_id in allowed)


@dataclass(slots=True)
class _Checked:
    item: ReceiptInput
    code: str
    unit: Unit
    procedure: Procedure | None
    received_at: datetime
    returned_at: datetime | None
    counter: str | None
    existing: Receipt | None = None


@dataclass(slots=True)
class _Plan:
    checked: list[_Checked] = field(default_factory=list)
    errors: list[ReceiptFieldError] = field(default_factory=list)
    conflicts: list[ReceiptFieldError] = field(default_factory=list)
    forbidden: list[ReceiptFieldError] = field(default_factory=list)


async def _plan(session: AsyncSession, items: Sequence[ReceiptInput], client: ApiClient | None, settings: Settings, single: bool) -> _Plan:
    plan = _Plan()
    codes: list[str | None] = []
    for idx, item in enumerate(items):
        index = None if single else idx
        try:
            codes.append(parse_dossier_code(item.dossier_code).code)
        except ValueError as exc:
            codes.append(None)
            plan.errors.append(ReceiptFieldError(index, "dossier_code", str(exc)))
    units = await _by_code(session, Unit, {(i.unit_code or "").strip() for i in items})
    procedures = await _by_code(session, Procedure, {i.procedure_code.strip() for i in items if i.procedure_code})
    existing = await _existing_receipts(session, {c for c in codes if c})
    allowed = await _allowed_unit_ids(session, client, {u.id for u in units.values()})
    seen: dict[str, int] = {}
    now = utcnow()
    for idx, (item, code) in enumerate(zip(items, codes, strict=True)):
        index = None if single else idx
        errs: list[ReceiptFieldError] = []

        def err(name: str, message: str, _errs: list = errs, _index: int | None = index) -> None:
            _errs.append(ReceiptFieldError(_index, name, message))

        unit_code = (item.unit_code or "").strip()
        unit = units.get(unit_code)
        if not unit_code:
            err("unit_code", "is required")
        elif unit is None:
            err("unit_code", f"unknown unit {unit_code!r}")
        elif allowed is not None and unit.id not in allowed:
            plan.forbidden.append(ReceiptFieldError(index, "unit_code", f"this API client may not register receipts for unit {unit_code!r}"))
        procedure = None
        if item.procedure_code and item.procedure_code.strip():
            procedure = procedures.get(item.procedure_code.strip())
            if procedure is None:
                err("procedure_code", f"unknown procedure {item.procedure_code.strip()!r}")
        received_at = returned_at = None
        if not isinstance(item.received_at, datetime):
            err("received_at", "is required (ISO 8601 date and time)")
        else:
            received_at = _as_aware(item.received_at, settings)
            if received_at > now + timedelta(days=1):
                err("received_at", "is in the future")
            elif received_at < EARLIEST_RECEIVED_AT:
                err("received_at", f"is before {EARLIEST_RECEIVED_AT:%Y-%m-%d}: no survey link can be issued for it")
            elif code is not None and (local_day := received_at.astimezone(local_zone(settings)).date()) != parse_dossier_code(code).received_on:
                err("dossier_code", f"its date {code.split('-')[1]} (YYMMDD) is not the day received_at falls on ({local_day:%y%m%d}, {settings.timezone})")
        if (
            item.appointment_date is not None
            and received_at is not None
            and item.appointment_date < received_at.astimezone(local_zone(settings)).date()
        ):
            err("appointment_date", "is before the date the dossier was received")
        if item.returned_at is not None:
            returned_at = _as_aware(item.returned_at, settings)
            if received_at is not None and returned_at < received_at:
                err("returned_at", "is before received_at")
        if item.channel not in RECEIPT_CHANNELS:
            err("channel", f"must be one of {', '.join(RECEIPT_CHANNELS)}")
        counter = (item.counter or "").strip() or None
        if counter is not None and len(counter) > 64:
            err("counter", "must be at most 64 characters")
        if code is not None:
            if code in seen:
                err("dossier_code", f"{code} appears twice in this batch (also item {seen[code]})")
            seen.setdefault(code, idx)
            prior = existing.get(code)
            if prior is not None and unit is not None and prior.unit_id != unit.id:
                plan.conflicts.append(ReceiptFieldError(index, "dossier_code", f"{code} is already registered for another unit"))
            elif prior is not None and not _may_see(prior, client, allowed, settings):
                plan.conflicts.append(ReceiptFieldError(index, "dossier_code", f"{code} is already registered by another API client"))
        plan.errors.extend(errs)
        if not errs and code is not None and unit is not None and received_at is not None:
            plan.checked.append(_Checked(item, code, unit, procedure, received_at, returned_at, counter, existing.get(code)))
    plan.errors.sort(key=lambda e: (e.index or 0))
    return plan


def _raise_for(plan: _Plan) -> None:
    if plan.errors:
        raise ReceiptValidationError(plan.errors)
    if plan.forbidden:
        raise ReceiptForbidden(plan.forbidden)
    if plan.conflicts:
        raise ReceiptConflict(plan.conflicts)


# --------------------------------------------------------------------------- registration


async def register_receipts_bulk(
    session: AsyncSession,
    items: Sequence[ReceiptInput],
    client: ApiClient | None,
    settings: Settings,
    *,
    commit: bool = True,
    progress: Callable[[int], None] | None = None,
    single: bool = False,
) -> list[RegisteredReceipt]:
    """Validate every item, then insert the new ones in one transaction; results in input order.

    Raises ReceiptValidationError (422), ReceiptForbidden (403) or ReceiptConflict (409) before
    writing anything.  Existing dossier codes of the same unit are returned with ``created=False``
    (a ``returned_at`` given now fills one that was empty).  ``client`` is None for CSV imports and
    the demo.  ``progress(n)`` is called as rows are processed.  With ``commit=False`` the caller
    commits (and rolls back on error).  With ``commit=True`` a concurrent insert of the same code
    (unique constraint) rolls back and the whole call is retried once, so it answers as a replay.
    """
    if not commit:
        return await _register_bulk(session, items, client, settings, commit=False, progress=progress, single=single)
    try:
        return await _register_bulk(session, items, client, settings, commit=True, progress=progress, single=single)
    except IntegrityError:
        await session.rollback()
        return await _register_bulk(session, items, client, settings, commit=True, progress=None, single=single)


async def _write(
    session: AsyncSession, plan: _Plan, client: ApiClient | None, settings: Settings, progress: Callable[[int], None] | None
) -> list[tuple[_Checked, Receipt]]:
    """Add the new receipts of a checked plan (and fill an empty ``returned_at`` of existing ones), then flush."""
    new_rows: list[tuple[_Checked, Receipt]] = []
    for done, c in enumerate(plan.checked, start=1):
        if c.existing is None:
            receipt = Receipt(
                dossier_code=c.code,
                unit_id=c.unit.id,
                procedure_id=c.procedure.id if c.procedure else None,
                received_at=c.received_at,
                appointment_at=_appointment_instant(settings, c.item.appointment_date),
                returned_at=c.returned_at,
                channel=c.item.channel,
                counter=c.counter,
                api_client_id=client.id if client is not None else None,
                token_expires_at=_expiry_instant(settings, expires_on_for(settings, c.received_at)),
            )
            session.add(receipt)
            new_rows.append((c, receipt))
        elif c.existing.returned_at is None and c.returned_at is not None:
            c.existing.returned_at = c.returned_at
        if progress is not None and done % 1000 == 0:
            await session.flush()  # flush in slices so the progress bar follows the inserts
            progress(1000)
    await session.flush()
    if progress is not None and len(plan.checked) % 1000:
        progress(len(plan.checked) % 1000)
    return new_rows


async def _register_bulk(
    session: AsyncSession,
    items: Sequence[ReceiptInput],
    client: ApiClient | None,
    settings: Settings,
    *,
    commit: bool,
    progress: Callable[[int], None] | None,
    single: bool,
) -> list[RegisteredReceipt]:
    plan = await _plan(session, items, client, settings, single)
    _raise_for(plan)
    if commit:
        async with sqlite_write_turn(session):  # the inserts and their commit: one writer at a time on SQLite
            new_rows = await _write(session, plan, client, settings, progress)
            try:
                out = await _results(session, settings, plan, new_rows)  # tokens minted before the commit
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
        return out
    new_rows = await _write(session, plan, client, settings, progress)
    return await _results(session, settings, plan, new_rows)


async def _results(session: AsyncSession, settings: Settings, plan: _Plan, new_rows: list[tuple[_Checked, Receipt]]) -> list[RegisteredReceipt]:
    new_by_check = {id(cc): r for cc, r in new_rows}
    proc_codes = {c.procedure.id: c.procedure.code for c in plan.checked if c.procedure}
    out = []
    for c in plan.checked:
        receipt = c.existing
        created = receipt is None
        if receipt is None:
            receipt = new_by_check[id(c)]
        code = proc_codes.get(receipt.procedure_id) if receipt.procedure_id else None
        if receipt.procedure_id and code is None:
            code = await session.scalar(select(Procedure.code).where(Procedure.id == receipt.procedure_id))
        out.append(_registered(settings, receipt, c.unit, code, created))
    return out


async def register_receipt(session: AsyncSession, data: ReceiptInput, client: ApiClient | None, settings: Settings) -> RegisteredReceipt:
    """Register one receipt (idempotent on dossier_code); see :func:`register_receipts_bulk`.

    Two concurrent requests for a new code: the unique constraint lets one insert; the other
    rolls back and returns the stored receipt (or raises ReceiptConflict if its unit differs).
    """
    return (await register_receipts_bulk(session, [data], client, settings, single=True))[0]


async def get_receipt_for_client(session: AsyncSession, dossier_code: str, client: ApiClient, settings: Settings) -> RegisteredReceipt | None:
    """The receipt with this code if ``client`` may see it (:func:`_may_see`), else None (no leak across clients)."""
    code = (dossier_code or "").strip().upper()
    row = (
        await session.execute(
            select(Receipt, Unit, Procedure.code)
            .join(Unit, Unit.id == Receipt.unit_id)
            .outerjoin(Procedure, Procedure.id == Receipt.procedure_id)
            .where(Receipt.dossier_code == code)
        )
    ).first()
    if row is None:
        return None
    receipt, unit, proc_code = row
    if receipt.api_client_id != client.id:
        allowed = await _allowed_unit_ids(session, client, {receipt.unit_id})
        if not _may_see(receipt, client, allowed, settings):
            return None
    return _registered(settings, receipt, unit, proc_code, created=False)


async def slip_context(session: AsyncSession, settings: Settings, token: str) -> dict:
    """What the printable slip shows, as a plain dict. Raises tokens.TokenError / TokenExpired, or
    LookupError when the signature is good but the receipt no longer exists."""
    claims = verify_receipt_token(settings, token)
    row = (
        await session.execute(
            select(Receipt, Unit.name, Procedure.name)
            .join(Unit, Unit.id == Receipt.unit_id)
            .outerjoin(Procedure, Procedure.id == Receipt.procedure_id)
            .where(Receipt.id == claims.subject_id)
        )
    ).first()
    if row is None:
        raise LookupError("receipt not found")
    receipt, unit_name, procedure_name = row
    canonical = token.strip().upper()
    return {
        "token": canonical,
        "dossier_code": receipt.dossier_code,
        "unit_name": unit_name,
        "procedure_name": procedure_name,
        "received_on": _local_date(settings, receipt.received_at),
        "appointment_date": _local_date(settings, receipt.appointment_at),
        "expires_on": claims.expires_on,
        "survey_url": survey_url(settings, canonical),
    }


# --------------------------------------------------------------------------- benchmarks and demo


def synthetic_receipts(
    n: int,
    unit_code: str,
    *,
    agency: str = "000.00.01.H01",
    start: datetime | None = None,
    procedure_codes: Iterable[str | None] = (None,),
    first_sequence: int = 1,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> list[ReceiptInput]:
    """``n`` valid receipt inputs for one unit: consecutive sequence numbers, a few per minute.

    Used by the benchmark (``benchmarks/bench_foundation.py``: time ``register_receipts_bulk`` on
    these against one-by-one ``register_receipt``) and by the demo seeder.  Dossier codes restart at
    ``first_sequence`` each day; pass a different ``agency`` or ``first_sequence`` to avoid reuse.
    """
    if not 0 < first_sequence + n <= 1_000_000:
        raise ValueError("n: sequence numbers must stay below 1,000,000")
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3 * n + 60)
    procs = list(procedure_codes) or [None]
    out = []
    zone = ZoneInfo(timezone)
    for i in range(n):
        at = start + timedelta(minutes=i * 3)
        seq = first_sequence + i  # one running number across the run keeps codes unique
        out.append(
            ReceiptInput(
                dossier_code=f"{agency}-{at.astimezone(zone):%y%m%d}-{seq:04d}",  # the local day, as on the slip
                unit_code=unit_code,
                received_at=at,
                procedure_code=procs[i % len(procs)],
                appointment_date=(at + timedelta(days=3)).date(),
                channel="postal" if i % 17 == 16 else "online" if i % 5 == 4 else "direct",
                counter=f"Quầy {i % 4 + 1}",
            )
        )
    return out
