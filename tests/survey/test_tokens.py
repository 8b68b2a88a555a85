"""Signed receipt tokens: round trip, case-insensitivity, forgery, purpose, rotation, expiry, content."""

from __future__ import annotations

import base64
import os
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survey.receipts import tokens

KEYS = {"A": os.urandom(32)}
TODAY = date(2026, 11, 22)


def _raw(token: str) -> bytes:
    return base64.b32decode(token + "=" * (-len(token) % 8))


@given(subject=st.integers(1, 2**48 - 1), days=st.integers(0, 3000), purpose=st.sampled_from(sorted(tokens.PURPOSES)))
def test_round_trip(subject, days, purpose):
    expires = tokens.EPOCH + timedelta(days=days)
    token = tokens.mint(purpose, subject, expires, "A", KEYS)
    claims = tokens.verify(token, purpose, KEYS, today=tokens.EPOCH)
    assert (claims.subject_id, claims.expires_on, claims.purpose, claims.kid) == (subject, expires, purpose, "A")
    assert token == token.upper() and token.isalnum()  # base32: upper-case letters and 2-7


def test_case_insensitive_and_whitespace():
    token = tokens.mint("receipt", 42, TODAY, "A", KEYS)
    for variant in (token.lower(), token.swapcase(), f"  {token}\n"):
        assert tokens.verify(variant, "receipt", KEYS, TODAY).subject_id == 42


def test_forged_mac_and_tampered_body_fail():
    token = tokens.mint("receipt", 42, TODAY, "A", KEYS)
    raw = bytearray(_raw(token))
    for position in (len(raw) - 1, 5):  # a MAC byte, then a subject-id byte
        forged = bytearray(raw)
        forged[position] ^= 0x01
        text = base64.b32encode(bytes(forged)).decode().rstrip("=")
        with pytest.raises(tokens.TokenError):
            tokens.verify(text, "receipt", KEYS, TODAY)
    with pytest.raises(tokens.TokenError):  # signed with another key
        tokens.verify(tokens.mint("receipt", 42, TODAY, "A", {"A": os.urandom(32)}), "receipt", KEYS, TODAY)


@pytest.mark.parametrize("junk", ["", "abc", "!!!!", "A" * 65, "A" * 37, "0" * 37])
def test_malformed_tokens_are_token_errors(junk):
    with pytest.raises(tokens.TokenError) as info:
        tokens.verify(junk, "receipt", KEYS, TODAY)
    assert not isinstance(info.value, tokens.TokenExpired)


def test_wrong_purpose_is_rejected():
    token = tokens.mint("expert", 7, TODAY, "A", KEYS)
    with pytest.raises(tokens.TokenError, match="purpose"):
        tokens.verify(token, "receipt", KEYS, TODAY)


def test_key_rotation_old_kid_still_verifies():
    old, new = {"A": os.urandom(32)}, {"B": os.urandom(32)}
    old_token = tokens.mint("receipt", 1, TODAY, "A", old)
    both = {**old, **new}
    new_token = tokens.mint("receipt", 1, TODAY, "B", both)
    assert old_token != new_token
    assert tokens.verify(old_token, "receipt", both, TODAY).kid == "A"
    assert tokens.verify(new_token, "receipt", both, TODAY).kid == "B"
    with pytest.raises(tokens.TokenError):  # once the old key is dropped, its tokens stop working
        tokens.verify(old_token, "receipt", new, TODAY)


def test_expiry_is_inclusive_then_token_expired():
    token = tokens.mint("receipt", 9, TODAY, "A", KEYS)
    assert tokens.verify(token, "receipt", KEYS, today=TODAY).expires_on == TODAY
    with pytest.raises(tokens.TokenExpired) as info:
        tokens.verify(token, "receipt", KEYS, today=TODAY + timedelta(days=1))
    assert info.value.claims.subject_id == 9  # callers can still tell which receipt expired


def test_mac_is_at_least_96_bits_and_token_is_short():
    token = tokens.mint("receipt", 2**47, TODAY, "A", KEYS)
    assert tokens.MAC_BYTES * 8 >= 96
    assert len(_raw(token)) - tokens.MAC_BYTES == 10  # the rest is the 10-byte body
    assert len(token) <= 40


def test_token_carries_only_id_date_and_kid():
    """Decoding a token gives purpose tag, kid, subject id, expiry day and the MAC — nothing else."""
    subject, expires = 123456, date(2027, 1, 21)
    raw = _raw(tokens.mint("receipt", subject, expires, "A", KEYS))
    assert raw[:1] == b"R" and raw[1:2] == b"A"
    assert int.from_bytes(raw[2:8], "big") == subject
    assert tokens.EPOCH + timedelta(days=int.from_bytes(raw[8:10], "big")) == expires
    assert len(raw) == 10 + tokens.MAC_BYTES


def test_mint_rejects_bad_arguments():
    with pytest.raises(ValueError, match="purpose"):
        tokens.mint("nope", 1, TODAY, "A", KEYS)
    with pytest.raises(ValueError, match="subject_id"):
        tokens.mint("receipt", 0, TODAY, "A", KEYS)
    with pytest.raises(ValueError, match="kid"):
        tokens.mint("receipt", 1, TODAY, "Z", KEYS)
