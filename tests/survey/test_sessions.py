"""Staff sessions end for real: server-side rows, so logout, deactivation and a password change refuse a copied cookie."""

from __future__ import annotations

import asyncio
import io
import sys

from sqlalchemy import func, select

from survey.db.models import AuditLog, StaffSession, User
from survey.security import sessions
from tests.survey.test_admin_auth import HTML, PASSWORD, csrf_token, login, post_form
from tests.survey.test_admin_auth import add_user as _add_user


async def add_user(db, username: str, role: str) -> int:
    """Create an account; returns its id (ORM objects expire in these tests)."""
    return (await _add_user(db, username, role)).id


async def session_rows(db, user_id: int | None = None) -> int:
    db.expire_all()
    stmt = select(func.count()).select_from(StaffSession)
    if user_id is not None:
        stmt = stmt.where(StaffSession.user_id == user_id)
    return await db.scalar(stmt)


async def signed_in_cookie(client, username: str, password: str = PASSWORD) -> str:
    r = await login(client, username, password)
    assert r.status_code == 303, r.text
    return client.cookies["hl_session"]


async def get_admin(client, cookie: str, path: str = "/admin"):
    """A request by someone else holding a copy of the cookie (no other state)."""
    client.cookies.clear()
    return await client.get(path, headers={**HTML, "cookie": f"hl_session={cookie}"}, follow_redirects=False)


async def test_the_cookie_is_an_opaque_token_and_only_its_hash_is_stored(client, db):
    user_id = await add_user(db, "noivu", "admin")
    cookie = await signed_in_cookie(client, "noivu")
    assert "noivu" not in cookie and "admin" not in cookie and len(cookie) >= 40
    db.expire_all()
    row = await db.scalar(select(StaffSession).where(StaffSession.user_id == user_id))
    assert row is not None and row.id != cookie and len(row.id) == 64
    assert (await get_admin(client, cookie)).status_code == 200


async def test_a_copied_cookie_is_refused_after_logout(client, db):
    user_id = await add_user(db, "noivu", "admin")
    cookie = await signed_in_cookie(client, "noivu")
    assert (await get_admin(client, cookie)).status_code == 200
    # sign out in the original browser
    client.cookies.set("hl_session", cookie, domain="testserver.local")
    r = await post_form(client, "/admin/logout", {})
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    assert 'hl_session=""' in r.headers.get("set-cookie", "") or "hl_session=;" in r.headers.get("set-cookie", "")
    assert await session_rows(db, user_id) == 0
    # the copy (taken before sign-out) no longer works, anywhere
    r = await get_admin(client, cookie)
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/login?next=")
    assert (await get_admin(client, cookie, "/admin/audit")).status_code == 303
    assert "logout" in list(await db.scalars(select(AuditLog.action)))


async def test_sign_in_starts_a_fresh_session_and_ends_the_previous_one(client, db):
    await add_user(db, "noivu", "admin")
    first = await signed_in_cookie(client, "noivu")
    # the same browser signs in again (a form with this session's CSRF token, the old cookie sent along)
    token = await csrf_token(client, "/admin")
    r = await client.post("/admin/login", data={"_csrf_token": token, "username": "noivu", "password": PASSWORD}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    second = client.cookies["hl_session"]
    assert first != second
    assert (await get_admin(client, first)).status_code == 303
    assert (await get_admin(client, second)).status_code == 200


async def test_deactivating_an_account_ends_all_its_sessions(client, db):
    viewer_id = await add_user(db, "xem", "viewer")
    await add_user(db, "noivu", "admin")
    laptop = await signed_in_cookie(client, "xem")
    client.cookies.clear()  # another browser (one client: on PostgreSQL the app's pool belongs to one event loop)
    phone = await signed_in_cookie(client, "xem")
    assert await session_rows(db, viewer_id) == 2
    for cookie in (laptop, phone):
        assert (await get_admin(client, cookie)).status_code == 200

    # the admin locks the account on /admin/users
    client.cookies.clear()
    await signed_in_cookie(client, "noivu")
    page = await client.get("/admin/users", headers=HTML)
    assert f'/admin/users/{viewer_id}/deactivate' in page.text
    r = await post_form(client, f"/admin/users/{viewer_id}/deactivate", {}, token_page="/admin/users")
    assert r.status_code == 303
    assert await session_rows(db, viewer_id) == 0
    for cookie in (laptop, phone):
        assert (await get_admin(client, cookie)).status_code == 303
    db.expire_all()
    assert (await db.get(User, viewer_id)).active is False
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "user.deactivate"))
    assert entry.actor == "noivu" and entry.details["sessions_ended"] == 2
    # and the right password does not open a new one
    client.cookies.clear()
    assert (await login(client, "xem", PASSWORD)).status_code == 400


async def test_an_inactive_account_is_refused_even_if_its_session_row_survived(client, db):
    user_id = await add_user(db, "xem", "viewer")
    cookie = await signed_in_cookie(client, "xem")
    db.expire_all()
    row = await db.get(User, user_id)
    row.active = False  # set inactive directly in the database (e.g. by another tool)
    await db.commit()
    assert await session_rows(db, user_id) == 1
    assert (await get_admin(client, cookie)).status_code == 303


async def test_an_admin_cannot_lock_themself_and_unknown_accounts_are_404(client, db):
    admin_id = await add_user(db, "noivu", "admin")
    await signed_in_cookie(client, "noivu")
    assert (await post_form(client, f"/admin/users/{admin_id}/deactivate", {}, token_page="/admin/users")).status_code == 400
    assert (await post_form(client, "/admin/users/99999/deactivate", {}, token_page="/admin/users")).status_code == 404
    assert (await client.get("/admin", headers=HTML, follow_redirects=False)).status_code == 200


async def test_a_password_change_ends_every_session(client, db, monkeypatch, settings):
    from survey.cli import main

    user_id = await add_user(db, "noivu", "admin")
    cookie = await signed_in_cookie(client, "noivu")
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a brand new password\n"))
    assert await asyncio.to_thread(main, ["set-password", "noivu", "--password-stdin"]) == 0
    assert await session_rows(db, user_id) == 0
    assert (await get_admin(client, cookie)).status_code == 303
    client.cookies.clear()
    assert (await login(client, "noivu", PASSWORD)).status_code == 400
    client.cookies.clear()
    assert (await login(client, "noivu", "a brand new password")).status_code == 303
    assert "user.password" in list(await db.scalars(select(AuditLog.action)))
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert await asyncio.to_thread(main, ["set-password", "noivu", "--password-stdin"]) == 2


async def test_deactivate_user_command(client, db, monkeypatch, settings):
    from survey.cli import main

    user_id = await add_user(db, "xem", "viewer")
    cookie = await signed_in_cookie(client, "xem")
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    assert await asyncio.to_thread(main, ["deactivate-user", "xem"]) == 0
    assert (await get_admin(client, cookie)).status_code == 303
    assert await session_rows(db, user_id) == 0
    assert await asyncio.to_thread(main, ["deactivate-user", "nobody"]) == 2


async def test_a_role_change_applies_on_the_next_request(client, db):
    user_id = await add_user(db, "noivu", "admin")
    cookie = await signed_in_cookie(client, "noivu")
    assert (await get_admin(client, cookie, "/admin/audit")).status_code == 200
    db.expire_all()
    (await db.get(User, user_id)).role = "viewer"
    await db.commit()
    assert (await get_admin(client, cookie, "/admin/audit")).status_code == 403


async def test_an_expired_session_is_refused(client, db, settings):
    from datetime import timedelta

    from survey.db.base import utcnow

    user_id = await add_user(db, "noivu", "admin")
    token = await sessions.start(db, settings, user_id)
    assert (await get_admin(client, token)).status_code == 200
    row = await db.scalar(select(StaffSession).where(StaffSession.user_id == user_id))
    row.expires_at = utcnow() - timedelta(seconds=1)
    await db.commit()
    assert (await get_admin(client, token)).status_code == 303


async def test_forged_and_garbage_cookies_are_anonymous(client):
    for value in ("x", "A" * 500, "eyJ1c2VyX2lkIjogMX0=", '"; role=admin'):
        r = await get_admin(client, value)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")


# --------------------------------------------------------------------------- CSRF bound to the session


async def test_a_csrf_token_from_before_sign_in_is_refused_after_it(client, db):
    await add_user(db, "noivu", "admin")
    anonymous_token = await csrf_token(client, "/admin/login")
    anonymous_cookie = client.cookies["hl_csrf"]
    await signed_in_cookie(client, "noivu")
    # the browser still holds the pre-sign-in CSRF cookie: a form with that token is refused
    client.cookies.set("hl_csrf", anonymous_cookie, domain="testserver.local")
    r = await client.post("/admin/users", data={"_csrf_token": anonymous_token, "username": "moi", "password": "x" * 12, "role": "viewer"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    # the next page gives a token of this session, which works
    client.cookies.delete("hl_csrf")
    r = await post_form(client, "/admin/users", {"username": "moi", "password": "x" * 12, "role": "viewer"}, token_page="/admin/users")
    assert r.status_code == 303


async def test_a_csrf_pair_from_another_session_is_refused(client, db):
    await add_user(db, "noivu", "admin")
    await add_user(db, "kexau", "viewer")
    # an attacker with an account of their own takes a valid token + cookie pair from their session ...
    await signed_in_cookie(client, "kexau")
    token = await csrf_token(client, "/admin")
    pair_cookie = client.cookies["hl_csrf"]
    # ... and plants it in the admin's browser (cookie tossing): the admin's session does not accept it
    client.cookies.clear()
    await signed_in_cookie(client, "noivu")
    client.cookies.set("hl_csrf", pair_cookie, domain="testserver.local")
    r = await client.post("/admin/users", data={"_csrf_token": token, "username": "moi", "password": "x" * 12, "role": "admin"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    assert await db.scalar(select(func.count()).select_from(User).where(User.username == "moi")) == 0
