"""A citizen's whole journey in real headless Chromium against the real server and database.

Receipt registered through the API → slip rendered → its QR code photographed and decoded with zbar →
the decoded link opened → consent → answers → thank-you → the link refuses a second answer.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from survey.db.models import Response
from survey.questionnaires import registry
from tests.conftest import make_procedure, make_unit, run_db

pytestmark = pytest.mark.e2e
SHORT = registry.get("sipas-short")




@pytest.fixture
def api_key(settings) -> str:
    from survey.receipts.clients import create_api_client

    async def arrange(session):
        unit = await make_unit(session, code="SNV", name="Sở Nội vụ")
        await make_procedure(session, code="1.001234")
        _, key = await create_api_client(session, "Hệ thống một cửa", unit.id)
        return key

    return run_db(settings.database_url, arrange)


def register_receipt(live_server, api_key: str, seq: int) -> dict:
    now = datetime.now(ZoneInfo(live_server.settings.timezone))
    body = {
        "dossier_code": f"000.00.01.H01-{now:%y%m%d}-{seq:04d}",
        "unit_code": "SNV",
        "procedure_code": "1.001234",
        "received_at": now.replace(microsecond=0).isoformat(),
        "appointment_date": (now + timedelta(days=3)).date().isoformat(),
    }
    r = httpx.post(live_server.url + "/api/v1/receipts", json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def decode_qr(png: bytes) -> str:
    from PIL import Image
    from pyzbar.pyzbar import ZBarSymbol, decode

    found = decode(Image.open(io.BytesIO(png)), symbols=[ZBarSymbol.QRCODE])
    assert len(found) == 1, f"expected one QR code, zbar found {len(found)}"
    return found[0].data.decode("ascii")


def answer_survey(pg, overall_label: str = "Rất hài lòng") -> None:
    """Pick a level for every question by tapping its label, as a person would."""
    def tap(name: str, label: str) -> None:
        group = pg.locator("fieldset", has=pg.locator(f'input[name="{name}"]'))
        group.locator("label", has_text=re.compile(rf"^\s*\d\s+{re.escape(label)}\s*$")).click()

    for i, item in enumerate(SHORT.items):
        tap(f"answers.{item.id}", SHORT.scale.labels[str(1 + (i % 5))].vi)
    tap("overall", overall_label)


def test_receipt_qr_to_thank_you(live_server, page, api_key, settings):
    receipt = register_receipt(live_server, api_key, 1)

    # the printed slip, photographed: the QR element as the citizen's camera would see it
    page.goto(receipt["slip_url"] + "?size=a5")
    qr_png = page.locator(".qr svg").screenshot()
    url = decode_qr(qr_png)
    # the QR carries the upper-case form of the JSON's canonical link
    assert url == receipt["survey_url"].replace("/r/", "/R/").upper() and "/R/" in url
    # the PNG the API offers decodes to the same link
    png = httpx.get(receipt["qr_png_url"], timeout=10)
    assert png.status_code == 200 and decode_qr(png.content) == url

    page.goto(url)
    assert "13/2023/NĐ-CP" in page.content()
    page.get_by_role("button", name="Bắt đầu").click()
    page.wait_for_selector('input[name="answers.officer"]')
    # submitting with nothing chosen shows the error summary, focused and linking to the fields
    page.get_by_role("button", name="Gửi ý kiến").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    summary.locator('a[href="#answers.officer"]').click()
    assert page.evaluate("location.hash") == "#answers.officer"

    answer_survey(page)
    page.locator('label[for="expectations-time"]').click()
    page.fill("#comment", "Cán bộ hướng dẫn rất tận tình.")
    page.get_by_role("button", name="Gửi ý kiến").click()
    page.wait_for_url("**/cam-on**")
    assert page.get_by_role("heading", name="Cảm ơn Ông/Bà!").is_visible()

    page.goto(url)
    assert "Phiếu khảo sát này đã được trả lời" in page.content()
    assert page.locator('input[type="radio"]').count() == 0

    async def stored(session):
        return (await session.scalars(select(Response))).all()

    rows = run_db(settings.database_url, stored)
    assert len(rows) == 1
    row = rows[0]
    assert (row.questionnaire_id, row.questionnaire_version, row.channel) == (SHORT.id, SHORT.version, "qr")
    assert row.answers == {item.id: 1 + (i % 5) for i, item in enumerate(SHORT.items)}
    assert row.overall == 5 and row.expectations == ["time"] and row.comment == "Cán bộ hướng dẫn rất tận tình."


def test_survey_works_with_javascript_off(live_server, browser, api_key, settings):
    receipt = register_receipt(live_server, api_key, 2)
    context = browser.new_context(java_script_enabled=False, locale="vi-VN")
    try:
        pg = context.new_page()
        pg.goto(receipt["survey_url"] + "?lang=en")
        pg.get_by_role("button", name="Start").click()
        pg.wait_for_selector('input[name="answers.result"]')
        assert SHORT.items[0].label.en in pg.content()
        for item in SHORT.items:
            pg.locator(f'label[for="answers.{item.id}-0"]').click()  # "No opinion / not applicable"
        pg.locator('label[for="overall-4"]').click()
        pg.get_by_role("button", name="Send").click()
        pg.wait_for_url("**/cam-on**")
        assert "Thank you!" in pg.content()
    finally:
        context.close()

    async def stored(session):
        return (await session.scalars(select(Response))).one()

    row = run_db(settings.database_url, stored)
    assert row.language == "en" and row.overall == 4 and set(row.answers.values()) == {0}


def test_keyboard_only_selects_a_radio(live_server, page, api_key):
    receipt = register_receipt(live_server, api_key, 3)
    page.goto(receipt["survey_url"] + "?start=1")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "answers.access":
            break
    else:
        pytest.fail("Tab never reached the first question")
    # the focused option is visibly marked (focus ring drawn on its label)
    ring = page.evaluate("getComputedStyle(document.querySelector('label[for=\"answers.access\"]'), '::before').boxShadow")
    assert ring and ring != "none"
    page.keyboard.press("Space")
    assert page.locator("#answers\\.access").is_checked()
    page.keyboard.press("ArrowDown")
    assert page.locator("#answers\\.access-2").is_checked()
    assert not page.locator("#answers\\.access").is_checked()
