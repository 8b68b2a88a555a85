"""The results pages in real Chromium, as each role: what each sees and is refused; axe-core on every page."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_db
from tests.e2e.test_accessibility import assert_clean, axe_check
from tests.results.helpers import add_comments, arrange, arrange_par

pytestmark = pytest.mark.e2e

PASSWORD = "mat-khau-ket-qua-2026"


@pytest.fixture
def results_server(live_server):
    """A live server over a database with stored runs, comments and one account per role."""
    from survey.admin.users import create_user

    async def seed(session):
        a = await arrange(session)
        await add_comments(session, a.unit_ids["D01"])
        await arrange_par(session, a.runs["sample"])  # the PAR Index section on /cong-khai and in the report (axe checks it too)
        for username, role, unit in (("noivu", "admin", None), ("thongke", "statistician", None), ("xem", "viewer", None), ("tuphap", "unit_manager", "D01")):
            await create_user(session, username, PASSWORD, role, unit_code=unit, actor="test")
        return a

    arranged = run_db(live_server.settings.database_url, seed)
    return live_server, arranged


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/admin/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_each_role_sees_its_pages_and_is_refused_the_others(results_server, browser):
    server, arranged = results_server
    base = server.url
    run = arranged.runs["sample"]
    found: dict[str, list[str]] = {}
    checked: list[str] = []

    def check(page, name: str) -> None:
        checked.append(name)
        axe_check(page, name, found)

    # anonymous: only the public page and the published report
    ctx = ctx_for(browser)
    pg = ctx.new_page()
    resp = pg.goto(base + "/cong-khai")
    assert resp.status == 200
    assert pg.get_by_role("heading", name="Kết quả đo lường sự hài lòng của người dân, tổ chức").is_visible()
    assert "86,2%" in pg.locator(".headline").inner_text() and "±2,0 điểm %" in pg.locator(".headline").inner_text()
    assert "Không phải mẫu xác suất" in pg.locator(".three").inner_text()
    check(pg, "public page")
    pg.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(pg, 390)
    with pg.expect_download() as dl:
        pg.locator("a[href='/cong-khai/csv/xep-hang-department.csv']").click()
    assert "D01" in Path(dl.value.path()).read_text(encoding="utf-8-sig")
    pg.set_viewport_size({"width": 1366, "height": 900})
    assert pg.goto(f"{base}/cong-khai/bao-cao/{run}").status == 200
    check(pg, "report (HTML)")
    assert pg.goto(f"{base}/cong-khai/bao-cao/{arranged.runs['draft']}").status == 404
    for path in ("/admin/ket-qua", "/admin/ket-qua/don-vi/D01", f"/admin/ket-qua/bao-cao/{run}"):
        pg.goto(base + path)
        assert "/admin/login" in pg.url, path
    ctx.close()

    # admin: the dashboard, with its charts, data tables and downloads, and a unit page
    ctx = ctx_for(browser)
    pg = ctx.new_page()
    sign_in(pg, base, "noivu")
    pg.goto(base + "/admin/ket-qua?unit=D01")
    assert pg.get_by_role("heading", name="Khối sở, ban, ngành").is_visible()
    first = pg.locator("#league-department + .table-scroll tbody tr").first
    assert "Sở Y tế" in first.inner_text() and "1–4" in first.inner_text()
    assert pg.locator("#heatmap svg rect").count() == 8 * 6
    assert pg.locator("#trend svg circle").count() == 4  # province and Sở Tư pháp, two periods each
    pg.locator("#heatmap details summary").click()
    assert pg.locator("#heatmap details table").is_visible()
    with pg.expect_download() as dl:
        pg.locator("#heatmap a[download]").click()
    assert dl.value.suggested_filename.endswith("ban-do-nhiet.csv")
    check(pg, "results dashboard (admin)")
    pg.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(pg, 390)
    pg.set_viewport_size({"width": 1366, "height": 900})
    pg.get_by_role("link", name="Sở Tư pháp").first.click()
    pg.wait_for_url("**/admin/ket-qua/don-vi/D01**")
    assert "[số điện thoại đã ẩn]" in pg.locator(".comments").inner_text()
    check(pg, "unit page (admin)")
    pg.goto(base + "/admin/ket-qua/don-vi/D04")
    assert "73,5%–100,0%" in pg.locator(".headline").inner_text()
    check(pg, "unit page, 12 of 12 satisfied")
    ctx.close()

    # statistician: the dashboard too
    ctx = ctx_for(browser)
    pg = ctx.new_page()
    sign_in(pg, base, "thongke")
    assert pg.goto(base + "/admin/ket-qua").status == 200
    ctx.close()

    # unit manager: their unit only
    ctx = ctx_for(browser)
    pg = ctx.new_page()
    sign_in(pg, base, "tuphap")
    pg.wait_for_url("**/admin/ket-qua/don-vi/D01")
    assert pg.get_by_role("heading", name="Sở Tư pháp").is_visible()
    assert pg.locator("nav.admin-nav a").all_inner_texts() == ["Kết quả"]
    check(pg, "unit page (unit manager)")
    pg.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(pg, 390)
    refused = pg.goto(base + "/admin/ket-qua/don-vi/D02")
    assert refused.status == 403
    check(pg, "403 for another unit")
    for path in ("/admin", "/admin/units", f"/admin/ket-qua/csv/{run}/xep-hang-department.csv"):
        assert pg.goto(base + path).status == 403, path
    ctx.close()

    # viewer: no results
    ctx = ctx_for(browser)
    pg = ctx.new_page()
    sign_in(pg, base, "xem")
    assert pg.goto(base + "/admin/ket-qua").status == 403
    ctx.close()
    assert_clean(found, 7, checked)


def ctx_for(browser):
    return browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 900}, accept_downloads=True)
