"""Throttling side effects (issue 13, fault 10): separate counters, X-Forwarded-For only from trusted proxies,
the viewer's dashboard, Secure on every cookie."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import httpx
import pytest

from survey.security.net import client_address, parse_trusted_proxies
from tests.conftest import make_unit
from tests.survey.test_admin_auth import HTML, PASSWORD, add_user, csrf_token, login

WRONG_CODE = {"code": "ZZZZ-ZZZZ"}


def peer_client(app, address: str) -> httpx.AsyncClient:
    """An HTTP client whose TCP peer address is ``address`` (as a reverse proxy or a client would be)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://testserver.local")


async def login_as(client, username: str, password: str, headers: dict[str, str]):
    client.cookies.clear()
    r = await client.get("/admin/login", headers={**HTML, **headers})
    token = r.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    return await client.post("/admin/login", data={"_csrf_token": token, "username": username, "password": password}, headers={**HTML, **headers}, follow_redirects=False)


async def test_wrong_kiosk_codes_do_not_lock_staff_out_of_sign_in(client, db, settings):
    await add_user(db, "noivu", "admin")
    for _ in range(settings.login_max_attempts):
        assert (await client.post("/kiosk/api/enrol", json=WRONG_CODE)).status_code in (400, 404, 422)
    assert (await client.post("/kiosk/api/enrol", json=WRONG_CODE)).status_code == 429  # the enrolment counter
    r = await login(client, "noivu", PASSWORD)
    assert r.status_code == 303, r.text  # ... is not the sign-in counter


async def test_failed_sign_ins_do_not_block_kiosk_enrolment(client, db, settings):
    from tests.kiosk.helpers import new_code

    unit = await make_unit(db)
    for i in range(settings.login_max_attempts):
        await login(client, f"nobody{i}", "wrong password")
    client.cookies.clear()
    assert (await login(client, "someone", "wrong password")).status_code == 429
    code = await new_code(db, settings, unit.id)
    assert (await client.post("/kiosk/api/enrol", json={"code": code})).status_code == 201


async def test_x_forwarded_for_is_ignored_without_trusted_proxies(settings):
    from survey.app import create_app

    app = create_app(settings)  # HAILONG_TRUSTED_PROXIES unset
    async with peer_client(app, "203.0.113.7") as c:
        for i in range(settings.login_max_attempts):
            r = await login_as(c, f"nobody{i}", "wrong password", {"x-forwarded-for": f"198.51.100.{i}"})
            assert r.status_code == 400
        # a new made-up address does not escape the limit of the real peer
        r = await login_as(c, "another", "wrong password", {"x-forwarded-for": "198.51.100.200"})
        assert r.status_code == 429


async def test_x_forwarded_for_from_a_trusted_proxy_separates_clients(settings, db):
    from survey.app import create_app

    await add_user(db, "noivu", "admin")
    app = create_app(replace(settings, trusted_proxies="10.0.0.0/8"))
    async with peer_client(app, "10.0.0.5") as proxy:
        attacker = {"x-forwarded-for": "198.51.100.9"}
        for i in range(settings.login_max_attempts):
            assert (await login_as(proxy, f"nobody{i}", "wrong password", attacker)).status_code == 400
        assert (await login_as(proxy, "another", "wrong password", attacker)).status_code == 429
        # a colleague behind the same proxy is another client; a spoofed left-most entry changes nothing
        colleague = {"x-forwarded-for": "198.51.100.9, 192.0.2.44"}
        assert (await login_as(proxy, "noivu", PASSWORD, colleague)).status_code == 303
    # a client that is not a trusted proxy cannot pose as the colleague
    async with peer_client(app, "203.0.113.7") as outsider:
        assert (await login_as(outsider, "x", "wrong password", {"x-forwarded-for": "192.0.2.44"})).status_code == 400


def conn(peer: str | None, xff: list[str] | None = None):
    headers = SimpleNamespace(getall=lambda name, default=None: list(xff or []))
    return SimpleNamespace(client=SimpleNamespace(host=peer) if peer else None, headers=headers)


def test_client_address_rules():
    assert client_address(conn("203.0.113.7", ["1.2.3.4"]), "") == "203.0.113.7"
    assert client_address(conn("10.0.0.5", ["1.2.3.4"]), "10.0.0.5") == "1.2.3.4"
    assert client_address(conn("10.0.0.5", ["1.2.3.4, 10.0.0.9"]), "10.0.0.0/8") == "1.2.3.4"  # two proxies
    assert client_address(conn("10.0.0.5", ["6.6.6.6, 1.2.3.4"]), "10.0.0.0/8") == "1.2.3.4"  # client-written entry ignored
    assert client_address(conn("10.0.0.5", []), "10.0.0.0/8") == "10.0.0.5"
    assert client_address(conn("10.0.0.5", ["not-an-ip"]), "10.0.0.0/8") == "10.0.0.5"
    assert client_address(conn("2001:db8::1", ["2001:db8:1::7"]), "2001:db8::/64") == "2001:db8:1::7"
    assert client_address(conn(None), "10.0.0.0/8") is None
    with pytest.raises(ValueError, match="HAILONG_TRUSTED_PROXIES.*'proxy.local'"):
        parse_trusted_proxies("10.0.0.1, proxy.local")


def test_a_bad_proxy_list_stops_the_app_at_start(settings):
    from survey.app import create_app

    with pytest.raises(ValueError, match="HAILONG_TRUSTED_PROXIES"):
        create_app(replace(settings, trusted_proxies="10.0.0.300"))


# --------------------------------------------------------------------------- the viewer's dashboard


async def test_a_viewer_dashboard_shows_no_audit_entries(client, db):
    await add_user(db, "noivu", "admin")
    await add_user(db, "xem", "viewer")
    await login(client, "noivu", PASSWORD)  # writes a "login" audit entry by noivu
    page = (await client.get("/admin", headers=HTML)).text
    assert "Hoạt động gần đây" in page and "<code>login</code>" in page
    client.cookies.clear()
    await login(client, "xem", PASSWORD)
    assert (await client.get("/admin/audit", headers=HTML, follow_redirects=False)).status_code == 403
    page = (await client.get("/admin", headers=HTML)).text
    assert "Hoạt động gần đây" not in page and "<code>login</code>" not in page and "noivu" not in page


# --------------------------------------------------------------------------- Secure cookies


async def test_every_cookie_is_secure_when_configured(settings, db):
    from litestar.testing import AsyncTestClient

    from survey.app import create_app

    await add_user(db, "noivu", "admin")
    app = create_app(replace(settings, secure_cookies=True))
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as c:
        r = await c.get("/?lang=en", headers=HTML)
        cookies = r.headers.get_list("set-cookie")
        names = {h.split("=", 1)[0] for h in cookies}
        assert {"lang", "hl_csrf"} <= names
        token = await csrf_token(c)
        r = await c.post("/admin/login", data={"_csrf_token": token, "username": "noivu", "password": PASSWORD}, headers=HTML, follow_redirects=False)
        cookies += r.headers.get_list("set-cookie")
        assert any(h.startswith("hl_session=") for h in cookies)
        for header in cookies:
            attrs = {a.strip().split("=")[0].lower() for a in header.split(";")[1:]}
            assert {"secure", "httponly", "samesite"} <= attrs, header
        assert r.headers["strict-transport-security"].startswith("max-age=")
