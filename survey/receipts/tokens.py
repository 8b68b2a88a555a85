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
    return hmac.digest(key, body, sha256)[:MAC_BYTES]  # one call into OpenSSL (no HMAC object per token)


#: RFC 4648 base32 letters -> the digits of Python's int(..., 32) (0-9A-V); anything else is not base32
_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TO_INT_DIGITS = str.maketrans(_B32_ALPHABET, "0123456789ABCDEFGHIJKLMNOPQRSTUV")
_TOKEN_CHARS = (_BODY + MAC_BYTES) * 8 // 5 + 1  # 37 characters carry the 23 bytes (and 1 unused bit)


def _decode(text: str) -> bytes | None:
    """The 23 bytes of a well-formed token text (upper case, unpadded base32), else None.

    What ``base64.b32decode`` gives for the only length that decodes to 23 bytes, without its
    per-character Python loop: the 37 characters read as one base-32 number, its last (padding) bit dropped."""
    if len(text) != _TOKEN_CHARS or text.strip(_B32_ALPHABET):
        return None
    return (int(text.translate(_TO_INT_DIGITS), 32) >> 1).to_bytes(_BODY + MAC_BYTES, "big")


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
    raw = _decode(text)
    if raw is None:
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
