"""Small helpers every HTML controller uses: language choice and page rendering with the shared context."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Template

from survey import i18n
from survey.security.headers import csp_nonce

LANG_COOKIE = "lang"


def current_language(request: Request) -> str:
    """``?lang=`` wins, then the ``lang`` cookie, else Vietnamese."""
    return i18n.normalise_language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def page(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Template:
    """Render ``template`` with the language, ``_`` and the formatters; remembers an explicit ``?lang=``."""
    lang = current_language(request)
    settings = request.app.state.settings
    ctx: dict[str, Any] = {
        "lang": lang,
        "_": i18n.translator(lang),
        "fmt_number": lambda v, digits=2: i18n.fmt_number(v, lang, digits),
        "fmt_percent": lambda v, digits=1: i18n.fmt_percent(v, lang, digits),
        "fmt_date": lambda v: i18n.fmt_date(v, lang, settings.timezone),
        "fmt_datetime": lambda v: i18n.fmt_datetime(v, lang, settings.timezone),
        "path": request.url.path,
        "csp_nonce": csp_nonce(request.scope),  # for inline <script>/<style> (CONTRACT.md section 4)
    }
    ctx.update(context or {})
    cookies = []
    if "lang" in request.query_params:
        cookies.append(Cookie(key=LANG_COOKIE, value=lang, max_age=365 * 86400, httponly=True, samesite="lax", secure=settings.secure_cookies))
    return Template(template_name=template, context=ctx, status_code=status_code, cookies=cookies)
