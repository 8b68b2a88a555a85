"""An expert's own data: exported on request (everything stored about them, audited) and erased by
`hailong purge` after HAILONG_RETAIN_EXPERT_CONTACTS_DAYS."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from survey.cli import main
from survey.db.models import (
    AuditLog,
    ExpertGroup,
    ExpertInvitation,
    ExpertMember,
    ExpertPanel,
    ExpertRating,
    ExpertSubmission,
)
from tests.conftest import make_unit, run_db


async def _arrange(session, *, created_at: datetime) -> int:
    own = await make_unit(session, code="UBND-A", name="UBND xã A", kind="commune")
    rated = await make_unit(session, code="SXD", name="Sở Xây dựng")
    panel = ExpertPanel(year=2026, name="Điều tra xã hội học 2026", methodology_ids=[], invitations_expire_on=date(2027, 1, 31),
                        created_by="noivu", created_at=created_at)
    session.add(panel)
    await session.flush()
    group = ExpertGroup(panel_id=panel.id, code="commune_chair", name="Chủ tịch UBND xã")
    session.add(group)
    await session.flush()
    member = ExpertMember(panel_id=panel.id, group_id=group.id, name="Nguyễn Thị Hạnh", title="Chủ tịch UBND xã A",
                          unit_id=own.id, contact="hanh@example.gov.vn")
    session.add(member)
    await session.flush()
    invitation = ExpertInvitation(member_id=member.id, expires_on=date(2027, 1, 31), reminders=1)
    session.add(invitation)
    await session.flush()
    session.add_all([ExpertRating(invitation_id=invitation.id, unit_id=rated.id, criterion_id="C1", value=8),
                     ExpertRating(invitation_id=invitation.id, unit_id=rated.id, criterion_id="C2", value=0),
                     ExpertSubmission(invitation_id=invitation.id, language="vi")])
    await session.commit()
    return member.id


def test_export_expert_writes_everything_stored_about_them_and_is_audited(settings, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    member_id = run_db(settings.database_url, lambda s: _arrange(s, created_at=datetime.now(UTC)))
    out = tmp_path / "expert.json"
    assert main(["export-expert", str(member_id), "--output", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["member"] == {**data["member"], "name": "Nguyễn Thị Hạnh", "contact": "hanh@example.gov.vn", "unit_code": "UBND-A"}
    assert data["panel"]["year"] == 2026 and data["group"]["code"] == "commune_chair"
    assert data["invitation"]["reminders"] == 1
    assert [(r["unit_code"], r["criterion_id"], r["value"]) for r in data["ratings"]] == [("SXD", "C1", 8), ("SXD", "C2", 0)]
    assert data["submission"]["language"] == "vi"

    async def exports(session):
        return (await session.scalars(select(AuditLog.target_id).where(AuditLog.action == "privacy.export"))).all()

    assert run_db(settings.database_url, exports) == [str(member_id)]
    assert main(["export-expert", "999999"]) == 1
    assert "no expert member" in capsys.readouterr().err


def test_purge_erases_expert_contacts_after_their_retention(settings, monkeypatch, capsys):
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    member_id = run_db(settings.database_url, lambda s: _arrange(s, created_at=datetime.now(UTC) - timedelta(days=800)))
    assert main(["purge", "--only", "expert_contacts"]) == 0
    assert "erased 1" in capsys.readouterr().out

    async def read(session):
        m = await session.get(ExpertMember, member_id)
        n = len((await session.scalars(select(ExpertRating))).all())
        return m.name, m.title, m.contact, n

    name, title, contact, ratings = run_db(settings.database_url, read)
    assert (name, title, contact) == (f"erased-{member_id}", "", "")
    assert ratings == 2  # the judgements stay, no longer linked to a person
