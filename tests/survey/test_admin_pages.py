"""Admin pages: the units tree, procedures by field, receipts, API clients (key shown once, then usable)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from survey.db.models import ApiClient
from survey.receipts import services
from survey.responses.services import Submission, store_response
from tests.conftest import make_procedure, make_receipt, make_unit
from tests.survey.test_admin_auth import HTML, PASSWORD, add_user, login, post_form

KEY_RE = re.compile(r'id="api-key">([^<]+)<')


async def signed_in(client, db, role: str = "admin", username: str = "noivu"):
    await add_user(db, username, role)
    r = await login(client, username, PASSWORD)
    assert r.status_code == 303


async def test_units_page_shows_the_hierarchy_as_a_tree(client, db):
    province = await make_unit(db, "000.00.00.H98", "Tỉnh Thử Nghiệm", "province")
    await make_unit(db, "000.00.01.H98", "Sở Tư pháp", "department", province.id)
    await make_unit(db, "000.01.01.H98", "Phường Hòa Bình", "ward", province.id)
    await make_unit(db, "000.03.01.H98", "Đặc khu Hòn Ngọc", "special_zone", province.id)
    await make_unit(db, "LONE", "Xã Mồ Côi", "commune")  # a second root
    await signed_in(client, db, "viewer", "xem")
    r = await client.get("/admin/units", headers=HTML)
    assert r.status_code == 200
    html = r.text
    # the children are inside the province's nested list, not beside it
    start = html.index("Tỉnh Thử Nghiệm")
    nested = html[start : html.index("</ul>", html.index("Đặc khu Hòn Ngọc"))]
    for name in ("Sở Tư pháp", "Phường Hòa Bình", "Đặc khu Hòn Ngọc"):
        assert name in nested
    assert nested.count('<ul class="tree">') == 1
    assert "Xã Mồ Côi" in html and "Xã Mồ Côi" not in nested
    for label in ("Sở, ban, ngành", "Phường", "Đặc khu"):
        assert label in html


async def test_procedures_page_groups_by_field(client, db):
    await make_procedure(db, "1.001193", "Đăng ký khai sinh", "Hộ tịch", 1)
    await make_procedure(db, "1.000894", "Đăng ký kết hôn", "Hộ tịch", 1)
    await make_procedure(db, "1.009994", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Xây dựng", 15)
    await signed_in(client, db)
    r = await client.get("/admin/procedures", headers=HTML)
    assert r.status_code == 200
    html = r.text
    ho_tich, xay_dung = html.index('<h2><span lang="vi">Hộ tịch'), html.index('<h2><span lang="vi">Xây dựng')
    section = html[ho_tich:xay_dung] if ho_tich < xay_dung else html[ho_tich:]
    assert "Đăng ký khai sinh" in section and "Đăng ký kết hôn" in section
    assert "Cấp giấy phép xây dựng" not in section


async def test_receipts_page_lists_recent_receipts_with_answered_flag(client, db, settings):
    unit = await make_unit(db)
    proc = await make_procedure(db)
    answered = await make_receipt(db, unit, proc, "000.00.01.H01-261122-0001")
    await make_receipt(db, unit, proc, "000.00.01.H01-261122-0002")
    await store_response(
        db,
        Submission("sipas-short", 1, "qr", unit.id, {"access": 4, "procedure": 5, "officer": 4, "result": 0, "feedback": 3}, overall=4, receipt_id=answered.id),
    )
    await signed_in(client, db, "statistician", "thongke")
    r = await client.get("/admin/receipts", headers=HTML)
    assert r.status_code == 200
    rows = re.findall(r"<tr><td><code>([^<]+)</code></td>.*?</tr>", r.text, re.S)
    assert rows == ["000.00.01.H01-261122-0002", "000.00.01.H01-261122-0001"] or set(rows) == {"000.00.01.H01-261122-0001", "000.00.01.H01-261122-0002"}
    row1 = re.search(r"000\.00\.01\.H01-261122-0001.*?</tr>", r.text, re.S).group(0)
    row2 = re.search(r"000\.00\.01\.H01-261122-0002.*?</tr>", r.text, re.S).group(0)
    assert 'class="yes"' in row1 and 'class="no"' in row2
    assert "Sở Nội vụ" in row1 and "Cấp bản sao trích lục hộ tịch" in row1
    received = (datetime.now(UTC) - timedelta(hours=1)).astimezone(__import__("zoneinfo").ZoneInfo(settings.timezone))
    assert received.strftime("%d/%m/%Y") in row1  # dd/mm/yyyy


async def test_receipts_page_is_paginated(client, db):
    from survey.admin.services import PAGE_SIZE

    unit = await make_unit(db)
    for i in range(PAGE_SIZE + 3):
        await make_receipt(db, unit, None, f"000.00.01.H01-261122-{i + 1:04d}")
    await signed_in(client, db)
    first = await client.get("/admin/receipts", headers=HTML)
    second = await client.get("/admin/receipts?page=2", headers=HTML)
    count = lambda html: len(re.findall(r"<tr><td><code>", html))  # noqa: E731
    assert count(first.text) == PAGE_SIZE and count(second.text) == 3
    assert 'rel="next"' in first.text and 'rel="prev"' in second.text
    assert (await client.get("/admin/receipts?page=abc", headers=HTML)).status_code == 200


async def test_dashboard_counts(client, db):
    unit = await make_unit(db)
    await make_procedure(db)
    await make_receipt(db, unit)
    await signed_in(client, db)
    r = await client.get("/admin", headers=HTML)
    assert r.status_code == 200
    nums = re.findall(r'<span class="num">([^<]+)</span>\s*([^<\n]+)', r.text)
    got = {label.strip(): value for value, label in nums}
    assert got["đơn vị"] == "1" and got["thủ tục hành chính"] == "1" and got["phiếu tiếp nhận"] == "1" and got["phiếu trả lời"] == "0"
    assert 'data-action="login"' in r.text and "<td>Đăng nhập</td>" in r.text  # recent audit entries, as labels
    # where the published figures live, for staff to check what citizens see
    assert '<a href="/cong-khai" id="public-results">' in r.text and '<a href="/cong-khai#chi-so-cchc" id="public-par">' in r.text
    assert (await client.get("/cong-khai", headers=HTML)).status_code == 200


async def test_api_client_key_is_shown_once_and_works(client, db, settings):
    unit = await make_unit(db)
    await signed_in(client, db)
    r = await post_form(client, "/admin/api-clients", {"name": "Hệ thống một cửa", "unit_id": str(unit.id)}, "/admin/api-clients")
    assert r.status_code == 201 and r.headers.get("cache-control") == "no-store"
    key = KEY_RE.search(r.text).group(1)
    stored = await db.scalar(select(ApiClient))
    assert stored.key_hash != key and key not in stored.key_hash and key.startswith(stored.key_prefix)
    listing = await client.get("/admin/api-clients", headers=HTML)
    assert stored.key_prefix in listing.text and key not in listing.text  # never shown again

    now = datetime.now(UTC)
    day = f"{services.local_day(settings, now):%y%m%d}"
    body = {"dossier_code": f"000.00.01.H01-{day}-0007", "unit_code": unit.code, "received_at": now.isoformat()}
    ok = await client.post("/api/v1/receipts", json=body, headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 201, ok.text
    assert (await client.post("/api/v1/receipts", json=body, headers={"Authorization": "Bearer hl_00000000_nope"})).status_code == 401

    r = await post_form(client, f"/admin/api-clients/{stored.id}/revoke", {}, "/admin/api-clients")
    assert r.status_code == 303
    body["dossier_code"] = f"000.00.01.H01-{day}-0008"
    refused = await client.post("/api/v1/receipts", json=body, headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code in (401, 403)
    listing = await client.get("/admin/api-clients", headers=HTML)
    assert "Đã thu hồi" in listing.text


async def test_api_client_form_names_the_bad_field(client, db):
    await signed_in(client, db)
    r = await post_form(client, "/admin/api-clients", {"name": "", "unit_id": "999"}, "/admin/api-clients")
    assert r.status_code == 400
    assert 'href="#name"' in r.text and 'href="#unit_id"' in r.text
    assert await db.scalar(select(ApiClient.id)) is None


async def test_revoking_an_unknown_client_is_404(client, db):
    await signed_in(client, db)
    r = await post_form(client, "/admin/api-clients/9999/revoke", {}, "/admin/api-clients")
    assert r.status_code == 404


async def test_admin_pages_in_english(client, db):
    await signed_in(client, db)
    r = await client.get("/admin/units?lang=en", headers=HTML)
    assert r.status_code == 200 and 'lang="en"' in r.text and "Tiếng Việt" in r.text
