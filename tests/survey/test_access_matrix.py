"""The authorisation matrix, generated from the app's route table (CONTRACT.md section 5).

Every (path, method) of ``app.routes`` is called as each principal: anonymous, API client, another
unit's API client, kiosk device, viewer, statistician, unit manager (once the role exists) and admin.
The route's declared ``opt["access"]`` says who is let in; the table ``ADMITS`` below (written out by
hand, not read from the app) says which access levels admit which principal.  Expected:

- admitted: no 401/403, no redirect to the sign-in page, no 5xx; a GET whose path parameters are real
  objects (a receipt token, its dossier code, a static file) answers 200 or redirects elsewhere than sign-in;
- not signed in (anonymous, API clients, kiosk devices on staff routes): 401 or 303 to /admin/login?next=...;
- signed in without the role: 403;
- API-key and kiosk-device routes without that credential: 401;
- another unit's API client reading a receipt registered by the first client: 404.

A route without an ``access`` declaration, or with an unknown value, fails the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from survey.db.models import User
from survey.db.models.accounts import ROLES
from survey.security import sessions
from tests.conftest import make_procedure, make_unit
from tests.kiosk.helpers import new_code

#: which access levels admit which principal (the policy, written out independently of the app)
ADMITS: dict[str, set[str]] = {
    "anonymous": {"public"},
    "api_client": {"public", "api_client"},
    "other_api_client": {"public", "api_client"},
    "kiosk_device": {"public", "kiosk_device"},
    "viewer": {"public", "viewer"},
    "statistician": {"public", "viewer", "statistician"},
    "unit_manager": {"public", "unit_manager"},
    "admin": {"public", "viewer", "statistician", "admin", "unit_manager"},
}
LEVELS = {"public", "api_client", "kiosk_device", "viewer", "statistician", "admin", "unit_manager"}
STAFF_LEVELS = {"viewer", "statistician", "admin", "unit_manager"}
STAFF = ("viewer", "statistician", "unit_manager", "admin")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
#: generic value for a path parameter nobody registered: a guard answers before the object is looked up
GENERIC = "99999"


def principals() -> list[str]:
    names = ["anonymous", "api_client", "other_api_client", "kiosk_device", "viewer", "statistician", "admin"]
    if "unit_manager" in ROLES:
        names.insert(-1, "unit_manager")
    return names


def app_handlers(app):
    """(route, handler) of every handler in the route table, less Litestar's automatic OPTIONS answers."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if set(handler.http_methods) <= {"OPTIONS", "HEAD"}:
                continue
            yield route, handler


def declared_levels(handler, openapi_path: str, path: str) -> set[str]:
    access = handler.opt.get("access")
    if access is None and path.startswith(openapi_path):
        access = "public"  # Litestar's own OpenAPI routes (/schema): documentation for everyone
    assert access is not None, (
        f"{sorted(handler.http_methods)} {path} ({handler.handler_name}) declares no access: add "
        'opt={"access": ...} (CONTRACT.md section 5)'
    )
    levels = {access} if isinstance(access, str) else set(access)
    assert levels and levels <= LEVELS, f"{path}: unknown access {access!r}; one of {sorted(LEVELS)} or a tuple of them"
    return levels


@dataclass
class World:
    unit_code: str
    receipt_token: str
    dossier_code: str
    api_keys: dict[str, str]
    device_credential: str
    staff_ids: dict[str, int] = field(default_factory=dict)


@pytest.fixture
async def world(client, db, settings) -> World:
    from survey.receipts.clients import create_api_client

    unit = await make_unit(db, "000.00.01.H01", "Sở Tư pháp", "department")
    other = await make_unit(db, "000.00.02.H01", "Sở Xây dựng", "department")
    await make_procedure(db)
    _a, key_a = await create_api_client(db, "Một cửa Sở Tư pháp", unit_id=unit.id)
    _b, key_b = await create_api_client(db, "Một cửa Sở Xây dựng", unit_id=other.id)
    dossier = "000.00.01.H01-261122-0001"
    r = await client.post(
        "/api/v1/receipts",
        json={"dossier_code": dossier, "unit_code": unit.code, "procedure_code": "1.001234", "received_at": "2026-11-22T08:30:00+07:00", "channel": "direct"},
        headers={"Authorization": f"Bearer {key_a}"},
    )
    assert r.status_code == 201, r.text
    code = await new_code(db, settings, unit.id)
    enrolled = await client.post("/kiosk/api/enrol", json={"code": code})
    assert enrolled.status_code == 201, enrolled.text
    w = World(unit.code, r.json()["token"], dossier, {"api_client": key_a, "other_api_client": key_b}, enrolled.json()["credential"])
    for role in STAFF:
        if role not in ROLES:
            continue
        user = User(username=f"matrix-{role.replace('_', '-')}", full_name=role, password_hash="-", role=role, active=True)
        if hasattr(User, "unit_id"):
            user.unit_id = unit.id
        db.add(user)
        await db.commit()
        w.staff_ids[role] = user.id
    return w


def sample_path(path: str, world: World) -> tuple[str, bool]:
    """The path with its parameters filled; True when it has parameters and each is a real object (a GET must then be 200)."""
    real = True
    samples = {
        "token": world.receipt_token,
        "dossier_code": world.dossier_code,
        "file_path": "site.css",
    }
    #: in scope for the unit manager (their own unit), but not an object every such route can show
    scoping = {"code": world.unit_code, "unit_code": world.unit_code}
    if path.startswith("/qr/"):
        samples["name"] = f"{world.receipt_token}.svg"
    elif path.startswith("/kiosk/static/"):
        samples["name"] = "kiosk.js"
    elif path.startswith("/static/api-docs/"):
        samples["file_path"] = "swagger-ui.css"
    if path.startswith(("/c/", "/C/", "/e/", "/E/")):
        samples.pop("token")  # not a receipt token: the generic value gets the page's "link not valid" answer

    def fill(m: re.Match) -> str:
        nonlocal real
        if m.group(1) in samples:
            return samples[m.group(1)]
        real = False
        return scoping.get(m.group(1), GENERIC)

    filled = PARAM.sub(fill, path)
    # a route without parameters may have nothing to show yet (404 before any published run): not counted as real
    return filled, real and filled != path


async def headers_for(principal: str, world: World, db, settings) -> dict[str, str]:
    if principal in ("api_client", "other_api_client"):
        return {"authorization": f"Bearer {world.api_keys[principal]}"}
    if principal == "kiosk_device":
        return {"authorization": f"Bearer {world.device_credential}"}
    if principal in world.staff_ids:
        token = await sessions.start(db, settings, world.staff_ids[principal])  # a fresh session per call
        return {"cookie": f"{sessions.COOKIE}={token}"}
    return {}


async def with_csrf(client, base: dict[str, str]) -> dict[str, str]:
    """Add a CSRF cookie and header valid for this principal's session (so CSRF never masks the guard)."""
    client.cookies.clear()
    r = await client.get("/admin/login", headers={**base, "accept": "text/html"}, follow_redirects=False)
    token = r.cookies.get("hl_csrf")
    if token is None:  # already valid for this session: the page only shows it in the form
        m = re.search(r'name="_csrf_token" value="([^"]+)"', r.text)
        assert m, "no CSRF token for this principal"
        token = m.group(1)
    client.cookies.clear()
    cookie = "; ".join(filter(None, [base.get("cookie"), f"hl_csrf={token}"]))
    return {**base, "cookie": cookie, "x-csrftoken": token}


def refusal(status: int, location: str) -> str | None:
    # a guard's refusal redirects to sign-in with ?next= (logout's own redirect to the sign-in page is its answer)
    if status == 401 or (status in (302, 303) and location.startswith("/admin/login?next=")):
        return "unauthenticated"
    if status == 403:
        return "forbidden"
    return None


def expected(levels: set[str], principal: str) -> str:
    if levels & ADMITS[principal]:
        return "allowed"
    if principal in STAFF and levels & STAFF_LEVELS:
        return "forbidden"
    return "unauthenticated"


async def test_every_route_declares_access(app):
    missing = []
    for route, handler in app_handlers(app):
        try:
            declared_levels(handler, app.openapi_config.path, route.path)
        except AssertionError as exc:
            missing.append(str(exc).splitlines()[0])
    assert not missing, "\n".join(missing)


async def test_authorisation_matrix(app, client, db, settings, world):
    openapi_path = app.openapi_config.path
    failures: list[str] = []
    checked = 0
    for route, handler in app_handlers(app):
            levels = declared_levels(handler, openapi_path, route.path)
            url, real = sample_path(route.path, world)
            for method in sorted(set(handler.http_methods) & set(METHODS)):
                for principal in principals():
                    base = await headers_for(principal, world, db, settings)
                    headers = {**base, "accept": "text/html" if not url.startswith(("/api/", "/kiosk/api/")) else "application/json"}
                    client.cookies.clear()
                    if method == "GET":
                        r = await client.request(method, url, headers=headers, follow_redirects=False)
                    else:
                        headers = {**(await with_csrf(client, base)), "accept": headers["accept"]}
                        if url.startswith(("/api/", "/kiosk/api/")):
                            r = await client.request(method, url, headers=headers, json={}, follow_redirects=False)
                        else:
                            r = await client.request(method, url, headers=headers, data={}, follow_redirects=False)
                    checked += 1
                    got = refusal(r.status_code, r.headers.get("location", ""))
                    want = expected(levels, principal)
                    where = f"{method} {route.path} as {principal} (access {sorted(levels)}): {r.status_code}"
                    if r.status_code >= 500:
                        failures.append(f"{where}: server error")
                    elif want == "allowed":
                        if got is not None:
                            failures.append(f"{where}: refused, expected allowed")
                        elif principal == "other_api_client" and route.path.startswith("/api/v1/receipts/{") and method == "GET":
                            if r.status_code != 404:
                                failures.append(f"{where}: another unit's client must not see the receipt (404)")
                        elif method == "GET" and real and not (200 <= r.status_code < 400):
                            failures.append(f"{where}: expected 200 for a real object")
                    elif got != want:
                        failures.append(f"{where}: expected {want}")
    assert checked > 100  # the route table is really walked
    assert not failures, "\n".join(failures)


async def test_a_route_without_access_fails(app):
    """The check itself: a handler without ``access`` (like a new route someone forgets) is reported."""
    from litestar import get

    @get("/new-feature")
    async def new_feature() -> str:
        return "x"

    with pytest.raises(AssertionError, match="declares no access"):
        declared_levels(new_feature, app.openapi_config.path, "/new-feature")

    @get("/new-feature", opt={"access": "admins"})
    async def misspelt() -> str:
        return "x"

    with pytest.raises(AssertionError, match="unknown access"):
        declared_levels(misspelt, app.openapi_config.path, "/new-feature")


async def test_matrix_users_exist(db, world):
    """Sanity: the staff principals are real accounts with the roles the matrix names."""
    roles = dict((await db.execute(select(User.username, User.role).where(User.username.like("matrix-%")))).all())
    assert set(roles.values()) == {r for r in STAFF if r in ROLES}
