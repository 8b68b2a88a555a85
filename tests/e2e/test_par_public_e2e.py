"""The PAR Index section of /cong-khai in real Chromium: on a phone (390 x 844) without sideways scrolling, axe-clean."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_db
from tests.e2e.test_accessibility import assert_clean, axe_check
from tests.results.helpers import arrange, arrange_par

pytestmark = pytest.mark.e2e

SHOTS = os.environ.get("HAILONG_SCREENSHOTS")  # a directory: save screenshots of each page there


@pytest.fixture
def par_server(live_server):
    async def seed(session):
        a = await arrange(session)
        await arrange_par(session, a.runs["sample"])
        return a

    return live_server, run_db(live_server.settings.database_url, seed)


def test_public_par_section_on_a_phone(par_server, browser, tmp_path: Path):
    server, _arranged = par_server
    ctx = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})
    pg = ctx.new_page()
    assert pg.goto(server.url + "/cong-khai").status == 200
    section = pg.locator("#chi-so-cchc")
    assert section.get_by_role("heading", name="Chỉ số cải cách hành chính (Chỉ số CCHC)").is_visible()
    table = section.locator("table.par-table")
    assert table.count() == 1  # the published department block only (the ward composition is a draft)
    ranks = table.locator("tbody td.rank").all_inner_texts()
    assert sum("(đồng hạng)" in r for r in ranks) == 2
    assert "chênh lệch giữa đầu và cuối bảng" in section.inner_text()
    section.scroll_into_view_if_needed()
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390  # the wide table scrolls inside its region
    region = section.locator(".table-scroll")
    assert region.evaluate("e => e.getBoundingClientRect().right") <= 390
    found: dict[str, list[str]] = {}
    axe_check(pg, "public page with the PAR Index (phone)", found)
    assert_clean(found, 1, ["public page with the PAR Index (phone)"])
    for where in filter(None, (SHOTS, str(tmp_path))):
        Path(where).mkdir(parents=True, exist_ok=True)
        section.screenshot(path=str(Path(where) / "cong-khai-par-390.png"))
    ctx.close()
