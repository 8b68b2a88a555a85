"""Server-side staff sessions (table ``sessions``).

The ``hl_session`` cookie holds a random token; the database keeps only its sha256 with the user and
an absolute expiry.  :class:`StaffSessionMiddleware` looks the token up on every request that carries
one and puts ``{"user_id", "username", "role", "sid"}`` into ``scope["session"]`` (read by
``survey.admin.guards.current_user``), or ``{}`` when the row is gone, expired or the account is
inactive.  So signing out (:func:`end`), deactivating an account or changing its password
(:func:`end_all_for_user`) refuse a copied cookie on the very next request, on every app node that
shares the database.  The role is read from ``users`` each time: a role change applies at once too.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from litestar.datastructures import Cookie
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from survey.db.base import utcnow
from survey.db.engine import single_statement_connection
from survey.db.models import StaffSession, User
from survey.db.write_turns import sqlite_file_url, sqlite_reader_call
from survey.settings import Settings

COOKIE = "hl_session"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(session: AsyncSession, settings: Settings, user_id: int, *, replaces: str | None = None) -> str:
    """Open a session for ``user_id`` (committed) and return the cookie token.

    ``replaces``: the token of the browser's previous session, ended here (a fresh session at every
    sign-in).  Expired rows of everyone are swept at the same time.
    """
    now = utcnow()
    token = secrets.token_urlsafe(32)
    await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    if replaces:
        await session.execute(delete(StaffSession).where(StaffSession.id == _hash(replaces)))
    session.add(StaffSession(id=_hash(token), user_id=user_id, created_at=now, expires_at=now + timedelta(hours=settings.session_hours)))
    await session.commit()
    return token


async def end(session: AsyncSession, token: str | None) -> None:
    """Sign out: delete the session of this cookie token (committed by the caller)."""
    if token:
        await session.execute(delete(StaffSession).where(StaffSession.id == _hash(token)))


async def end_all_for_user(session: AsyncSession, user_id: int) -> int:
    """End every session of a user (deactivation, password change); the caller commits. Returns how many."""
    result = await session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
    return result.rowcount or 0


#: built once: the middleware runs it on every request that carries a session cookie
_LOOKUP = (
    select(User.id, User.username, User.role)
    .join(StaffSession, StaffSession.user_id == User.id)
    .where(StaffSession.id == bindparam("sid"), StaffSession.expires_at > bindparam("now", type_=StaffSession.expires_at.type),
           User.active.is_(True))
)


def _lookup_sync(conn, params):
    return conn.execute(_LOOKUP, params).first()


async def lookup(engine: AsyncEngine, token: str) -> dict[str, Any]:
    """The session data for a cookie token, or ``{}`` (unknown, expired, or the account is inactive).

    One autocommit SELECT on a pooled connection, no ORM session
    (on PostgreSQL one round trip instead of BEGIN, SELECT, ROLLBACK)."""
    if not token or len(token) > 128:
        return {}
    sid = _hash(token)
    params = {"sid": sid, "now": utcnow()}
    url = sqlite_file_url(engine)
    if url is not None:  # SQLite: on the reader thread, one trip
        row = await sqlite_reader_call(url, _lookup_sync, params)
    else:
        async with single_statement_connection(engine) as conn:
            row = (await conn.execute(_LOOKUP, params)).first()
    if row is None:
        return {}
    return {"user_id": row.id, "username": row.username, "role": row.role, "sid": sid}


def cookie(settings: Settings, token: str) -> Cookie:
    return Cookie(key=COOKIE, value=token, max_age=settings.session_hours * 3600, httponly=True, secure=settings.secure_cookies, samesite="lax", path="/")


def expired_cookie(settings: Settings) -> Cookie:
    return Cookie(key=COOKIE, value="", max_age=0, expires=0, httponly=True, secure=settings.secure_cookies, samesite="lax", path="/")


class StaffSessionMiddleware:
    """ASGI middleware: fill ``scope["session"]`` from the ``sessions`` table (``{}`` when signed out).

    The app itself does this in its one edge middleware (``survey.security.edge``); this class is the
    same step on its own (the benchmarks time it)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["session"] = await session_data(scope)
        await self.app(scope, receive, send)


async def session_data(scope) -> dict[str, Any]:
    """What ``scope["session"]`` holds for this request: the session of its ``hl_session`` cookie, or ``{}``."""
    token = _cookie_value(scope)
    if not token:
        return {}
    return await lookup(scope["app"].state.engine, token)


def _cookie_value(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == COOKIE and val:
                    return val
    return None
