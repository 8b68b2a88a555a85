"""The Content-Security-Policy in a real browser: the pages and their scripts work, nothing is blocked.

Chromium reports every blocked script, style or resource as a ``securitypolicyviolation`` event; the
test records them on every page a person meets (citizen survey, slip, sign-in, admin pages, kiosk
enrolment and start screen) and fails on any.  It also checks that framing is refused.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import make_procedure, make_receipt, make_unit, run_db
from tests.e2e.test_admin_e2e import PASSWORD, _add_admin
from tests.e2e.test_kiosk_e2e import _enrol

pytestmark = pytest.mark.e2e

RECORD = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
window.__printed = 0; window.print = () => { window.__printed += 1; };
"""


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def test_pages_work_under_the_csp(live_server, page):
    from survey.receipts.tokens import mint

    settings = live_server.settings

    async def arrange(session):
        unit = await make_unit(session, "000.00.09.H01", "Sở Văn hóa")
        proc = await make_procedure(session)
        return (await make_receipt(session, unit, proc)).id

    receipt_id = run_db(settings.database_url, arrange)
    kid, keys = settings.signing_keys()
    token = mint("receipt", receipt_id, date.today() + timedelta(days=30), kid, keys)
    _add_admin(settings.database_url)
    page.add_init_script(RECORD)
    base = live_server.url
    seen: dict[str, list[str]] = {}

    def visit(name: str, url: str | None = None) -> None:
        if url:
            page.goto(url)
        page.wait_for_load_state("load")
        seen[name] = violations(page)

    visit("landing", f"{base}/")
    visit("consent", f"{base}/r/{token}")
    visit("survey form", f"{base}/r/{token}?start=1")
    # citizen.js runs: the comment gets its live character count
    page.fill("textarea", "Rất tốt")
    page.wait_for_selector(".count")
    visit("survey form after typing")
    visit("slip", f"{base}/slip/{token}")
    page.click("[data-print]")  # slip.js (no inline onclick any more) prints
    assert page.evaluate("window.__printed") == 1
    assert page.locator(".qr svg").count() == 1
    visit("sign-in", f"{base}/admin/login")
    page.fill("#username", "noivu")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin")
    visit("dashboard")
    visit("users", f"{base}/admin/users")
    visit("kiosk codes", f"{base}/admin/kiosk/codes")
    page.click("button:has-text('Đăng xuất')")
    page.wait_for_url(f"{base}/admin/login")
    visit("after sign-out")
    _enrol(page, live_server, idle_seconds=60)  # kiosk.js, the service worker and the manifest under the CSP
    visit("kiosk start screen")
    assert {k: v for k, v in seen.items() if v} == {}


def test_pages_cannot_be_framed(live_server, page):
    """An admin form inside another site's frame is refused by the browser (frame-ancestors 'none')."""
    page.set_content(f'<iframe id="f" src="{live_server.url}/admin/login"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    assert frame.locator("#username").count() == 0
