"""Small helpers every HTML controller uses: language choice and page rendering with the shared context.

Language rules (one place for every page):

- staff and information pages: ``?lang=`` wins, then the ``lang`` cookie (set by an explicit ``?lang=``), else
  Vietnamese;
- a citizen's survey link (``/r/…``, ``/c/…``, ``/e/…``), a printed slip's error page and the kiosk: only the
  ``?lang=`` chosen on that page counts (its forms and redirects carry it), never a cookie left by another page;
- printed slips: the language of the unit that issued the receipt (``page(..., lang=...)``).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template
from markupsafe import Markup, escape

from survey import i18n, labels
from survey.security.headers import csp_nonce

LANG_COOKIE = "lang"
#: pages where only the link's own ``?lang=`` counts: citizen survey links, slips, the kiosk (its screens reset
#: to Vietnamese for every citizen)
LINK_LANGUAGE_PREFIXES = ("/r/", "/R/", "/c/", "/C/", "/e/", "/E/", "/slip/", "/kiosk/")


def _language_source(request: Request) -> str:
    return "link" if request.url.path.startswith(LINK_LANGUAGE_PREFIXES) else "cookie"


def current_language(request: Request) -> str:
    """``?lang=`` wins, then (except on citizen survey links) the ``lang`` cookie, else Vietnamese."""
    chosen = request.query_params.get("lang")
    if chosen or _language_source(request) == "link":
        return i18n.normalise_language(chosen)
    return i18n.normalise_language(request.cookies.get(LANG_COOKIE))


def context_for(lang: str, timezone: str) -> dict[str, Any]:
    """The language-bound helpers every template gets: ``_``, the formatters and ``label``."""
    return {
        "lang": lang,
        "_": i18n.translator(lang),
        "fmt_number": lambda v, digits=2: i18n.fmt_number(v, lang, digits),
        "fmt_int": lambda v: i18n.fmt_number(v, lang, 0),
        "fmt_percent": lambda v, digits=1: i18n.fmt_percent(v, lang, digits),
        "fmt_date": lambda v: i18n.fmt_date(v, lang, timezone),
        "fmt_datetime": lambda v: i18n.fmt_datetime(v, lang, timezone),
        "label": lambda kind, code: labels.label(kind, code, lang),
        "msg": lambda e: _message(e, lang),
        "inline_css": inline_css,
        "legal_refs": legal_refs,
    }


#: the number of a Vietnamese legal document (766/QĐ-TTg, 61/2018/NĐ-CP): it stays Vietnamese in English text
LEGAL_REF = re.compile(r"\b\d+(?:/\d{4})?/[A-ZĐ]+-[A-Za-zĐ]+")


def legal_refs(text: str) -> Markup:
    """``text`` escaped, with the legal documents it cites marked ``lang="vi"`` (an English label of a
    methodology may cite "Decision 766/QĐ-TTg")."""
    return Markup(LEGAL_REF.sub(lambda m: f'<span lang="vi">{m.group(0)}</span>', str(escape(text))))


@cache
def _inline_css(names: tuple[str, ...]) -> Markup:
    from survey.app import STATIC_DIR

    return Markup("\n".join((STATIC_DIR / name).read_text(encoding="utf-8").strip() for name in names))


def inline_css(*names: str) -> Markup:
    """The text of stylesheets from survey/static, for an inline ``<style>`` (pages that must paint at once)."""
    return _inline_css(tuple(names))


def _message(error: Any, lang: str) -> str:
    """An error's text in ``lang``: a dict/FieldError with ``message_en``/``message_vi``, or a Vietnamese msgid."""
    get = error.get if isinstance(error, dict) else lambda k, d=None: getattr(error, k, d)
    if lang == "en" and get("message_en"):
        return str(get("message_en"))
    text = get("message_vi") or get("message") or ""
    return i18n.translator(lang)(str(text))


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200, *, lang: str | None = None
) -> Template:
    """Render ``template`` with the language, ``_`` and the formatters; remembers an explicit ``?lang=``."""
    explicit = lang is not None
    lang = i18n.normalise_language(lang) if explicit else current_language(request)
    settings = request.app.state.settings
    ctx: dict[str, Any] = {
        **context_for(lang, settings.timezone),
        "path": request.url.path,
        "csp_nonce": csp_nonce(request.scope),  # for inline <script>/<style> (CONTRACT.md section 4)
    }
    ctx.update(context or {})
    cookies = []
    if "lang" in request.query_params and not explicit and _language_source(request) != "link":
        cookies.append(Cookie(key=LANG_COOKIE, value=lang, max_age=365 * 86400, httponly=True, samesite="lax", secure=settings.secure_cookies))
    return Template(template_name=template, context=ctx, status_code=status_code, cookies=cookies)
