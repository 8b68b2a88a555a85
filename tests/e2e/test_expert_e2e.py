"""The expert survey in real headless Chromium on a phone (390 x 844), with JavaScript off, plus axe-core.

The printed invitation letter's QR code is photographed and decoded with zbar; the decoded link is
opened on a phone; the expert rates each unit on the 1-10 grid (tapping), meets the error summary,
saves and resumes, submits, and the link then refuses a second submission.  Every page is checked
with axe (WCAG 2.1 A/AA + best practice; serious/critical violations fail) and for phone layout.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from survey.experts import services as ex
from survey.par import methodology as meth
from tests.conftest import make_unit, run_db
from tests.e2e.test_accessibility import assert_clean, axe_check, boxes
from tests.e2e.test_admin_e2e import PASSWORD, _add_admin
from tests.e2e.test_citizen_e2e import decode_qr

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DEPT = meth.get("par-department-2025-v1")
SURVEY = DEPT.criteria_of("expert_survey")
SHOTS = os.environ.get("HAILONG_SCREENSHOTS")  # a directory: save screenshots of each page there


@pytest.fixture
def invitation(settings):
    async def arrange(session):
        for code, name in (("STP", "Sở Tư pháp"), ("SXD", "Sở Xây dựng"), ("STC", "Sở Tài chính")):
            await make_unit(session, code=code, name=name, kind="department")
        pid = await ex.create_panel(session, year=2025, name="Điều tra xã hội học Chỉ số CCHC 2025", methodology_ids=[DEPT.id],
                                    expires_on=date.today() + timedelta(days=20), actor="test")
        await ex.import_members(session, pid, "group,name,title,unit,contact\nlanh_dao_so,Nguyễn Văn An,Ông,STP,\n".encode(), "test")
        await ex.generate_matrix(session, pid, "test")
        await ex.create_invitations(session, pid, "test")
        return pid

    return run_db(settings.database_url, arrange)


def shot(pg, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def phone_layout(pg) -> None:
    assert pg.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    small = [b for b in boxes(pg, ".choice label, .button, .unit-list a, .lang-switch a") if b["h"] < 44]
    assert not small, small


def rate(pg, value: int, skip: str | None = None) -> None:
    for c in SURVEY:
        if f"c-{c.id}" == skip:
            continue
        pg.locator(f'label[for="c-{c.id}{"" if value == 1 else f"-{value}"}"]').click()


def test_expert_survey_on_a_phone_without_javascript(live_server, browser, invitation):
    settings = live_server.settings
    _add_admin(settings.database_url)
    found: dict[str, list[str]] = {}
    checked: list[str] = []

    def check(pg, name: str) -> None:
        """axe and the phone layout need JavaScript: look at the same URL in a scripted phone context."""
        look = checker.new_page()
        look.set_default_timeout(20_000)
        look.goto(pg.url)
        if name == "unit form with errors":  # re-post the same incomplete form to see the same state
            rate(look, 8, skip=f"c-{SURVEY[2].id}")
            look.get_by_role("button", name="Lưu và sang đơn vị tiếp theo").click()
            look.wait_for_selector(".error-summary")
        if name.startswith(("start", "unit")):
            phone_layout(look)
        axe_check(look, name, found)
        checked.append(name)
        shot(look, f"expert-{name.replace(' ', '-')}-390")
        look.close()

    admin = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900})
    checker = browser.new_context(locale="vi-VN", viewport=PHONE, is_mobile=True, has_touch=True)
    phone = browser.new_context(java_script_enabled=False, locale="vi-VN", viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        pg = admin.new_page()
        pg.set_default_timeout(20_000)
        pg.goto(live_server.url + f"/admin/experts/{invitation}")
        pg.get_by_label("Tên đăng nhập").fill("noivu")
        pg.get_by_label("Mật khẩu").fill(PASSWORD)
        pg.get_by_role("button", name="Đăng nhập").click()
        pg.wait_for_url(f"**/admin/experts/{invitation}")
        axe_check(pg, "admin panel", found)
        checked.append("admin panel")
        shot(pg, "admin-panel-1366")
        pg.locator("#invitation-table a", has_text="Thư in có mã QR").first.click()
        pg.wait_for_url("**/admin/experts/letters/**")
        url = decode_qr(pg.locator(".letter-qr svg").screenshot())
        assert "/E/" in url and url.lower().startswith(live_server.url)
        shot(pg, "letter-1366")

        pg = phone.new_page()
        pg.set_default_timeout(20_000)
        pg.goto(url)
        assert pg.get_by_role("heading", name="Phiếu điều tra xã hội học").is_visible()
        text = pg.content()
        assert "Sở Xây dựng" in text and "Sở Tài chính" in text and "Sở Tư pháp" not in text  # never one's own unit
        check(pg, "start")
        pg.get_by_role("link", name="Bắt đầu đánh giá").click()
        pg.wait_for_selector(f'input[name="c-{SURVEY[0].id}"]')
        check(pg, "unit form")
        # one question left out: the error summary links to it, the other answers are kept
        rate(pg, 8, skip=f"c-{SURVEY[2].id}")
        pg.get_by_role("button", name="Lưu và sang đơn vị tiếp theo").click()
        summary = pg.locator(".error-summary")
        assert summary.is_visible()
        assert summary.locator(f'a[href="#c-{SURVEY[2].id}"]').count() == 1
        assert pg.locator(f'[id="c-{SURVEY[0].id}-8"]').is_checked()
        check(pg, "unit form with errors")
        pg.locator(f'label[for="c-{SURVEY[2].id}-0"]').click()  # "not enough information"
        pg.get_by_role("button", name="Lưu và sang đơn vị tiếp theo").click()
        pg.wait_for_selector(f'input[name="c-{SURVEY[0].id}"]')
        second = pg.locator("h1").inner_text()
        assert second in ("Sở Xây dựng", "Sở Tài chính")
        # stop here, come back later through the same link: progress kept
        pg.goto(url)
        assert "Đã đánh giá 1/2 đơn vị" in pg.content()
        pg.get_by_role("link", name="Tiếp tục đánh giá").click()
        pg.wait_for_selector(f'input[name="c-{SURVEY[0].id}"]')
        assert pg.locator("h1").inner_text() == second
        rate(pg, 10)
        pg.get_by_role("button", name="Lưu và sang đơn vị tiếp theo").click()
        pg.wait_for_selector("#submit")
        check(pg, "ready to submit")
        pg.get_by_role("button", name="Gửi phiếu").click()
        pg.wait_for_url("**/cam-on**")
        assert pg.get_by_role("heading", name="Cảm ơn Ông/Bà!").is_visible()
        check(pg, "thanks")
        pg.goto(url)
        assert "Phiếu điều tra này đã được gửi" in pg.content()
        assert pg.locator('input[type="radio"]').count() == 0
        check(pg, "already submitted")
        pg.goto(url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB"))
        assert "Không tìm thấy phiếu điều tra" in pg.content()
        check(pg, "forged link")
    finally:
        phone.close()
        checker.close()
        admin.close()
    assert_clean(found, 8, checked)

    async def stored(session):
        from sqlalchemy import func, select

        from survey.db.models import ExpertRating, ExpertSubmission

        return (await session.scalar(select(func.count()).select_from(ExpertSubmission)),
                await session.scalar(select(func.count()).select_from(ExpertRating)))

    assert run_db(settings.database_url, stored) == (1, 2 * len(SURVEY))
