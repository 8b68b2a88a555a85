"""Sign in to the admin area through real Chromium and reach the dashboard."""

from __future__ import annotations

import os
import subprocess
import sys

PASSWORD = "mat-khau-that-dai-2026"


def _add_admin(url: str) -> None:
    """Through the real command (Playwright's sync API owns this thread's event loop)."""
    env = {**os.environ, "HAILONG_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from survey.cli import main; sys.exit(main())", "create-user", "noivu", "--role", "admin", "--password-stdin"],
        input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_sign_in_and_see_the_dashboard(live_server, page):
    _add_admin(live_server.settings.database_url)
    page.goto(live_server.url + "/admin/units")
    assert "/admin/login" in page.url  # redirected, remembering where we were going
    page.get_by_label("Tên đăng nhập").fill("noivu")
    page.get_by_label("Mật khẩu").fill("sai mật khẩu rồi")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.locator(".error-summary").is_visible()
    assert "không đúng" in page.locator(".error-summary").inner_text()

    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(live_server.url + "/admin/units")
    page.get_by_role("link", name="Tổng quan").click()
    page.wait_for_url(live_server.url + "/admin")
    assert page.get_by_role("heading", name="Tổng quan").is_visible()
    assert "noivu" in page.locator("header").inner_text()

    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(live_server.url + "/admin/login")
    page.goto(live_server.url + "/admin")
    assert "/admin/login" in page.url
