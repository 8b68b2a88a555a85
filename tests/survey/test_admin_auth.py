"""Admin sign-in: argon2 accounts, the create-user command, sessions, throttling, CSRF, roles, audit."""

from __future__ import annotations

import asyncio
import io
import re
import sys

import pytest
from sqlalchemy import select

from survey.admin import users
from survey.db.engine import make_engine, make_sessionmaker
from survey.db.models import AuditLog, LoginAttempt, User

HTML = {"accept": "text/html"}
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(client, path: str = "/admin/login") -> str:
    r = await client.get(path, headers=HTML, follow_redirects=False)
    m = CSRF_RE.search(r.text)
    assert m, f"no CSRF field on {path} ({r.status_code})"
    return m.group(1)


async def login(client, username: str, password: str, next_path: str | None = None):
    token = await csrf_token(client)
    form = {"_csrf_token": token, "username": username, "password": password}
    if next_path is not None:
        form["next"] = next_path
    return await client.post("/admin/login", data=form, headers=HTML, follow_redirects=False)


async def post_form(client, path: str, form: dict, token_page: str = "/admin"):
    token = await csrf_token(client, token_page)
    return await client.post(path, data={"_csrf_token": token, **form}, headers=HTML, follow_redirects=False)


async def add_user(db, username: str = "noivu", role: str = "admin", password: str = PASSWORD):
    return await users.create_user(db, username, password, role, actor="test")


async def audit_actions(db) -> list[str]:
    db.expire_all()
    return list(await db.scalars(select(AuditLog.action).order_by(AuditLog.id)))


# --------------------------------------------------------------------------- create-user command


def _run_cli(monkeypatch, settings, argv: list[str], stdin: str) -> int:
    from survey.cli import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


def _users_and_audit(url: str):
    async def run():
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s:
                found = list(await s.scalars(select(User)))
                actions = list(await s.execute(select(AuditLog.action, AuditLog.actor, AuditLog.details)))
                return found, actions
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_create_user_command_stores_an_argon2_hash(monkeypatch, settings, capsys):
    assert _run_cli(monkeypatch, settings, ["create-user", "NoiVu", "--role", "admin", "--password-stdin"], PASSWORD + "\n") == 0
    found, actions = _users_and_audit(settings.database_url)
    assert [(u.username, u.role) for u in found] == [("noivu", "admin")]
    stored = found[0].password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(stored, PASSWORD)
    assert [(a, actor) for a, actor, _d in actions] == [("user.create", f"cli:{__import__('getpass').getuser()}")]
    assert PASSWORD not in str(actions[0].details)
    assert "noivu" in capsys.readouterr().out


def test_create_user_command_refuses_a_weak_password(monkeypatch, settings, capsys):
    assert _run_cli(monkeypatch, settings, ["create-user", "ngan", "--role", "viewer", "--password-stdin"], "short123\n") == 2
    assert "10" in capsys.readouterr().err
    found, _ = _users_and_audit(settings.database_url)
    assert found == []


def test_create_user_command_refuses_a_taken_username(monkeypatch, settings, capsys):
    argv = ["create-user", "trung", "--role", "statistician", "--password-stdin"]
    assert _run_cli(monkeypatch, settings, argv, PASSWORD + "\n") == 0
    assert _run_cli(monkeypatch, settings, argv, PASSWORD + "\n") == 2
    assert "trung" in capsys.readouterr().err
    found, _ = _users_and_audit(settings.database_url)
    assert len(found) == 1


def test_create_user_command_prompts_twice_without_stdin(monkeypatch, settings):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    from survey.cli import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    assert main(["create-user", "khac", "--role", "viewer"]) == 2  # the two entries differ
    assert _users_and_audit(settings.database_url)[0] == []


def test_rehash_when_parameters_change(monkeypatch):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert users._hasher.check_needs_rehash(weak)
    assert not users._hasher.check_needs_rehash(users.hash_password(PASSWORD))


async def test_sign_in_rehashes_an_outdated_hash(db, settings):
    from argon2 import PasswordHasher

    user = await add_user(db)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await db.commit()
    assert await users.sign_in(db, settings, "noivu", PASSWORD, "10.0.0.1") is not None
    await db.refresh(user)
    assert not users._hasher.check_needs_rehash(user.password_hash)


# --------------------------------------------------------------------------- sign-in and sessions


async def test_login_success_opens_the_dashboard(client, db):
    await add_user(db)
    r = await login(client, "noivu", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    page = await client.get("/admin", headers=HTML, follow_redirects=False)
    assert page.status_code == 200
    assert "Tổng quan" in page.text and "noivu" in page.text
    assert "login" in await audit_actions(db)
    user = await db.scalar(select(User).where(User.username == "noivu"))
    await db.refresh(user)
    assert user.last_login_at is not None


async def test_wrong_password_shows_an_error_and_no_session(client, db):
    await add_user(db)
    r = await login(client, "noivu", "not the password")
    assert r.status_code == 400
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in r.text
    assert 'class="error-summary"' in r.text and 'href="#username"' in r.text
    after = await client.get("/admin", headers=HTML, follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/admin/login")
    attempts = list(await db.scalars(select(LoginAttempt)))
    assert [(a.username, a.success) for a in attempts] == [("noivu", False)]
    assert "login" not in await audit_actions(db)


async def test_empty_fields_name_the_fields(client):
    r = await login(client, "", "")
    assert r.status_code == 400
    assert 'href="#username"' in r.text and 'href="#password"' in r.text


async def test_throttled_after_too_many_failures_even_with_the_right_password(client, db, settings):
    await add_user(db)
    for _ in range(settings.login_max_attempts):
        assert (await login(client, "noivu", "wrong password!")).status_code == 400
    r = await login(client, "noivu", PASSWORD)
    assert r.status_code == 429
    assert "Tạm khóa đăng nhập" in r.text and "Retry-After" in r.headers
    assert (await client.get("/admin", headers=HTML, follow_redirects=False)).status_code == 303
    # nothing stores the client address itself: only a 64-hex keyed hash
    keys = set(await db.scalars(select(LoginAttempt.client_key)))
    assert len(keys) == 1
    (key,) = keys
    assert re.fullmatch(r"[0-9a-f]{64}", key) and "testclient" not in key and "127.0.0.1" not in key


async def test_throttled_per_client_across_usernames(client, db, settings):
    await add_user(db)
    for i in range(settings.login_max_attempts):
        await login(client, f"khong-co-{i}", "wrong password!")
    assert (await login(client, "noivu", PASSWORD)).status_code == 429


async def test_other_clients_and_accounts_are_not_throttled(db, settings):
    await add_user(db)
    await add_user(db, "thongke", "statistician")
    for _ in range(settings.login_max_attempts):
        assert await users.sign_in(db, settings, "noivu", "wrong password!", "10.0.0.1") is None
    with pytest.raises(users.LoginThrottled):
        await users.sign_in(db, settings, "noivu", PASSWORD, "10.0.0.2")  # the account is locked
    with pytest.raises(users.LoginThrottled):
        await users.sign_in(db, settings, "thongke", PASSWORD, "10.0.0.1")  # the client is locked
    assert await users.sign_in(db, settings, "thongke", PASSWORD, "10.0.0.2") is not None


async def test_logout_clears_the_session(client, db):
    await add_user(db)
    await login(client, "noivu", PASSWORD)
    r = await post_form(client, "/admin/logout", {})
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    assert (await client.get("/admin", headers=HTML, follow_redirects=False)).status_code == 303
    assert (await audit_actions(db))[-1] == "logout"


async def test_unauthenticated_pages_redirect_to_login_with_next(client, db):
    r = await client.get("/admin/receipts?page=2", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/login?next=/admin/receipts%3Fpage%3D2"
    await add_user(db)
    r = await login(client, "noivu", PASSWORD, next_path="/admin/receipts?page=2")
    assert r.headers["location"] == "/admin/receipts?page=2"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
async def test_next_only_allows_local_paths(client, db, target):
    await add_user(db)
    r = await login(client, "noivu", PASSWORD, next_path=target)
    assert r.status_code == 303 and r.headers["location"] == "/admin"


async def test_statistician_cannot_manage_api_keys(client, db):
    await add_user(db, "thongke", "statistician")
    await login(client, "thongke", PASSWORD)
    assert (await client.get("/admin/receipts", headers=HTML)).status_code == 200
    r = await client.get("/admin/api-clients", headers=HTML)
    assert r.status_code == 403 and "Không có quyền truy cập" in r.text
    r = await post_form(client, "/admin/api-clients", {"name": "Một cửa"})
    assert r.status_code == 403
    from survey.db.models import ApiClient

    assert list(await db.scalars(select(ApiClient))) == []
    assert (await client.get("/admin/audit", headers=HTML)).status_code == 403


async def test_viewer_sees_no_admin_links(client, db):
    await add_user(db, "xem", "viewer")
    await login(client, "xem", PASSWORD)
    page = await client.get("/admin", headers=HTML)
    assert page.status_code == 200 and "/admin/api-clients" not in page.text


async def test_post_without_csrf_token_is_refused(client, db):
    await add_user(db)
    r = await client.post("/admin/login", data={"username": "noivu", "password": PASSWORD}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    assert list(await db.scalars(select(LoginAttempt))) == []
    await login(client, "noivu", PASSWORD)
    r = await client.post("/admin/api-clients", data={"name": "Một cửa"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403


async def test_admin_actions_are_audited(client, db):
    from survey.db.models import ApiClient

    await add_user(db)
    await login(client, "noivu", PASSWORD)
    r = await post_form(client, "/admin/api-clients", {"name": "Hệ thống một cửa tỉnh"}, "/admin/api-clients")
    assert r.status_code == 201
    client_id = await db.scalar(select(ApiClient.id))
    r = await post_form(client, f"/admin/api-clients/{client_id}/revoke", {}, "/admin/api-clients")
    assert r.status_code == 303
    r = await post_form(client, "/admin/users", {"username": "moi", "password": "mat-khau-du-dai", "role": "viewer"}, "/admin/users")
    assert r.status_code == 303
    db.expire_all()
    rows = list(await db.execute(select(AuditLog.actor, AuditLog.action, AuditLog.target_id).order_by(AuditLog.id)))
    assert [(a, act) for a, act, _t in rows] == [
        ("test", "user.create"),
        ("noivu", "login"),
        ("noivu", "api_client.create"),
        ("noivu", "api_client.revoke"),
        ("noivu", "user.create"),
    ]
    assert rows[3].target_id == str(client_id)
    audit_page = await client.get("/admin/audit", headers=HTML)
    # the code stays machine-readable on the row; people read its label (issue 14 item 8)
    assert audit_page.status_code == 200 and 'data-action="api_client.revoke"' in audit_page.text
    assert "Thu hồi khóa API" in audit_page.text and ">api_client.revoke<" not in audit_page.text


async def test_user_form_refuses_a_weak_password(client, db):
    await add_user(db)
    await login(client, "noivu", PASSWORD)
    r = await post_form(client, "/admin/users", {"username": "moi", "password": "ngan", "role": "viewer"}, "/admin/users")
    assert r.status_code == 400 and "ít nhất 10 ký tự" in r.text
    assert await db.scalar(select(User.id).where(User.username == "moi")) is None
