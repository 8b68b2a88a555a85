"""HTTP routes of the admin area (thin: parse the form, call the service, render).

Sign-in opens a server-side session (``survey.security.sessions``: the cookie holds a random token);
``survey.admin.guards`` reads the user it belongs to.  Signing out deletes it.  Unauthenticated page
requests are redirected to the sign-in page.  Every route declares its access (CONTRACT.md section 5).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.admin import services, users
from survey.admin.guards import ROLE_INCLUDES, current_user, requires_role
from survey.security import sessions
from survey.security.net import client_address
from survey.settings import Settings
from survey.web import page

LOGIN_PATH = "/admin/login"
NO_STORE = {"Cache-Control": "no-store"}


def safe_next(value: str | None) -> str:
    """Only a local path may follow sign-in (no scheme, no host, no ``//`` or backslash tricks)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/admin"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return "/admin"
    return value


def _user_ctx(request: Request) -> dict[str, Any] | None:
    user = current_user(request)
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "role": user.role, "is_admin": user.role in ROLE_INCLUDES["admin"]}


def admin_page(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200, headers: dict[str, str] | None = None) -> Template:
    ctx = {"user": _user_ctx(request)}
    ctx.update(context or {})
    resp = page(request, template, ctx, status_code=status_code)
    resp.headers.update({**NO_STORE, **(headers or {})})
    return resp


def redirect_to_login(request: Request, exc: NotAuthorizedException) -> Redirect:
    """401 from a guard: send people to the sign-in page, remembering where they were going."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    nxt = safe_next(target) if request.method == "GET" else "/admin"
    return Redirect(f"{LOGIN_PATH}?next={quote(nxt, safe='/')}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: (v if isinstance(v, str) else "") for k, v in form.items()}


def _actor(request: Request) -> str:
    user = current_user(request)
    return user.username if user else "-"


# --------------------------------------------------------------------------- sign-in


@get("/login", name="admin:login", opt={"access": "public"})
async def login_form(request: Request) -> Template | Redirect:
    nxt = safe_next(request.query_params.get("next"))
    if current_user(request) is not None:
        return Redirect(nxt, status_code=303)
    return admin_page(request, "admin/login.html", {"next": nxt, "errors": [], "username": ""})


@post("/login", name="admin:login-post", status_code=303, opt={"access": "public"})
async def login(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    form = await _form(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    nxt = safe_next(form.get("next"))
    errors = []
    if not username:
        errors.append({"field": "username", "message": "Vui lòng nhập tên đăng nhập."})
    if not password:
        errors.append({"field": "password", "message": "Vui lòng nhập mật khẩu."})
    if errors:
        return admin_page(request, "admin/login.html", {"next": nxt, "errors": errors, "username": username}, status_code=400)
    address = client_address(request, settings.trusted_proxies)
    try:
        signed_in = await users.sign_in(db_session, settings, username, password, address)
    except users.LoginThrottled:
        minutes = max(1, settings.login_window_seconds // 60)
        return admin_page(
            request, "admin/throttled.html", {"minutes": minutes}, status_code=429, headers={"Retry-After": str(settings.login_window_seconds)}
        )
    if signed_in is None:
        errors = [{"field": "username", "message": "Tên đăng nhập hoặc mật khẩu không đúng."}]
        return admin_page(request, "admin/login.html", {"next": nxt, "errors": errors, "username": username}, status_code=400)
    if signed_in.role == "unit_manager" and nxt == "/admin":
        nxt = "/admin/ket-qua"  # a unit manager's only pages: their unit's results
    # a fresh server-side session at every sign-in; the browser's previous one (if any) ends
    token = await sessions.start(db_session, settings, signed_in.user_id, replaces=request.cookies.get(sessions.COOKIE))
    return Redirect(nxt, status_code=303, cookies=[sessions.cookie(settings, token)])


@post("/logout", name="admin:logout", status_code=303, opt={"access": "public"})
async def logout(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Redirect:
    """Sign out: the session row is deleted, so a copy of the cookie is refused from now on."""
    user = current_user(request)
    await sessions.end(db_session, request.cookies.get(sessions.COOKIE))
    if user is not None:
        audit.record(db_session, user.username, "logout", "user", user.id)
    await db_session.commit()
    return Redirect(LOGIN_PATH, status_code=303, cookies=[sessions.expired_cookie(settings)])


# --------------------------------------------------------------------------- pages


@get("/", name="admin:dashboard", guards=[requires_role("viewer")], opt={"access": "viewer"})
async def dashboard(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    user = current_user(request)
    # the recent audit entries only for those who may read /admin/audit
    may_read_audit = user is not None and user.role in ROLE_INCLUDES["admin"]
    return admin_page(request, "admin/dashboard.html", await services.dashboard(db_session, include_audit=may_read_audit))


@get("/units", name="admin:units", guards=[requires_role("viewer")], opt={"access": "viewer"})
async def units(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return admin_page(request, "admin/units.html", {"tree": await services.unit_tree(db_session)})


@get("/procedures", name="admin:procedures", guards=[requires_role("viewer")], opt={"access": "viewer"})
async def procedures(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return admin_page(request, "admin/procedures.html", {"fields": await services.procedures_by_field(db_session)})


def _receipt_search(request: Request, settings: Settings) -> tuple[services.ReceiptSearch, dict[str, str], list[dict[str, str]]]:
    """The receipts list's search form (GET): values to re-show, and an error per bad field."""
    from datetime import date
    from urllib.parse import urlencode

    q = request.query_params
    values = {k: (q.get(k) or "").strip() for k in ("code", "unit", "from", "to")}
    errors = []
    days = {}
    for key, vi, en in (("from", "Từ ngày", "From date"), ("to", "Đến ngày", "To date")):
        try:
            days[key] = date.fromisoformat(values[key]) if values[key] else None
        except ValueError:
            days[key] = None
            errors.append({"field": key, "message_vi": f"{vi} không phải ngày hợp lệ (YYYY-MM-DD).", "message_en": f"{en} is not a valid date (YYYY-MM-DD)."})
    unit_id = int(values["unit"]) if values["unit"].isdigit() else None
    if values["unit"] and unit_id is None:
        errors.append({"field": "unit", "message_vi": "Đơn vị không hợp lệ.", "message_en": "Unknown unit."})
    search = services.ReceiptSearch(code=values["code"][:64], unit_id=unit_id, date_from=days["from"], date_to=days["to"], timezone=settings.timezone)
    kept = {k: v for k, v in values.items() if v}
    values["query"] = urlencode(kept) + "&" if kept else ""
    return search, values, errors


@get("/receipts", name="admin:receipts", guards=[requires_role("viewer")], opt={"access": "viewer"})
async def receipts(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    search, values, errors = _receipt_search(request, settings)
    result = await services.receipts_page(db_session, services.page_number(request.query_params.get("page")), search=search)
    ctx = {"result": result.as_dict(), "search": values, "errors": errors, "units": await services.unit_choices(db_session), "pager_query": values["query"]}
    return admin_page(request, "admin/receipts.html", ctx, status_code=400 if errors else 200)


@get("/audit", name="admin:audit", guards=[requires_role("admin")], opt={"access": "admin"})
async def audit_log(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    result = await services.audit_page(db_session, services.page_number(request.query_params.get("page")))
    return admin_page(request, "admin/audit.html", {"result": result.as_dict()})


# --------------------------------------------------------------------------- API clients


async def _api_clients_page(request: Request, db_session: AsyncSession, errors: list[dict[str, str]] | None = None, form: dict[str, str] | None = None, status_code: int = 200) -> Template:
    ctx = {"clients": await services.api_clients(db_session), "units": await services.unit_choices(db_session), "errors": errors or [], "form": form or {}}
    return admin_page(request, "admin/api_clients.html", ctx, status_code=status_code)


@get("/api-clients", name="admin:api-clients", guards=[requires_role("admin")], opt={"access": "admin"})
async def api_clients(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _api_clients_page(request, db_session)


@post("/api-clients", name="admin:api-clients-create", guards=[requires_role("admin")], opt={"access": "admin"}, status_code=200)
async def create_api_client(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    from survey.receipts.clients import create_api_client as create

    form = await _form(request)
    name = form.get("name", "").strip()
    unit_raw = form.get("unit_id", "").strip()
    errors = []
    if not name:
        errors.append({"field": "name", "message": "Vui lòng nhập tên hệ thống."})
    elif len(name) > 255:
        errors.append({"field": "name", "message": "Tên hệ thống dài tối đa 255 ký tự."})
    unit_id = None
    if unit_raw:
        valid_ids = {u["id"] for u in await services.unit_choices(db_session)}
        unit_id = int(unit_raw) if unit_raw.isdigit() else None
        if unit_id not in valid_ids:
            errors.append({"field": "unit_id", "message": "Đơn vị không hợp lệ."})
    if errors:
        return await _api_clients_page(request, db_session, errors, form, status_code=400)
    client, key = await create(db_session, name, unit_id=unit_id, commit=False)  # committed with its audit entry
    audit.record(db_session, _actor(request), "api_client.create", "api_client", client.id, name=name, unit_id=unit_id, key_prefix=client.key_prefix)
    await db_session.commit()
    return admin_page(request, "admin/api_client_created.html", {"client": {"id": client.id, "name": name, "key_prefix": client.key_prefix}, "key": key}, status_code=201)


@post("/api-clients/{client_id:int}/revoke", name="admin:api-clients-revoke", guards=[requires_role("admin")], opt={"access": "admin"}, status_code=303)
async def revoke_api_client(request: Request, db_session: NamedDependency[AsyncSession], client_id: FromPath[int]) -> Redirect:
    from survey.receipts.clients import revoke_api_client as revoke

    try:
        found = await revoke(db_session, client_id, commit=False)
    except LookupError:
        found = None
    if found is None:
        raise NotFoundException("Không tìm thấy hệ thống kết nối này.")
    audit.record(db_session, _actor(request), "api_client.revoke", "api_client", client_id)
    await db_session.commit()
    return Redirect("/admin/api-clients", status_code=303)


# --------------------------------------------------------------------------- staff accounts


@get("/users", name="admin:users", guards=[requires_role("admin")], opt={"access": "admin"})
async def user_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    ctx = {"users": await users.list_users(db_session), "roles": ROLE_CHOICES, "errors": [], "form": {}, "units": await services.manager_unit_choices(db_session)}
    return admin_page(request, "admin/users.html", ctx)


#: the roles offered by the form (their labels come from survey/labels.py)
ROLE_CHOICES = [{"id": r} for r in ("admin", "statistician", "viewer", "unit_manager")]


@post("/users", name="admin:users-create", guards=[requires_role("admin")], opt={"access": "admin"}, status_code=303)
async def user_create(request: Request, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
    form = await _form(request)
    try:
        await users.create_user(
            db_session, form.get("username", ""), form.get("password", ""), form.get("role", ""),
            full_name=form.get("full_name", "").strip()[:255], unit_code=form.get("unit_code") or None, actor=_actor(request),
        )
    except users.WeakPassword as exc:
        errors = [{"field": "password", "message_vi": exc.message_vi, "message_en": exc.message_en}]
    except users.InvalidUser as exc:
        errors = [{"field": exc.field, "message_vi": exc.message_vi, "message_en": exc.message_en}]
    else:
        return Redirect("/admin/users", status_code=303)
    form.pop("password", None)
    ctx = {"users": await users.list_users(db_session), "roles": ROLE_CHOICES, "errors": errors, "form": form, "units": await services.manager_unit_choices(db_session)}
    return admin_page(request, "admin/users.html", ctx, status_code=400)


@post("/users/{user_id:int}/deactivate", name="admin:users-deactivate", guards=[requires_role("admin")], opt={"access": "admin"}, status_code=303)
async def user_deactivate(request: Request, db_session: NamedDependency[AsyncSession], user_id: FromPath[int]) -> Redirect:
    """Lock an account: its sessions end at once (a copied cookie is refused on the next request)."""
    me = current_user(request)
    if me is not None and me.id == user_id:
        raise HTTPException(status_code=400, detail="Không thể tự khóa tài khoản của mình.")
    if await users.deactivate_user(db_session, user_id, actor=_actor(request)) is None:
        raise NotFoundException("Không tìm thấy tài khoản này.")
    return Redirect("/admin/users", status_code=303)


admin_router = Router(
    path="/admin",
    route_handlers=[login_form, login, logout, dashboard, units, procedures, receipts, audit_log, api_clients, create_api_client, revoke_api_client, user_list, user_create, user_deactivate],
    exception_handlers={401: redirect_to_login},
    include_in_schema=False,
    tags=["admin"],
)

ROUTES: list = [admin_router]
