"""Every page of the demo in real Chromium, at a phone (390 × 844) and a desktop (1366 × 900) size, in both
languages: no horizontal overflow, no English on a Vietnamese page, no Vietnamese on an English page.

The list of pages comes from the demo itself (``survey.demo.demo_urls``: citizen links, the kiosk, the admin
pages as each role), so a new page is checked as soon as the demo links to it.  The language check reads
the whole visible text of the page (and the attributes people read), not a list of strings: Vietnamese
letters on an English page, or words of the catalogue's English on a Vietnamese page, fail it — except
text marked with another ``lang`` (names of units and procedures are Vietnamese data: ``lang="vi"``).
Set ``HAILONG_SCREENSHOTS=/some/dir`` to keep a screenshot of every page.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from survey.demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_STATISTICIAN, DEMO_VIEWER
from survey.settings import Settings
from tests.e2e.demo_site import (
    OVERFLOW_JS,
    TEXT_JS,
    english_words,
    language_problems,
    sign_in,
    start_demo_site,
)

pytestmark = pytest.mark.e2e

SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
ACCOUNTS = {"admin": DEMO_ADMIN, "statistician": DEMO_STATISTICIAN, "viewer": DEMO_VIEWER}
SHOTS = os.environ.get("HAILONG_SCREENSHOTS")


@pytest.fixture(scope="module")
def demo_site(_migrated_template, tmp_path_factory):
    def make_settings(url: str, public: str) -> Settings:
        return replace(Settings(), database_url=url, secret_key=os.environ["HAILONG_SECRET_KEY"], public_url=public)

    site = start_demo_site(make_settings, tmp_path_factory.mktemp("demo"), _migrated_template)
    yield site
    site.server.stop()


def _with_lang(url: str, lang: str) -> str:
    return url + ("&" if "?" in url else "?") + f"lang={lang}"


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / (re.sub(r"[^\w.-]+", "_", name)[:120] + ".png")), full_page=True)


def _enrol_kiosk(browser, base: str, size) -> object:
    """A tablet context enrolled through the real pages: an admin makes a code, the tablet types it."""
    admin = browser.new_context(locale="vi-VN")
    sign_in(admin, base, DEMO_ADMIN, DEMO_PASSWORD)
    p = admin.new_page()
    p.goto(base + "/admin/kiosk/codes")
    p.fill("#name", "Máy tính bảng kiểm tra")
    p.fill("#counter", "Quầy 3")
    p.fill("#exit_pin", "2468")
    p.click("form[action='/admin/kiosk/codes'] button[type=submit]")
    code = p.locator("#new-code").inner_text()
    admin.close()
    tablet = browser.new_context(locale="vi-VN", viewport={"width": size[0], "height": size[1]})
    t = tablet.new_page()
    t.goto(base + "/kiosk/enrol")
    t.fill("#code", code)
    t.click("#enrol-form button[type=submit]")
    t.wait_for_url(base + "/kiosk/")
    t.close()
    return tablet


def _check(page, name: str, lang: str, vocabulary: set[str], problems: list[str]) -> None:
    assert page.evaluate("document.documentElement.lang") == lang, f"{name}: <html lang> is not {lang}"
    box = page.evaluate(OVERFLOW_JS)
    if box["scroll"] > box["width"] + 1:
        problems.append(f"{name}: {box['scroll']} px wide in a {box['width']} px window ({box['wide']})")
    for p in language_problems(page.evaluate(TEXT_JS), lang, vocabulary):
        problems.append(f"{name}: {p}")
    _shot(page, name)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_demo_page_fits_and_speaks_one_language(demo_site, browser, size):
    base = demo_site.server.url
    width, height = SIZES[size]
    vocabulary = english_words()
    assert {"found", "password", "the"} <= vocabulary and "kiosk" not in vocabulary
    urls = demo_site.urls
    whos = {u["who"] for u in urls}
    assert {"public", "citizen", "kiosk", "admin", "statistician", "viewer"} <= whos, whos
    assert len(urls) >= 35 and any(u['url'].startswith('/c/') for u in urls)
    problems: list[str] = []
    contexts = {}
    checked = 0
    try:
        for who in whos - {"kiosk"}:
            ctx = browser.new_context(locale="vi-VN", viewport={"width": width, "height": height})
            if who in ACCOUNTS:
                sign_in(ctx, base, ACCOUNTS[who], DEMO_PASSWORD)
            contexts[who] = ctx
        for u in urls:
            if u["who"] == "kiosk":
                continue
            page = contexts[u["who"]].new_page()
            for lang in ("vi", "en"):
                page.goto(base + _with_lang(u["url"], lang))
                # a printed slip is always in its unit's language (u["lang"]), whatever was asked
                _check(page, f"{size}-{u['who']}-{u['url']}-{lang}", u.get("lang") or lang, vocabulary, problems)
                checked += 1
            # and without ?lang=: a citizen's page opens in Vietnamese after English elsewhere (item 10)
            if u["who"] == "citizen":
                page.goto(base + "/?lang=en")
                page.goto(base + u["url"])
                assert page.evaluate("document.documentElement.lang") == "vi", u["url"]
            page.close()
        tablet = _enrol_kiosk(browser, base, (width, height))
        contexts["kiosk"] = tablet
        page = tablet.new_page()
        page.goto(base + "/kiosk/")
        page.wait_for_function("document.getElementById('unit-name').textContent.length > 0")
        _check(page, f"{size}-kiosk-start-vi", "vi", vocabulary, problems)
        page.click("#lang")
        page.wait_for_function("document.documentElement.lang === 'en'")
        _check(page, f"{size}-kiosk-start-en", "en", vocabulary, problems)
        page.click(".face.f4")
        page.wait_for_selector("#screen-followup.active")
        _check(page, f"{size}-kiosk-followup-en", "en", vocabulary, problems)
        checked += 3
    finally:
        for ctx in contexts.values():
            ctx.close()
    print(f"checked {checked} page views at {width}x{height}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
