"""Security headers and cookies on every route (issue 13, fault 6), generated from the app's route table.

Every GET route is fetched anonymously and as an admin (path parameters filled as in the access matrix).
Every response carries the security headers; every HTML page also passes a markup check: each inline
``<script>``/``<style>`` carries this response's CSP nonce, no inline event handlers, no ``style=``
attributes, nothing loaded from another origin; every cookie is HttpOnly and SameSite.
"""

from __future__ import annotations

import re

from survey.security import sessions
from tests.survey.test_access_matrix import METHODS, World, app_handlers, sample_path, world  # noqa: F401

NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")
TAG = re.compile(r"<(script|style)\b([^>]*)>", re.I)
EVENT_ATTR = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[^>]+\sstyle\s*=", re.I)
EXTERNAL = re.compile(r"""<(?:script|img|link|iframe|source|video|audio|embed|object)\b[^>]*\s(?:src|href|data)\s*=\s*["']?(?:https?:)?//""", re.I)
TOKEN_PAGES = ("/r/", "/c/", "/e/", "/qr/", "/slip/")


def check_headers(path: str, r) -> list[str]:
    problems = []
    h = r.headers
    csp = h.get("content-security-policy", "")
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'"):
        if directive not in csp:
            problems.append(f"CSP lacks {directive}")
    if "unsafe-inline" in csp or "unsafe-eval" in csp or "*" in csp:
        problems.append(f"CSP too wide: {csp}")
    if not NONCE.search(csp):
        problems.append("CSP has no nonce")
    if h.get("x-frame-options") != "DENY":
        problems.append("X-Frame-Options not DENY")
    if h.get("x-content-type-options") != "nosniff":
        problems.append("no nosniff")
    want = "no-referrer" if path.lower().startswith(TOKEN_PAGES) else None
    got = h.get("referrer-policy")
    if not got or (want and got != want):
        problems.append(f"Referrer-Policy {got!r}")
    if not h.get("x-request-id"):
        problems.append("no X-Request-ID")
    for cookie in h.get_list("set-cookie"):
        attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        if not {"httponly", "samesite"} <= attrs:
            problems.append(f"cookie without HttpOnly/SameSite: {cookie}")
    return problems


def check_markup(html: str, nonce: str) -> list[str]:
    problems = []
    for m in TAG.finditer(html):
        attrs = m.group(2)
        if m.group(1).lower() == "script" and re.search(r"\ssrc\s*=", attrs):
            continue
        if f'nonce="{nonce}"' not in attrs:
            problems.append(f"inline <{m.group(1)}> without this response's nonce: {m.group(0)[:80]}")
    if EVENT_ATTR.search(html):
        problems.append(f"inline event handler: {EVENT_ATTR.search(html).group(0)[:80]}")
    if STYLE_ATTR.search(html):
        problems.append(f"style= attribute: {STYLE_ATTR.search(html).group(0)[:80]}")
    if EXTERNAL.search(html):
        problems.append(f"loads from another origin: {EXTERNAL.search(html).group(0)[:80]}")
    if "javascript:" in html.lower():
        problems.append("javascript: URL")
    return problems


async def test_every_get_route_has_security_headers_and_clean_pages(app, client, db, settings, world):  # noqa: F811
    from tests.survey.test_admin_auth import add_user

    admin = await add_user(db, "matrix-headers", "admin")
    admin_cookie = await sessions.start(db, settings, admin.id)
    openapi_path = app.openapi_config.path
    problems: list[str] = []
    html_pages: set[str] = set()
    nonces: set[str] = set()
    for route, handler in app_handlers(app):
        if "GET" not in handler.http_methods:
            continue
        url, _real = sample_path(route.path, world)
        for who, headers in (("anonymous", {}), ("admin", {"cookie": f"{sessions.COOKIE}={admin_cookie}"})):
            client.cookies.clear()
            r = await client.get(url, headers={**headers, "accept": "text/html"}, follow_redirects=False)
            where = f"GET {route.path} as {who} ({r.status_code})"
            problems += [f"{where}: {p}" for p in check_headers(url, r)]
            if r.headers.get("content-type", "").startswith("text/html"):
                html_pages.add(route.path)
                nonce = NONCE.search(r.headers.get("content-security-policy", ""))
                if nonce:
                    nonces.add(nonce.group(1))
                    # Litestar's stock OpenAPI viewer pages are replaced by the offline viewer (engineer ux)
                    if not route.path.startswith(openapi_path):
                        problems += [f"{where}: {p}" for p in check_markup(r.text, nonce.group(1))]
    # the route table was really walked: the known pages are among the HTML routes
    for page in ("/", "/admin", "/admin/login", "/admin/users", "/r/{token:str}", "/slip/{token:str}", "/kiosk/enrol", "/kiosk"):
        assert page in html_pages, f"{page} not checked; HTML routes: {sorted(html_pages)}"
    assert len(nonces) > len(html_pages)  # a new nonce for every response
    assert not problems, "\n".join(problems)


async def test_the_slip_style_carries_the_nonce_and_print_is_a_script_file(client, world):  # noqa: F811
    r = await client.get(f"/slip/{world.receipt_token}", headers={"accept": "text/html"})
    nonce = NONCE.search(r.headers["content-security-policy"]).group(1)
    assert f'<style nonce="{nonce}">' in r.text and "onclick" not in r.text
    assert '<script src="/static/slip.js" defer></script>' in r.text and "data-print" in r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    js = await client.get("/static/slip.js")
    assert js.status_code == 200 and "window.print" in js.text and js.headers["x-content-type-options"] == "nosniff"


async def test_unknown_paths_errors_and_api_answers_carry_the_headers(client):
    for path, accept in (("/no-such-page", "text/html"), ("/api/v1/receipts", "application/json"), ("/api/v1/responses", "application/json")):
        r = await client.get(path, headers={"accept": accept})
        assert r.status_code in (401, 404, 405)
        assert check_headers(path, r) == [], path
    r = await client.post("/api/v1/responses", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400 and check_headers("/api/v1/responses", r) == []


async def test_the_kiosk_may_use_the_camera_and_nothing_else_may(client):
    assert "camera=(self)" in (await client.get("/kiosk/", headers={"accept": "text/html"})).headers["permissions-policy"]
    assert "camera=()" in (await client.get("/admin/login", headers={"accept": "text/html"})).headers["permissions-policy"]


async def test_the_before_send_hook_sets_what_security_headers_says():
    """The hook (headers encoded once per kind of path) gives exactly what setting :func:`security_headers` and
    the request id one by one on the message's headers gives: replaced, appended, a page's stricter Referrer-Policy kept."""
    from litestar.datastructures import MutableScopeHeaders

    from survey.security.headers import csp_nonce, make_before_send, security_headers

    async def reference(message, scope, https):
        headers = MutableScopeHeaders.from_message(message)
        for name, value in security_headers(scope.get("path", "/"), https=https, nonce=csp_nonce(scope)).items():
            if name == "referrer-policy" and value != "no-referrer" and headers.get(name):
                continue
            headers[name] = value
        headers["x-request-id"] = scope["hl_request_id"]

    sent = [
        [],
        [(b"content-type", b"text/html"), (b"referrer-policy", b"no-referrer"), (b"X-Frame-Options", b"SAMEORIGIN")],
        [(b"referrer-policy", b""), (b"x-request-id", b"theirs"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")],
        [(b"Referrer-Policy", b"strict-origin"), (b"referrer-policy", b"no-referrer"), (b"strict-transport-security", b"max-age=1")],
    ]
    for https in (False, True):
        hook = make_before_send(https=https)
        for path in ("/", "/admin/users", "/r/ABC", "/R/ABC/cam-on", "/kiosk", "/kiosk/", "/qr/X.svg", "/api/v1/responses"):
            for headers in sent:
                scope = {"path": path, "hl_request_id": "rid-1", "hl_csp_nonce": "n0nce"}
                ours = {"type": "http.response.start", "status": 200, "headers": list(headers)}
                theirs = {"type": "http.response.start", "status": 200, "headers": list(headers)}
                await hook(ours, scope)
                await reference(theirs, scope, https)
                assert [tuple(h) for h in ours["headers"]] == [tuple(h) for h in theirs["headers"]], (https, path, headers)
        body = {"type": "http.response.body", "body": b""}
        await hook(body, {"path": "/"})
        assert body == {"type": "http.response.body", "body": b""}
