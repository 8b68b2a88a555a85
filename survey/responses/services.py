"""Store a response, whichever channel it comes from. The one way answers enter the database.

One response per receipt is enforced by the unique constraint on ``responses.receipt_id``; replays
of a kiosk answer are idempotent on ``client_uuid``.  Either way the database decides, not a cookie,
so concurrent submissions for one receipt store exactly one response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, bindparam, case, cast, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from survey.db.base import utcnow
from survey.db.driver_sql import driver_statement
from survey.db.engine import checkout_gate
from survey.db.models import Receipt, Response
from survey.db.relay import connection_relay
from survey.db.write_turns import insert_row, sqlite_file_url, sqlite_group_call
from survey.questionnaires import registry
from survey.responses import readmodel
from survey.responses.validation import AnswerValidationError, FieldError, validate_answers


@dataclass(slots=True)
class Submission:
    """What any channel hands to :func:`store_response`."""

    questionnaire_id: str
    questionnaire_version: int
    channel: str
    unit_id: int
    answers: dict[str, int | None]
    overall: int | None = None
    expectations: list[str] = field(default_factory=list)
    comment: str | None = None
    language: str = "vi"
    receipt_id: int | None = None
    procedure_id: int | None = None
    device_id: int | None = None
    device_time: datetime | None = None
    client_uuid: str | None = None
    integrity_flags: list[str] = field(default_factory=list)
    review_status: str = "accepted"
    extra: dict[str, Any] = field(default_factory=dict)
    #: the receipt's procedure and channel, for the read model (looked up when a receipt is named without them)
    receipt_procedure_id: int | None = None
    receipt_channel: str | None = None


class AlreadyAnswered(Exception):
    """The receipt already has a response."""

    def __init__(self, response_id: str | None):
        super().__init__("this receipt has already been answered")
        self.response_id = response_id


class UnknownReceipt(LookupError):
    """The token verified but no such receipt exists (404)."""


class ConflictingReplay(Exception):
    """A client UUID was replayed with different answers."""

    def __init__(self, response_id: str):
        super().__init__("client_uuid was already used for different answers")
        self.response_id = response_id


class UnknownQuestionnaire(LookupError):
    def __init__(self, questionnaire_id: str, version: int):
        super().__init__(f"questionnaire {questionnaire_id!r} version {version} does not exist")
        self.questionnaire_id = questionnaire_id
        self.version = version


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    created: bool  # False when an identical replay returned the existing response


def _clean_answers(answers: dict[str, int | None]) -> dict[str, int]:
    return {k: v for k, v in answers.items() if v is not None}


def _same_content(existing: Response, sub: Submission) -> bool:
    return (
        existing.answers == _clean_answers(sub.answers)
        and existing.overall == sub.overall
        and list(existing.expectations or []) == list(sub.expectations)
        and (existing.comment or None) == (sub.comment or None)
        and existing.questionnaire_id == sub.questionnaire_id
        and existing.questionnaire_version == sub.questionnaire_version
    )


def check_submission(sub: Submission, comment_max_chars: int) -> None:
    """Raise UnknownQuestionnaire or AnswerValidationError; nothing is written."""
    try:
        q = registry.get(sub.questionnaire_id, sub.questionnaire_version)
    except KeyError:
        raise UnknownQuestionnaire(sub.questionnaire_id, sub.questionnaire_version) from None
    errors = validate_answers(q, sub.answers, sub.overall, sub.expectations, sub.comment, comment_max_chars)
    if sub.comment is not None and "\x00" in sub.comment:
        errors.append(FieldError("comment", "Ý kiến chứa ký tự không hợp lệ.", "The comment contains an invalid character."))
    if errors:
        raise AnswerValidationError(errors)


def _row_values(sub: Submission) -> dict[str, Any]:
    comment = (sub.comment or "").strip() or None
    return {
        "id": str(uuid.uuid4()),
        "receipt_id": sub.receipt_id,
        "unit_id": sub.unit_id,
        "procedure_id": sub.procedure_id,
        "questionnaire_id": sub.questionnaire_id,
        "questionnaire_version": sub.questionnaire_version,
        "channel": sub.channel,
        "answers": _clean_answers(sub.answers),
        "overall": sub.overall,
        "expectations": list(sub.expectations),
        "comment": comment,
        "language": sub.language,
        "submitted_at": utcnow(),
        "device_time": sub.device_time,
        "client_uuid": sub.client_uuid,
        "device_id": sub.device_id,
        "integrity_flags": list(sub.integrity_flags),
        "review_status": sub.review_status,
        "extra": dict(sub.extra),
    }


async def store_response(session: AsyncSession, sub: Submission, *, comment_max_chars: int = 1000) -> StoredResponse:
    """Validate and store one response in its own transaction (commits on success, rolls back otherwise).

    Raises AnswerValidationError, UnknownQuestionnaire, AlreadyAnswered or ConflictingReplay.
    """
    check_submission(sub, comment_max_chars)
    values = _row_values(sub)
    values["packed"] = await _packed(session, sub, values)
    try:
        # one Core INSERT and its commit (no unit-of-work flush); on SQLite both in one write turn
        await insert_row(session, Response.__table__, values)
    except IntegrityError:
        await session.rollback()
        return await _resolve_conflict(session, sub)
    return StoredResponse(values["id"], created=True)


async def _packed(session: AsyncSession, sub: Submission, values: dict[str, Any]) -> str:
    """The read-model record of the row (``survey.responses.readmodel``)."""
    rproc, rchan = sub.receipt_procedure_id, sub.receipt_channel
    if sub.receipt_id is not None and rchan is None:
        row = (await session.execute(select(Receipt.procedure_id, Receipt.channel).where(Receipt.id == sub.receipt_id))).first()
        rproc, rchan = (row[0], row[1]) if row is not None else (None, None)
    return readmodel.pack_values(values, rproc, rchan)


async def _resolve_conflict(session: AsyncSession, sub: Submission) -> StoredResponse:
    """After a unique violation: an identical replay is fine; anything else is refused."""
    if sub.client_uuid is not None:
        existing = await session.scalar(
            select(Response).where(Response.client_uuid == sub.client_uuid).execution_options(populate_existing=True)
        )
        if existing is not None:
            if _same_content(existing, sub) and existing.receipt_id == sub.receipt_id:
                return StoredResponse(existing.id, created=False)
            raise ConflictingReplay(existing.id)
    if sub.receipt_id is not None:
        existing_id = await session.scalar(select(Response.id).where(Response.receipt_id == sub.receipt_id))
        if existing_id is not None:
            raise AlreadyAnswered(existing_id)
    raise RuntimeError("integrity error not explained by receipt or client_uuid")  # pragma: no cover


async def receipt_has_response(session: AsyncSession, receipt_id: int) -> bool:
    return await session.scalar(select(Response.id).where(Response.receipt_id == receipt_id)) is not None


# --------------------------------------------------------------------------- the receipt intake fast path

#: Columns the fast path binds; receipt_id, unit_id and procedure_id are read from the receipt row itself.
_BOUND = [
    "id", "questionnaire_id", "questionnaire_version", "channel", "answers", "overall", "expectations", "comment",
    "language", "submitted_at", "device_time", "client_uuid", "device_id", "integrity_flags", "review_status", "extra",
]
_FROM_RECEIPT = ["receipt_id", "unit_id", "procedure_id"]


def _packed_from_receipt(dialect: str, receipts) -> Any:
    """The read-model record (``survey.responses.readmodel``) built by the insert itself: the parts the app
    knows are bound (``pk_head``, ``pk_mid``, ``pk_tail``), the unit, procedure and receipt channel come from
    the receipt row, zero-padded as :func:`readmodel.pack` writes them."""

    def digits(col: Any) -> Any:
        if dialect == "sqlite":
            return func.printf("%010d", col)
        return func.lpad(cast(col, Text), 10, "0")

    channel = case(*((receipts.c.channel == v, str(i)) for i, v in enumerate(readmodel.RECEIPT_CHANNEL_CODES) if v), else_="0")
    return (bindparam("pk_head", type_=Text) + digits(receipts.c.unit_id) + digits(func.coalesce(receipts.c.procedure_id, 0))
            + bindparam("pk_mid", type_=Text) + channel + bindparam("pk_tail", type_=Text))


def _receipt_insert(dialect_insert, dialect: str):
    """``INSERT INTO responses (...) SELECT <values>, r.id, r.unit_id, r.procedure_id, <record> FROM receipts r WHERE
    r.id = :rid ON CONFLICT DO NOTHING RETURNING id``: one statement stores the answer, or stores nothing when the
    receipt does not exist or already has a response (the unique constraint decides, as before)."""
    table, receipts = Response.__table__, Receipt.__table__
    chosen = select(
        *(bindparam(name, type_=table.c[name].type) for name in _BOUND),
        receipts.c.id, receipts.c.unit_id, receipts.c.procedure_id, _packed_from_receipt(dialect, receipts),
    ).where(receipts.c.id == bindparam("rid", type_=receipts.c.id.type))
    return (dialect_insert(table).from_select([*_BOUND, *_FROM_RECEIPT, "packed"], chosen)
            .on_conflict_do_nothing().returning(table.c.id))


_INSERT = {"postgresql": _receipt_insert(postgresql.insert, "postgresql"), "sqlite": _receipt_insert(sqlite.insert, "sqlite")}
#: Only when nothing was inserted: which response the receipt has (if any), and whether the receipt exists.
_WHY_NOT = select(
    select(Response.__table__.c.id).where(Response.__table__.c.receipt_id == bindparam("rid")).scalar_subquery(),
    exists().where(Receipt.__table__.c.id == bindparam("rid")),
)


#: the bind parameters of _INSERT each call gives (the others are literals of the statement)
_INSERT_PARAMS = frozenset([*_BOUND, "pk_head", "pk_mid", "pk_tail", "rid"])


def _why_not() -> tuple[Any, frozenset[str]]:
    return _WHY_NOT, frozenset(["rid"])


def _bound(values: dict[str, Any]) -> dict[str, Any]:
    params = {name: values[name] for name in _BOUND}
    params["rid"] = values["receipt_id"]
    # the record with placeholder unit/procedure/receipt channel; the insert splices in the receipt's
    rec = readmodel.pack_values({**values, "unit_id": 0, "procedure_id": None})
    u, p, c = readmodel.FIELDS[0][1], readmodel.FIELDS[2][1], readmodel.RECEIPT_CHANNEL_POS
    params["pk_head"], params["pk_mid"], params["pk_tail"] = rec[:u], rec[p:c], rec[c + 1 :]
    return params


def _outcome(new_id: str, inserted: str | None, why_not) -> StoredResponse:
    if inserted is not None:
        return StoredResponse(inserted, created=True)
    existing_id, receipt_exists = why_not
    if existing_id == new_id:  # our own insert, committed before a lost connection made us retry
        return StoredResponse(existing_id, created=True)
    if existing_id is not None:
        raise AlreadyAnswered(existing_id)
    if not receipt_exists:
        raise UnknownReceipt("no such receipt")
    raise RuntimeError("response not stored for a reason other than receipt or uniqueness")  # pragma: no cover


def _sqlite_insert() -> tuple[Any, frozenset[str]]:
    return _INSERT["sqlite"], _INSERT_PARAMS


def _store_sqlite_row(conn: Connection, params: dict[str, Any]) -> tuple[str | None, Any]:
    """On SQLite's writer thread, in the group's transaction: the insert and (only if it stored nothing) why not,
    on the sqlite3 connection itself (SQLAlchemy's compilation of the same statements, done once).  One row of
    a group commit (:func:`survey.db.write_turns.sqlite_group_call`)."""
    engine = conn.engine
    insert = driver_statement(engine, "responses.receipt_insert", _sqlite_insert)
    cursor = conn.connection.driver_connection.cursor()
    try:
        rows = cursor.execute(insert.sql, insert.args(params)).fetchall()
        if rows:
            return rows[0][0], None
        why_not = driver_statement(engine, "responses.why_not", _why_not)
        existing_id, receipt_exists = cursor.execute(why_not.sql, why_not.args(params)).fetchone()
        return None, (existing_id, bool(receipt_exists))
    finally:
        cursor.close()


async def _store_async(engine: AsyncEngine, params: dict[str, Any]) -> tuple[str | None, Any]:
    """One autocommit statement on a pooled connection (no BEGIN/COMMIT round trips); retried once if the
    connection turns out dead (the pool does not pre-ping; the generated id tells a retry its own row)."""
    stmt = _INSERT[engine.dialect.name]
    for attempt in (1, 2):
        try:
            async with checkout_gate(engine), engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                inserted = (await conn.execute(stmt, params)).scalar()
                if inserted is not None:
                    return inserted, None
                return None, tuple((await conn.execute(_WHY_NOT, {"rid": params["rid"]})).one())
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _pg_insert() -> tuple[Any, frozenset[str]]:
    return _INSERT["postgresql"], _INSERT_PARAMS


async def _store_asyncpg(engine: AsyncEngine, params: dict[str, Any]) -> tuple[str | None, Any]:
    """PostgreSQL: the same statement as :func:`_store_async`, executed by asyncpg itself on a connection of the
    engine's pool (its prepared-statement cache; no SQLAlchemy execution context, cursor or result per call).
    Under load the connection goes from one request straight to the next waiting one
    (:mod:`survey.db.relay`), not through the pool.

    No transaction is begun on the connection, so asyncpg runs the statement in autocommit and the pool's
    reset on return has nothing to roll back.  A connection found dead is invalidated and the statement
    goes through :func:`_store_async`, which retries on a fresh connection as before (the generated id
    tells any retry its own row)."""
    sync_engine = engine.sync_engine
    insert = driver_statement(sync_engine, "responses.receipt_insert", _pg_insert)
    args = insert.args(params)
    relay = connection_relay(engine)
    if relay is None:  # a pool without a fixed size (not how the app configures PostgreSQL)
        return await _store_async(engine, params)
    lease = await relay.acquire()
    reusable = False
    try:
        driver = lease.driver
        try:
            inserted = await driver.fetchval(insert.sql, *args)
            if inserted is not None:
                result = inserted, None
            else:
                why_not = driver_statement(sync_engine, "responses.why_not", _why_not)
                row = await driver.fetchrow(why_not.sql, *why_not.args(params))
                result = None, (row[0], row[1])
            reusable = True
            return result
        except Exception as exc:
            if not _lost_connection(driver, exc):
                reusable = True  # the statement failed, the connection is fine (autocommit: nothing to undo)
                raise
            lease.raw.invalidate(exc)
    finally:
        await relay.release(lease, reusable=reusable)
    return await _store_async(engine, params)


def _lost_connection(driver: Any, exc: BaseException) -> bool:
    """Whether ``exc`` (raised by asyncpg) means the connection is gone: closed, reset, or ended by the server."""
    import asyncpg

    if driver.is_closed():
        return True
    return isinstance(exc, (
        OSError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.InterfaceError,
        asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.CrashShutdownError, asyncpg.exceptions.CannotConnectNowError,
    ))


async def store_receipt_response(engine: AsyncEngine, sub: Submission, *, comment_max_chars: int = 1000) -> StoredResponse:
    """Validate and store the answer to receipt ``sub.receipt_id`` (QR channel: the JSON API's hot path).

    The unit and procedure are taken from the receipt row by the insert itself, so the receipt is not read
    first: one statement in the common case.  Raises AnswerValidationError, UnknownQuestionnaire,
    UnknownReceipt (no such receipt) or AlreadyAnswered (it has a response; the unique constraint on
    ``responses.receipt_id`` decides under concurrency).  On SQLite the statement runs on the writer
    thread, committed together with the other answers arriving meanwhile (group commit,
    :func:`survey.db.write_turns.sqlite_group_call`; acknowledged only once committed).  On PostgreSQL
    asyncpg runs it on a pooled connection (:func:`_store_asyncpg`).
    """
    check_submission(sub, comment_max_chars)
    if sub.receipt_id is None:
        raise ValueError("sub.receipt_id is required")
    values = _row_values(sub)
    params = _bound(values)
    url = sqlite_file_url(engine)
    if url is not None:
        inserted, why_not = await sqlite_group_call(url, _store_sqlite_row, params)
    elif engine.dialect.driver == "asyncpg":
        inserted, why_not = await _store_asyncpg(engine, params)
    else:  # an in-memory SQLite database (tests)
        inserted, why_not = await _store_async(engine, params)
    return _outcome(values["id"], inserted, why_not)
