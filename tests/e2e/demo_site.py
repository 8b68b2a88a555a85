"""A seeded demo site for the browser page checks: ``hailong demo`` into its own database, a live server,
and signed-in browser contexts per staff role.  Module-scoped: seeding takes a few seconds."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.conftest import REPO_ROOT, LiveServer, _truncate_all, free_port, is_postgres, run_db

PO = REPO_ROOT / "survey" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
#: letters only Vietnamese uses (and the accented vowels)
VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáãèéìíòóõùúýÀÁÃÈÉÌÍÒÓÕÙÚÝ\u1ea0-\u1ef9]")
#: proper names and legal references that stay as they are in English text
NAMES = ("Hài Lòng", "NĐ-CP", "Tiếng Việt")
#: common English words that are never Vietnamese (the catalogue's own English adds the rest)
ENGLISH_CORE = {
    "the", "and", "not", "found", "must", "with", "for", "this", "that", "page", "size", "error", "from", "your",
    "password", "characters", "least", "have", "has", "are", "was", "were", "will", "please", "sign", "counter",
    "sample", "frame", "vs", "direct", "online", "postal", "pending", "accepted", "rejected", "unit", "field",
    "none", "proportional", "neyman", "equal", "fixed", "slovin", "cochran", "statistician", "viewer", "create",
    "revoke", "screen", "review", "login", "logout", "name", "role", "stratum", "strata", "yes", "no", "of",
}
#: codes and technical words used as they are in Vietnamese text
TECHNICAL = {"api", "kiosk", "demo", "qr", "csv", "xlsx", "pdf", "url", "id", "pin", "sipas", "openapi", "aapor",
             "smd", "rr", "coop", "ref", "con", "admin", "bearer", "authorization", "http", "https", "json", "tthc", "ok"}


def english_words() -> set[str]:
    """Words of the catalogue's English that never occur in its Vietnamese (plus a few core English words)."""
    with PO.open("rb") as fh:
        cat = read_po(fh, locale="en")
    english, vietnamese = set(), set()
    for m in cat:
        if not m.id or not isinstance(m.id, str):
            continue
        vietnamese |= {w.lower() for w in re.findall(r"[A-Za-z]+", m.id)}
        english |= {w.lower() for w in re.findall(r"[A-Za-z]+", str(m.string or ""))}
    return {w for w in (english | ENGLISH_CORE) - vietnamese - TECHNICAL if len(w) >= 3 or w in ("vs", "of", "no")}


#: visible text of the page as (its language, text) pairs: each text node with the language of its nearest
#: ``lang`` ancestor; codes (<code>, <kbd>, <pre>) are left out; attributes people read are included
TEXT_JS = """() => {
  const out = [];
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "CODE", "KBD", "SAMP", "PRE", "TEMPLATE"]);
  const langOf = (el) => { const x = el.closest("[lang]"); return x ? x.getAttribute("lang") : ""; };
  const shown = (el) => { for (let e = el; e; e = e.parentElement) { if (skip.has(e.tagName)) return false; }
    return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden"; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement, t = n.textContent.trim();
    if (!t || !el) continue;
    if (el.tagName === "OPTION" || el.tagName === "OPTGROUP") { if (!skip.has(el.tagName)) out.push([langOf(el), t]); continue; }
    if (shown(el)) out.push([langOf(el), t]);
  }
  for (const el of document.querySelectorAll("[aria-label],[title],[placeholder],[alt]")) {
    if (!shown(el)) continue;
    for (const a of ["aria-label", "title", "placeholder", "alt"]) { const v = el.getAttribute(a); if (v) out.push([langOf(el), v]); }
  }
  out.push([document.documentElement.lang, document.title]);
  return out;
}"""

OVERFLOW_JS = """() => ({scroll: document.documentElement.scrollWidth, width: window.innerWidth,
  wide: Array.from(document.querySelectorAll("body *")).filter(e => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > window.innerWidth + 1 && !e.closest(".table"); }).slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : ""))})"""


def language_problems(pairs: list[list[str]], page_lang: str, vocabulary: set[str]) -> list[str]:
    """Text in the page's language that is in the other language: Vietnamese letters on an English page,
    English words (from the catalogue) on a Vietnamese page."""
    problems = []
    for lang, text in pairs:
        if (lang or page_lang) != page_lang:
            continue  # marked as another language (lang="vi" on a unit name, lang="en" on "English")
        if page_lang == "en":
            bare = text
            for name in NAMES:
                bare = bare.replace(name, "")
            if VIETNAMESE.search(bare):
                problems.append(f"Vietnamese on an English page: {text[:120]!r}")
        else:
            words = {w.lower() for w in re.findall(r"(?<![\w.@/-])[A-Za-z]+(?![\w@/-])", text)}
            found = sorted(w for w in words if w in vocabulary)
            if found:
                problems.append(f"English on a Vietnamese page: {found} in {text[:120]!r}")
    return problems


class DemoSite:
    def __init__(self, server: LiveServer, urls: list[dict[str, str]]):
        self.server = server
        self.urls = urls


def start_demo_site(settings_factory, tmp_dir: Path, template: str) -> DemoSite:
    """Seed the demo with the real command into a fresh database and start a live server on it."""
    from survey.demo import demo_urls

    if is_postgres():
        _truncate_all(template)
        url = template
    else:
        path = tmp_dir / "demo.sqlite3"
        shutil.copy(template, path)
        url = f"sqlite+aiosqlite:///{path}"
    port = free_port()
    settings = settings_factory(url, f"http://127.0.0.1:{port}")
    env = {**os.environ, "HAILONG_DATABASE_URL": url, "HAILONG_PUBLIC_URL": settings.public_url}
    cli = [sys.executable, "-c", "import sys; from survey.cli import main; sys.exit(main())"]
    done = subprocess.run([*cli, "demo"], env=env, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    # a drawn sample too (the campaign page, its representativeness tables, an invitation link)
    done = subprocess.run([*cli, "sample", "--name", "Khảo sát quý IV", "--n", "300", "--seed", "7", "--minimum", "2"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    server = LiveServer(settings, port)
    server.start()
    urls = run_db(url, lambda session: demo_urls(session, settings))
    return DemoSite(server, urls)


def sign_in(context, base_url: str, username: str, password: str) -> None:
    page = context.new_page()
    page.goto(base_url + "/admin/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/admin")
    page.close()
