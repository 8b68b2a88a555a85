"""`hailong purge`: personal data older than its retention setting is erased, newer data is kept,
a dry run changes nothing, and the run is audited."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from survey.cli import main
from survey.db.models import AuditLog, LoginAttempt, Receipt, Response, User
from tests.conftest import make_receipt, make_unit, run_db

OLD = datetime.now(UTC) - timedelta(days=4000)


async def _arrange(session):
    unit = await make_unit(session)
    old_receipt = await make_receipt(session, unit, dossier_code="000.00.01.H01-150101-0001")
    new_receipt = await make_receipt(session, unit, dossier_code="000.00.01.H01-261122-0002")
    old_receipt.received_at = OLD
    old_receipt.counter = "Quầy 3 - chị Hoa"
    for rid, when, text in ((old_receipt.id, OLD, "Anh Nam 0901234567 rất tốt"), (new_receipt.id, datetime.now(UTC), "Nhanh gọn")):
        session.add(Response(id=f"r-{rid}", receipt_id=rid, unit_id=unit.id, questionnaire_id="sipas-short", questionnaire_version=1,
                             channel="qr", answers={"access": 4}, overall=4, expectations=[], comment=text, submitted_at=when))
    session.add_all([
        LoginAttempt(username="nguyen.van.a", client_key="k1", success=False, at=OLD),
        LoginAttempt(username="tran.thi.b", client_key="k2", success=False),
        User(username="le.van.c", full_name="Lê Văn C", password_hash="x", role="viewer", active=False, created_at=OLD, last_login_at=OLD),
        User(username="pham.d", full_name="Phạm D", password_hash="x", role="viewer", active=True, created_at=OLD, last_login_at=OLD),
        AuditLog(actor="le.van.c", action="unit.create", at=OLD, details={}),
    ])
    await session.commit()
    return old_receipt.id, new_receipt.id


async def _state(session):
    session.expire_all()
    return {
        "comments": dict((await session.execute(select(Response.receipt_id, Response.comment))).all()),
        "codes": sorted((await session.scalars(select(Receipt.dossier_code))).all()),
        "counters": sorted(c or "" for c in (await session.scalars(select(Receipt.counter))).all()),
        "attempts": sorted((await session.scalars(select(LoginAttempt.username))).all()),
        "users": sorted((await session.execute(select(User.username, User.full_name))).all()),
        "audit": sorted((await session.scalars(select(AuditLog.action))).all()),
    }


def test_purge_erases_only_what_is_past_its_retention_and_is_audited(settings, monkeypatch, capsys):
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    old_id, new_id = run_db(settings.database_url, _arrange)
    before = run_db(settings.database_url, _state)

    assert main(["purge", "--dry-run"]) == 0
    assert "would erase" in capsys.readouterr().out
    assert run_db(settings.database_url, _state) == before  # a dry run changes nothing and is not audited

    assert main(["purge"]) == 0
    out = capsys.readouterr().out
    assert "comments" in out and "erased 1" in out
    after = run_db(settings.database_url, _state)
    assert after["comments"] == {old_id: None, new_id: "Nhanh gọn"}
    assert after["codes"] == sorted([f"PURGED-{old_id}", "000.00.01.H01-261122-0002"])
    assert "Quầy 3 - chị Hoa" not in after["counters"]
    assert after["attempts"] == ["tran.thi.b"]
    erased = [u for u in after["users"] if u[0].startswith("erased-")]
    assert len(erased) == 1 and erased[0][1] == ""  # the inactive account lost name and username
    assert ("pham.d", "Phạm D") in after["users"]  # an active account is kept
    assert after["audit"] == ["privacy.purge"]  # the old entry is gone, the purge itself is recorded

    async def purge_entry(session):
        return (await session.scalars(select(AuditLog).where(AuditLog.action == "privacy.purge"))).one()

    entry = run_db(settings.database_url, purge_entry)
    assert entry.actor == f"cli:{getpass.getuser()}"
    assert entry.details["comments"]["erased"] == 1 and entry.details["dossier_codes"]["erased"] == 1
    assert entry.details["login_attempts"]["erased"] == 1 and entry.details["audit"]["erased"] == 1

    # a second run has nothing left to erase
    assert main(["purge"]) == 0
    assert "erased 1" not in capsys.readouterr().out


def test_purge_keeps_a_kind_whose_retention_is_zero(settings, monkeypatch, capsys):
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HAILONG_RETAIN_COMMENTS_DAYS", "0")
    old_id, _ = run_db(settings.database_url, _arrange)
    assert main(["purge", "--only", "comments"]) == 0
    assert "kept until deleted by hand" in capsys.readouterr().out
    assert run_db(settings.database_url, _state)["comments"][old_id] == "Anh Nam 0901234567 rất tốt"
    assert main(["purge", "--only", "nonsense"]) == 2
