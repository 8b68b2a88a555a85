"""Settings the app cannot work with are refused at start-up, naming the variable (issue 13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from survey.app import create_app
from survey.cli import main
from survey.receipts.tokens import EPOCH, mint, verify
from survey.settings import MAX_TOKEN_TTL_DAYS, Settings


def test_a_huge_token_ttl_is_refused_by_from_env_naming_the_setting(monkeypatch):
    monkeypatch.setenv("HAILONG_TOKEN_TTL_DAYS", str(10**9))  # expiry would overflow the token's epoch (and date)
    with pytest.raises(ValueError, match="HAILONG_TOKEN_TTL_DAYS") as info:
        Settings.from_env()
    assert "1000000000" in str(info.value)
    assert "2199-" in str(info.value)  # says where the token's expiry dates end


@pytest.mark.parametrize("days", [0, -5, MAX_TOKEN_TTL_DAYS + 1, 2**16])
def test_out_of_range_token_ttls_are_refused_by_create_app(settings, days):
    with pytest.raises(ValueError, match="HAILONG_TOKEN_TTL_DAYS"):
        create_app(replace(settings, token_ttl_days=days))


def test_the_cli_answers_one_clear_line_and_exit_code_2(monkeypatch, capsys):
    monkeypatch.setenv("HAILONG_TOKEN_TTL_DAYS", str(10**9))
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hailong: HAILONG_TOKEN_TTL_DAYS must be between 1 and")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_largest_accepted_ttl_still_gives_tokens_that_mint_and_verify(settings, monkeypatch):
    monkeypatch.setenv("HAILONG_TOKEN_TTL_DAYS", str(MAX_TOKEN_TTL_DAYS))
    accepted = Settings.from_env()
    assert accepted.token_ttl_days == MAX_TOKEN_TTL_DAYS
    expires = date.today() + timedelta(days=accepted.token_ttl_days + 1)  # a local date may be a day ahead
    assert (expires - EPOCH).days < 2**16
    kid, keys = settings.signing_keys()
    token = mint("receipt", 42, expires, kid, keys)
    assert verify(token, "receipt", keys, date.today()).expires_on == expires
    monkeypatch.setenv("HAILONG_TOKEN_TTL_DAYS", "60")
    assert Settings.from_env().token_ttl_days == 60
