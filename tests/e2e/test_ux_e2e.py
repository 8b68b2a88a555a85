"""Issue 14 in real Chromium: the API docs offline (item 2), the kiosk on a phone (11), the sampling form's
checkboxes and admin tables on a phone (12), the comment counter (15), and the bytes on the wire (17)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kiosk import services as kiosk_services
from survey.receipts.tokens import mint
from tests.conftest import make_procedure, make_receipt, make_unit, run_db
from tests.e2e.demo_site import sign_in

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
PASSWORD = "mat-khau-that-dai-2026"


def _receipt_token(settings) -> str:
    async def arrange(session):
        unit = await make_unit(session)
        receipt = await make_receipt(session, unit, await make_procedure(session))
        kid, keys = settings.signing_keys()
        return mint("receipt", receipt.id, date.today() + timedelta(days=30), kid, keys)

    return run_db(settings.database_url, arrange)


def _staff(settings, role: str = "admin", username: str = "noivu") -> None:
    async def arrange(session):
        from survey.admin import users

        await users.create_user(session, username, PASSWORD, role, actor="test")

    run_db(settings.database_url, arrange)


def test_item2_api_docs_render_offline(live_server, browser):
    """/schema shows the operations with every request to another origin refused (the network is cut off)."""
    context = browser.new_context()
    foreign: list[str] = []

    def only_local(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(live_server.url + "/schema")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.locator(".opblock").count() >= 5
    text = page.inner_text("body")
    assert "/api/v1/receipts" in text and "/api/v1/responses" in text and "Hài Lòng API" in text
    assert foreign == [], foreign
    assert page.evaluate("fetch('/schema/openapi.json').then(r => r.json()).then(j => j.openapi)").startswith("3.")
    context.close()


def test_item17_consent_and_form_arrive_in_14_kb_compressed(live_server, browser):
    """Bytes on the wire as Chromium receives them (CDP encodedDataLength: headers and compressed body)."""
    token = _receipt_token(live_server.settings)
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    seen: dict[str, dict] = {}
    cdp.on("Network.responseReceived", lambda e: seen.setdefault(e["requestId"], {}).update(url=e["response"]["url"], type=e["type"], headers={k.lower(): v for k, v in e["response"]["headers"].items()}))
    cdp.on("Network.loadingFinished", lambda e: seen.setdefault(e["requestId"], {}).update(wire=e["encodedDataLength"]))
    for path in (f"/r/{token}", f"/r/{token}?start=1"):
        seen.clear()
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        doc = next(v for v in seen.values() if v.get("type") == "Document")
        assert doc["headers"].get("content-encoding") in ("br", "gzip"), doc["headers"]
        assert 0 < doc["wire"] <= 14 * 1024, f"{path}: {doc['wire']} bytes on the wire"
        assert not [v for v in seen.values() if v.get("type") == "Stylesheet"], "the first screen needs no stylesheet request"
        assert page.evaluate("getComputedStyle(document.querySelector('.button')).backgroundColor") == "rgb(0, 112, 60)"  # styled
    context.close()


def test_item15_comment_counter_counts_what_is_left(live_server, browser):
    token = _receipt_token(live_server.settings)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + f"/r/{token}?start=1")
    counter = page.locator("#comment + .count")
    assert counter.inner_text() == "còn 1.000 ký tự"
    page.fill("#comment", "Tốt")
    page.dispatch_event("#comment", "input")
    assert counter.inner_text() == "còn 997 ký tự"
    page.goto(live_server.url + f"/r/{token}?start=1&lang=en")
    assert page.locator("#comment + .count").inner_text() == "1,000 characters left"
    context.close()


def test_item11_kiosk_on_a_phone(live_server, browser):
    settings = live_server.settings

    async def arrange(session):
        unit = await make_unit(session)
        new = await kiosk_services.create_enrolment_code(
            session, settings, actor="test", unit_id=unit.id, counter="Quầy 1", name="Máy tính bảng 1", exit_pin="1357"
        )
        return new.code

    code = run_db(settings.database_url, arrange)
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + "/kiosk/enrol")
    page.fill("#code", code)
    page.click("#enrol-form button[type=submit]")
    page.wait_for_url(live_server.url + "/kiosk/")
    page.wait_for_function("document.getElementById('unit-name').textContent.length > 0")
    box = lambda sel: page.locator(sel).bounding_box()  # noqa: E731
    assert box(".topbar")["y"] + box(".topbar")["height"] <= box("#overall-question")["y"] + 1, "the header covers the question"
    statusbar = box(".statusbar")
    scan = box("#scan")
    assert scan["y"] + scan["height"] <= min(PHONE["height"], statusbar["y"]) + 1, "the scan button is below the fold"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for face in page.locator(".face").all():
        b = face.bounding_box()
        assert b["height"] >= 64 and b["x"] >= 0 and b["x"] + b["width"] <= PHONE["width"]
    page.click("#lang")
    assert page.locator("#counter-name").inner_text() == "· Counter 1"  # not "Counter Quầy 1"
    page.click(".face.f4")
    page.wait_for_selector("#screen-followup.active")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "follow-up rows overflow"
    for lv in page.locator(".lv").all():
        b = lv.bounding_box()
        assert b["x"] + b["width"] <= PHONE["width"] and b["width"] >= 44 and b["height"] >= 48
    page.click("#lang")
    assert page.locator("#counter-name").inner_text() == "· Quầy 1"
    context.close()


def test_item12_checkboxes_beside_labels_and_tables_on_a_phone(live_server, browser):
    settings = live_server.settings
    _staff(settings)

    async def arrange(session):
        unit = await make_unit(session, "000.00.03.H98", "Sở Nông nghiệp và Môi trường", "department")
        proc = await make_procedure(session, "1.004203", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu cho tổ chức", "Đất đai")
        for i in range(3):
            await make_receipt(session, unit, proc, f"000.00.03.H98-261122-{i + 1:04d}")

    run_db(settings.database_url, arrange)
    context = browser.new_context(viewport=PHONE)
    sign_in(context, live_server.url, "noivu", PASSWORD)
    page = context.new_page()
    page.goto(live_server.url + "/admin/sampling")
    for box_id in ("channel", "completed_only"):
        check = page.locator(f"#{box_id}").bounding_box()
        label = page.locator(f"label:has(#{box_id})").bounding_box()
        assert check["width"] < 40, "a checkbox stretched to the full width"
        assert abs((check["y"] + check["height"] / 2) - (label["y"] + label["height"] / 2)) < 12, "checkbox not beside its label"
        assert check["x"] <= label["x"] + 4
    page.goto(live_server.url + "/admin/receipts")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    lines_js = "(el) => { const r = document.createRange(); r.selectNodeContents(el); return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; }"
    for cell in page.locator("td[lang=vi]").all()[:2]:  # the unit's name, the procedure's name
        b = cell.bounding_box()
        lines = page.evaluate(lines_js, cell.element_handle())
        assert b["width"] >= 150, f"a name squeezed to {b['width']} px"
        words = len(cell.inner_text().split())
        assert words / lines >= 2.5, f"{cell.inner_text()!r}: {words} words on {lines} lines (squeezed)"
    context.close()
