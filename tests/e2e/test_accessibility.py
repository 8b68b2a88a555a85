"""Automated accessibility checks (axe-core, WCAG 2.1 A/AA) on the real pages in headless Chromium.

Every citizen, kiosk and admin page a person meets is opened in the state they meet it in (consent,
form, form with its error summary, thank-you, already answered, 404/410 link errors, the printable
slip, kiosk enrolment and start screen, admin sign-in and dashboard) and axe runs on it with the
WCAG 2.0/2.1 A and AA rules plus axe's best-practice rules (landmarks, headings).  A violation of impact
"serious" or "critical" fails the test; "moderate" and "minor" ones are printed.  Layout checks that
axe cannot make (tap-target sizes, nothing hidden under the kiosk's fixed top bar, no sideways
scrolling on a phone) are asserted here too.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from survey.questionnaires import registry
from survey.receipts.tokens import mint
from tests.conftest import make_procedure, make_receipt, make_unit, run_db
from tests.e2e.test_admin_e2e import PASSWORD, _add_admin
from tests.e2e.test_citizen_e2e import answer_survey
from tests.e2e.test_kiosk_e2e import _enrol

pytestmark = pytest.mark.e2e

axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = {"serious", "critical"}
SHORT = registry.get("sipas-short")


def axe_check(pg, name: str, found: dict[str, list[str]]) -> dict:
    """Run axe (WCAG 2.1 A/AA and best-practice rules) on what ``pg`` shows now; file serious/critical violations under ``name``."""
    results = axe_sync.Axe().run(pg, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    response = results.response
    assert response["testEngine"]["name"] == "axe-core"
    assert response["url"] == pg.url  # axe looked at this page
    for v in response["violations"]:
        nodes = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"]) for n in v["nodes"][:5])
        line = f"{v['id']} ({v['impact']}): {v['help']} — {nodes}"
        if v["impact"] in FAILING:
            found.setdefault(name, []).append(line)
        else:
            print(f"[axe {name}] {line}")
    return response


def assert_clean(found: dict[str, list[str]], expected_pages: int, checked: list[str]) -> None:
    assert len(checked) == expected_pages, checked
    report = "\n".join(f"{page}:\n  " + "\n  ".join(lines) for page, lines in found.items())
    assert not found, f"serious/critical accessibility violations:\n{report}"


def boxes(pg, selector: str) -> list[dict]:
    return pg.evaluate(
        "sel => Array.from(document.querySelectorAll(sel)).filter(e => e.offsetParent !== null || e.getClientRects().length)"
        ".map(e => { const r = e.getBoundingClientRect(); return {w: r.width, h: r.height, top: r.top, bottom: r.bottom, text: e.textContent.trim().slice(0, 40)}; })",
        selector,
    )


def assert_phone_layout(pg) -> None:
    """No sideways scrolling at 360 px; every answer's tap area and the language link at least 44 px high."""
    assert pg.evaluate("document.documentElement.scrollWidth") <= 360
    labels = boxes(pg, ".choice label")
    assert len(labels) >= len(SHORT.items) * 6
    assert all(b["h"] >= 44 for b in labels), [b for b in labels if b["h"] < 44]
    (lang,) = boxes(pg, ".lang-switch a")
    assert lang["h"] >= 44 and lang["w"] >= 44, lang
    # the header is just its row: no empty band under it
    (header,) = boxes(pg, "header.site-header")
    assert header["h"] <= 72, header


def assert_kiosk_layout(pg, min_target: int = 64) -> None:
    """Every visible control is a big touch target and nothing of the screen is under the fixed top bar."""
    (bar,) = boxes(pg, ".topbar")
    screen = ".screen.active"
    controls = boxes(pg, f"{screen} button, .topbar button")
    assert controls and all(b["w"] >= min_target and b["h"] >= min_target for b in controls), [b for b in controls if min(b["w"], b["h"]) < min_target]
    (heading,) = boxes(pg, f"{screen} h1")
    assert heading["top"] >= bar["bottom"], (heading, bar)
    height = pg.evaluate("window.innerHeight")
    assert all(b["bottom"] <= height for b in boxes(pg, f"{screen} .big")), "a main button is below the fold"


def _token(settings, receipt_id: int, expires_on: date) -> str:
    kid, keys = settings.signing_keys()
    return mint("receipt", receipt_id, expires_on, kid, keys)


@pytest.fixture
def citizen_links(settings) -> dict[str, str]:
    """Tokens for: a fresh receipt, an already-answered one, an expired one, and a forged one."""
    from survey.responses.services import Submission, store_response

    async def arrange(session):
        unit = await make_unit(session)
        proc = await make_procedure(session)
        fresh = await make_receipt(session, unit, proc, dossier_code="000.00.01.H01-261122-0001")
        done = await make_receipt(session, unit, proc, dossier_code="000.00.01.H01-261122-0002")
        old = await make_receipt(session, unit, proc, dossier_code="000.00.01.H01-261122-0003")
        await store_response(
            session,
            Submission(SHORT.id, SHORT.version, "qr", unit.id, {i.id: 4 for i in SHORT.items}, overall=4, receipt_id=done.id, procedure_id=proc.id),
            comment_max_chars=settings.comment_max_chars,
        )
        return fresh.id, done.id, old.id

    fresh, done, old = run_db(settings.database_url, arrange)
    later = date.today() + timedelta(days=30)
    return {
        "fresh": _token(settings, fresh, later),
        "answered": _token(settings, done, later),
        "expired": _token(settings, old, date.today() - timedelta(days=2)),
        "forged": _token(settings, fresh, later)[:-4] + "AAAA",
    }


def test_citizen_pages_have_no_serious_accessibility_violations(live_server, page, citizen_links):
    found: dict[str, list[str]] = {}
    checked: list[str] = []
    base = live_server.url

    def check(name: str, url: str | None = None, status: int | None = None) -> dict:
        if url is not None:
            resp = page.goto(url)
            if status is not None:
                assert resp.status == status, (name, resp.status)
        checked.append(name)
        return axe_check(page, name, found)

    fresh = citizen_links["fresh"]
    check("consent (vi)", f"{base}/r/{fresh}", 200)
    assert page.locator("html").get_attribute("lang") == "vi"
    check("consent (en)", f"{base}/r/{fresh}?lang=en", 200)
    assert page.locator("html").get_attribute("lang") == "en"
    page.set_viewport_size({"width": 360, "height": 740})  # a small phone
    check("survey form", f"{base}/r/{fresh}?start=1&lang=vi", 200)
    assert_phone_layout(page)
    # every radio group is a fieldset with a legend, every control has a label
    groups = page.locator("fieldset")
    assert groups.count() == len(SHORT.items) + 2
    assert page.locator("fieldset > legend").count() == groups.count()
    page.get_by_role("button", name="Gửi ý kiến").click()
    page.wait_for_selector(".error-summary")
    check("survey form with error summary")
    answer_survey(page)
    page.get_by_role("button", name="Gửi ý kiến").click()
    page.wait_for_url("**/cam-on**")
    check("thank-you")
    check("already answered", f"{base}/r/{citizen_links['answered']}", 409)
    check("link error 404", f"{base}/r/{citizen_links['forged']}", 404)
    check("link error 410", f"{base}/r/{citizen_links['expired']}", 410)
    check("general 404 page", f"{base}/no-such-page", 404)
    check("printable slip (80 mm)", f"{base}/slip/{fresh}", 200)
    check("printable slip (A5)", f"{base}/slip/{fresh}?size=a5", 200)
    check("landing page", f"{base}/", 200)
    assert_clean(found, 12, checked)


def test_kiosk_pages_have_no_serious_accessibility_violations(live_server, page):
    found: dict[str, list[str]] = {}
    checked: list[str] = []
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + "/kiosk/enrol")
    checked.append("kiosk enrol")
    axe_check(page, "kiosk enrol", found)
    _enrol(page, live_server, idle_seconds=60)
    checked.append("kiosk start screen")
    axe_check(page, "kiosk start screen", found)
    assert_kiosk_layout(page)
    assert "Quầy Quầy" not in page.locator(".topbar").inner_text()  # the counter "Quầy 2" is not prefixed twice
    page.click(".face.f4")
    page.wait_for_selector("#screen-followup.active")
    checked.append("kiosk follow-up screen")
    axe_check(page, "kiosk follow-up screen", found)
    assert_kiosk_layout(page)
    level = page.locator(".lv[data-item='officer'][data-value='5']")
    assert level.get_attribute("aria-label").startswith("5")  # the visible digit is part of its name
    page.click("#skip")
    page.wait_for_selector("#screen-thanks.active")
    page.click("#screen-thanks")
    page.wait_for_selector("#screen-start.active")
    page.click("#lang")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#exit").get_attribute("aria-label") == "Exit kiosk mode"
    assert page.locator("#lang").get_attribute("lang") == "vi"  # the button now reads "Tiếng Việt"
    checked.append("kiosk start screen (English)")
    axe_check(page, "kiosk start screen (English)", found)
    # a portrait tablet: the five faces still fit in one row
    page.set_viewport_size({"width": 800, "height": 1280})
    tops = {round(b["top"]) for b in boxes(page, ".face")}
    assert len(tops) == 1, tops
    assert_kiosk_layout(page)
    assert_clean(found, 4, checked)


def test_admin_pages_have_no_serious_accessibility_violations(live_server, page):
    found: dict[str, list[str]] = {}
    checked: list[str] = []
    _add_admin(live_server.settings.database_url)
    page.goto(live_server.url + "/admin/login")
    checked.append("admin login")
    axe_check(page, "admin login", found)
    page.get_by_label("Tên đăng nhập").fill("noivu")
    page.get_by_label("Mật khẩu").fill("sai mật khẩu rồi")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_selector(".error-summary")
    checked.append("admin login with errors")
    axe_check(page, "admin login with errors", found)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url + "/admin")
    checked.append("admin dashboard")
    axe_check(page, "admin dashboard", found)
    assert_clean(found, 3, checked)
