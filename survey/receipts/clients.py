"""API clients: the one-stop-shop systems allowed to register receipts.

A key looks like ``hl_1a2b3c4d_<43 url-safe characters>``: the first 11 characters are a public
prefix (stored in ``key_prefix``, shown in the admin list, used to find the row); the rest is
``secrets.token_urlsafe(32)`` (256 bits).  Only a SHA-256 hash of the whole key is stored; the
plaintext is returned once by :func:`create_api_client` and never again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from enum import Enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.base import utcnow
from survey.db.models import ApiClient, Unit

KEY_PREFIX = "hl_"
_PREFIX_LEN = len(KEY_PREFIX) + 8
_KEY_SHAPE = re.compile(r"hl_[0-9a-f]{8}_[A-Za-z0-9_-]{16,}")
#: last_used_at is written at most this often per client (saves a write per request under load)
LAST_USED_RESOLUTION = timedelta(seconds=60)


class KeyCheck(Enum):
    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    REVOKED = "revoked"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


async def create_api_client(
    session: AsyncSession, name: str, unit_id: int | None = None, *, commit: bool = True
) -> tuple[ApiClient, str]:
    """Create a client; returns the row and the plaintext key (show it once, it is not stored).

    ``unit_id`` restricts the client to that unit and the units below it.  Pass ``commit=False``
    to commit together with other changes (e.g. an audit record).
    """
    name = (name or "").strip()
    if not name:
        raise ValueError("name must not be empty")
    if len(name) > 255:
        raise ValueError("name must be at most 255 characters")
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise ValueError(f"unit_id {unit_id} does not exist")
    while True:
        prefix = KEY_PREFIX + secrets.token_hex(4)
        exists = await session.scalar(select(ApiClient.id).where(ApiClient.key_prefix == prefix))
        if exists is None:
            break
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    client = ApiClient(name=name, key_prefix=prefix, key_hash=hash_key(key), unit_id=unit_id)
    session.add(client)
    if commit:
        await session.commit()
    else:
        await session.flush()
    return client, key


async def revoke_api_client(session: AsyncSession, client_id: int, *, commit: bool = True) -> ApiClient:
    """Revoke a client (idempotent; the first revocation time is kept). LookupError if it does not exist."""
    client = await session.get(ApiClient, client_id)
    if client is None:
        raise LookupError(f"API client {client_id} does not exist")
    if client.revoked_at is None:
        client.revoked_at = utcnow()
    if commit:
        await session.commit()
    return client


async def check_api_key(session: AsyncSession, presented_key: str | None) -> tuple[ApiClient | None, KeyCheck]:
    """Look a key up: the client and why it was refused (missing, invalid, revoked) or OK."""
    key = (presented_key or "").strip()
    if not key:
        return None, KeyCheck.MISSING
    if len(key) > 200 or _KEY_SHAPE.fullmatch(key) is None:  # also keeps NUL and other junk away from the database
        return None, KeyCheck.INVALID
    client = await session.scalar(select(ApiClient).where(ApiClient.key_prefix == key[:_PREFIX_LEN]))
    # compare even when no row matched, so timing does not tell whether a prefix exists
    expected = client.key_hash if client is not None else hash_key("\0")
    if not hmac.compare_digest(expected.encode(), hash_key(key).encode()) or client is None:
        return None, KeyCheck.INVALID
    if client.revoked_at is not None:
        return None, KeyCheck.REVOKED
    now = utcnow()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        client.last_used_at = now
        await session.commit()
    return client, KeyCheck.OK


async def authenticate_api_client(session: AsyncSession, presented_key: str | None) -> ApiClient | None:
    """The active client owning ``presented_key``, or None (unknown, malformed or revoked key)."""
    client, _status = await check_api_key(session, presented_key)
    return client


async def list_api_clients(session: AsyncSession) -> list[dict]:
    """Plain dicts for the admin list (never the hash)."""
    rows = (await session.execute(select(ApiClient, Unit.code).outerjoin(Unit, Unit.id == ApiClient.unit_id).order_by(ApiClient.id))).all()
    return [
        {
            "id": c.id,
            "name": c.name,
            "key_prefix": c.key_prefix,
            "unit_code": unit_code,
            "created_at": c.created_at,
            "revoked_at": c.revoked_at,
            "last_used_at": c.last_used_at,
        }
        for c, unit_code in rows
    ]
