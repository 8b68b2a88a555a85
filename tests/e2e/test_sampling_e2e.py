"""A statistician in real headless Chromium: sign in, preview sizes per stratum, draw a sample, download the call list,
then one invitation link from that list is answered."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from survey.campaigns.services import CALL_LIST_COLUMNS
from survey.db.models import AuditLog, CampaignMember, Receipt, Response
from survey.questionnaires import registry
from tests.conftest import make_procedure, make_unit, run_db

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
FULL = registry.get("sipas-full")




@pytest.fixture
def arranged(settings):
    async def arrange(session):
        from survey.admin import users

        units = [await make_unit(session, code=c, name=f"Xã {c}", kind="commune") for c in ("X1", "X2", "X3")]
        proc = await make_procedure(session, code="1.1", name="Đăng ký", field="Đất đai")
        now = datetime.now(UTC) - timedelta(days=5)
        rows = []
        for k in range(90):
            unit = units[0] if k < 50 else units[1] if k < 75 else units[2]
            rows.append({"dossier_code": f"E2E-{k:04d}", "unit_id": unit.id, "procedure_id": proc.id, "received_at": now,
                         "returned_at": now + timedelta(days=1), "channel": "direct", "token_expires_at": now + timedelta(days=60),
                         "created_at": now})
        await session.execute(insert(Receipt), rows)
        await session.commit()
        await users.create_user(session, "thongke", PASSWORD, "statistician", actor="test")

    run_db(settings.database_url, arrange)


def test_statistician_previews_draws_and_downloads_the_call_list(settings, arranged, live_server, page):
    base = live_server.url
    page.goto(f"{base}/admin/sampling")
    assert "/admin/login" in page.url
    page.fill("#username", "thongke")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/sampling")

    page.fill("#name", "Quý IV — thử nghiệm")
    page.select_option("#strata", "unit")
    page.fill("#n", "30")
    page.fill("#minimum", "5")
    page.fill("#seed", "42")
    page.fill("#reserve_fraction", "0,2")
    page.click("#preview-button")
    page.wait_for_selector("#preview-table")
    assert page.inner_text("#preview-total") == "30"
    cells = page.locator("#preview-table tbody tr").all_inner_texts()
    assert len(cells) == 3 and all(("X1" in c or "X2" in c or "X3" in c) for c in cells)

    page.click("#draw-button")
    page.wait_for_url(f"{base}/admin/sampling/*")
    assert page.inner_text("#sample-size") == "30"
    assert page.inner_text("#seed") == "42"
    with page.expect_download() as info:
        page.click("#download-csv")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CALL_LIST_COLUMNS
    main = [r for r in rows if r["reserve"] == "no"]
    assert len(main) == 30 and len(rows) > 30
    assert {r["unit"] for r in main} == {"X1", "X2", "X3"}
    assert all(r["dossier_code"].startswith("E2E-") for r in rows)

    # the first invitation link of the list opens the full questionnaire and its answer is stored with the design
    link = main[0]["invitation_link"]
    assert link.startswith(f"{base}/c/")
    page.goto(link)
    page.click("button[type=submit]")  # consent → start
    for item in FULL.items:
        page.check(f"input[name='answers.{item.id}'][value='4']")
    page.check("input[name='overall'][value='5']")
    page.click("form[method=post] button[type=submit]")
    page.wait_for_url("**/cam-on**")

    async def check(session):
        resp = await session.scalar(select(Response).where(Response.channel == "campaign"))
        member = await session.scalar(select(CampaignMember).where(CampaignMember.member_no == 1))
        draws = await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "sampling.draw"))
        return resp, member, draws

    resp, member, draws = run_db(settings.database_url, check)
    assert draws == 1
    assert resp.extra["receipt_id"] == member.receipt_id and member.status == "I" and member.response_id == resp.id
    assert resp.extra["stratum"] == main[0]["stratum"] and resp.extra["inclusion_prob"] == pytest.approx(float(main[0]["inclusion_prob"]))
