"""Mint and verify signed tokens (pure: no database, no web).

Layout before base32 (RFC 4648, upper case, no padding), 23 bytes -> 37 characters::

    purpose(1) | kid(1) | subject id(6, big-endian) | expiry day(2, days since 2020-01-01) | MAC(13)

The MAC is HMAC-SHA256 over the first 10 bytes, truncated to 104 bits (DESIGN §5 asks for >= 96).
The key id lets keys
rotate: old keys keep verifying while the active key signs.  Tokens carry no personal data, only an
opaque id and a date; alphanumeric-mode QR codes encode them compactly.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import date, timedelta
from hashlib import sha256

EPOCH = date(2020, 1, 1)
MAC_BYTES = 13  # 104 bits >= the 96 bits DESIGN §5 asks for
PURPOSES = {"receipt": b"R", "expert": b"E", "campaign": b"C", "kiosk": b"K"}
_PURPOSE_BY_TAG = {v: k for k, v in PURPOSES.items()}
_BODY = 1 + 1 + 6 + 2


class TokenError(ValueError):
    """The token is malformed or its signature does not verify (answer 404)."""


class TokenExpired(TokenError):
    """The token verified but its expiry date has passed (answer 410)."""

    def __init__(self, claims: TokenClaims):
        super().__init__("token expired")
        self.claims = claims


@dataclass(frozen=True, slots=True)
class TokenClaims:
    purpose: str
    subject_id: int
    expires_on: date
    kid: str


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, sha256).digest()[:MAC_BYTES]


def mint(purpose: str, subject_id: int, expires_on: date, kid: str, keys: dict[str, bytes]) -> str:
    """A new token for ``subject_id``; ``kid`` must be one of ``keys``."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {sorted(PURPOSES)}, got {purpose!r}")
    if not 0 < subject_id < 2**48:
        raise ValueError("subject_id must be a positive integer below 2**48")
    days = (expires_on - EPOCH).days
    if not 0 <= days < 2**16:
        raise ValueError("expires_on is outside the representable range")
    if kid not in keys or len(kid) != 1:
        raise ValueError(f"kid {kid!r} is not a configured one-character key id")
    body = PURPOSES[purpose] + kid.encode() + subject_id.to_bytes(6, "big") + days.to_bytes(2, "big")
    return base64.b32encode(body + _mac(keys[kid], body)).decode().rstrip("=")


def verify(token: str, purpose: str, keys: dict[str, bytes], today: date) -> TokenClaims:
    """Check a token (case-insensitive). Raises TokenError (forged/malformed) or TokenExpired."""
    text = token.strip().upper()
    if not text or len(text) > 64 or not text.isalnum():
        raise TokenError("malformed token")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise TokenError("malformed token") from None
    if len(raw) != _BODY + MAC_BYTES:
        raise TokenError("malformed token")
    body, mac = raw[:_BODY], raw[_BODY:]
    if _PURPOSE_BY_TAG.get(body[:1]) != purpose:
        raise TokenError("wrong purpose")
    kid = body[1:2].decode("ascii", "replace")
    key = keys.get(kid)
    if key is None or not hmac.compare_digest(mac, _mac(key, body)):
        raise TokenError("bad signature")
    claims = TokenClaims(
        purpose=purpose,
        subject_id=int.from_bytes(body[2:8], "big"),
        expires_on=EPOCH + timedelta(days=int.from_bytes(body[8:10], "big")),
        kid=kid,
    )
    if today > claims.expires_on:
        raise TokenExpired(claims)
    return claims
