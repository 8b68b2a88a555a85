"""Issue 14 (what a new user tripped over), one test per item, over HTTP on the real app.

7 one language per page · 8 labels, not codes · 9 Vietnamese number formats, the representativeness table ·
10 a citizen's language is chosen per survey · 12 receipts search · 13 units in Vietnamese order ·
14 the demo's kiosk fleet · 15 decline on the consent page · 16 an empty enrolment form flags every field ·
17 compressed pages with their CSS inline.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from survey.db.models import AuditLog, Response
from survey.i18n import vi_sort_key
from survey.receipts.tokens import mint
from tests.conftest import make_procedure, make_receipt, make_unit
from tests.survey.test_admin_auth import HTML, PASSWORD, add_user, login
from tests.survey.test_campaigns import CSRF_RE

VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáãèéìíòóõùúýÀÁÃÈÉÌÍÒÓÕÙÚÝ\u1ea0-\u1ef9]")


def _text(html: str) -> str:
    """The page's words (no tags, no scripts or styles)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _token(db, settings, **kw):
    unit = await make_unit(db)
    receipt = await make_receipt(db, unit, await make_procedure(db), **kw)
    kid, keys = settings.signing_keys()
    return mint("receipt", receipt.id, date.today() + timedelta(days=30), kid, keys)


async def _admin(client, db, role="admin", username="noivu"):
    await add_user(db, username, role)
    assert (await login(client, username, PASSWORD)).status_code == 303


async def _csrf(client, path):
    return CSRF_RE.search((await client.get(path, headers=HTML)).text).group(1)


# --------------------------------------------------------------------------- 7: one language per page


async def test_item7_error_pages_speak_the_page_language(client, db, settings):
    vi = await client.get("/nope", headers=HTML)
    assert vi.status_code == 404 and "Không tìm thấy trang" in vi.text and "Not Found" not in vi.text
    en = await client.get("/nope?lang=en", headers=HTML)
    assert "Page not found" in en.text and "Not Found" not in _text(en.text).replace("Page not found", "")
    token = await _token(db, settings)
    bad = await client.get(f"/slip/{token}?size=99", headers=HTML)
    assert bad.status_code == 400 and "Khổ giấy phải là 58, 80 hoặc A5." in bad.text and "must be" not in bad.text
    bad_en = await client.get(f"/slip/{token}?size=99&lang=en", headers=HTML)
    assert "The paper size must be 58, 80 or A5." in bad_en.text and not VIETNAMESE.search(_text(bad_en.text).replace("Tiếng Việt", "").replace("Hài Lòng", ""))


async def test_item7_short_password_message_is_in_one_language(client, db):
    await _admin(client, db)
    for lang, expected, other in (("vi", "Mật khẩu phải có ít nhất 10 ký tự", "characters"), ("en", "The password must have at least 10 characters", "Mật khẩu phải")):
        csrf = await _csrf(client, f"/admin/users?lang={lang}")
        r = await client.post(f"/admin/users?lang={lang}", data={"_csrf_token": csrf, "username": "moi", "password": "ngan", "role": "viewer"}, headers=HTML)
        assert r.status_code == 400 and expected in r.text and other not in r.text, r.text


async def test_item7_unit_kind_badges_follow_the_page_language(client, db):
    await make_unit(db, "000.00.01.H98", "Sở Tư pháp", "department")
    await _admin(client, db)
    en = await client.get("/admin/units?lang=en", headers=HTML)
    assert '<span class="tag tag-department">Department</span>' in en.text and "Sở, ban, ngành" not in en.text
    vi = await client.get("/admin/units?lang=vi", headers=HTML)
    assert '<span class="tag tag-department">Sở, ban, ngành</span>' in vi.text


# --------------------------------------------------------------------------- 8: labels, not codes


async def test_item8_dashboard_and_audit_show_labels(client, db, settings):
    from survey import audit
    from survey.responses.services import Submission, store_response

    unit = await make_unit(db, "000.00.01.H98", "Sở Tư pháp", "department")
    await store_response(db, Submission("kiosk", 1, "kiosk", unit.id, {}, overall=4, client_uuid="0f8fad5b-d9cb-469f-a165-70867728950e"))
    audit.record(db, "cli:ops", "api_client.create", "api_client", 7, name="Một cửa", unit_id=unit.id, key_prefix="hl_1234abcd")
    audit.record(db, "thongke", "sampling.draw", "sampling_campaign", 1, strata=["unit", "field"], allocation="neyman", n=2328)
    await db.commit()
    await _admin(client, db)
    dash = await client.get("/admin", headers=HTML)
    assert "Máy tính bảng tại quầy: 1" in dash.text and "kiosk: 1" not in dash.text
    assert "(Quản trị (Sở Nội vụ))" in dash.text and "(admin)" not in dash.text
    log = await client.get("/admin/audit", headers=HTML)
    text = _text(log.text)
    assert "Tạo khóa API" in text and "Dòng lệnh" in text and "Đơn vị áp dụng: Sở Tư pháp" in text
    assert "Phân tầng: Đơn vị, Lĩnh vực" in text and "Phân bổ: Neyman" in text and "Cỡ mẫu: 2.328" in text
    for raw in ("api_client.create", "unit_id=", "strata=", "['unit'", "neyman;"):
        assert raw not in text, raw
    en = _text((await client.get("/admin/audit?lang=en", headers=HTML)).text)
    assert "Create API key" in en and "Command line" in en and "Applies to unit: Sở Tư pháp" in en and "Allocation: Neyman (by spread)" in en and "Sample size: 2,328" in en


async def test_item8_sampling_form_options_are_labels(client, db):
    await _admin(client, db, "statistician", "thongke")
    html = (await client.get("/admin/sampling", headers=HTML)).text
    for value, shown in (("proportional", "Tỷ lệ theo quy mô"), ("neyman", "Neyman (theo độ phân tán)"), ("unit", "Đơn vị"), ("none", "Không phân tầng")):
        assert re.search(rf'<option value="{value}"[^>]*>{re.escape(shown)}</option>', html), value
    assert re.search(r'value="online"[^>]*> Trực tuyến</label>', html)
    for raw in (">proportional<", ">neyman<", "> direct<", ">unit,field<"):
        assert raw not in html
    en = (await client.get("/admin/sampling?lang=en", headers=HTML)).text
    assert ">Proportional to size</option>" in en and "> Online</label>" in en


# --------------------------------------------------------------------------- 9: numbers and the campaign page


async def test_item9_preview_and_campaign_numbers_and_table(client, db, settings):
    from tests.survey.test_campaigns import arrange_world, design_form

    await arrange_world(db)
    await _admin(client, db, "statistician", "thongke")
    csrf = await _csrf(client, "/admin/sampling")
    vi = await client.post("/admin/sampling/preview", data=design_form(csrf), headers=HTML)
    strata = re.findall(r'<tr data-stratum="([^"]+)"><td lang="vi">([^<]+)</td>', vi.text)
    assert strata and all(label.startswith("Đơn vị ") for _code, label in strata)  # unit names, not codes
    drawn = await client.post("/admin/sampling/draw", data=design_form(csrf), headers=HTML, follow_redirects=False)
    assert drawn.status_code == 303
    page = await client.get(drawn.headers["location"], headers=HTML)
    assert page.status_code == 200
    assert '<pre class="report-text">' not in page.text and "Sample of" not in page.text and "chi-square" not in page.text
    table = re.search(r'<table class="table" id="strata-sample">.*?</table>', page.text, re.S).group(0)
    assert "Tỷ trọng trong khung mẫu" in table and re.search(r"<td class=\"num\">\d+,\d%</td>", table)
    assert re.search(r'<td lang="vi">Đơn vị (XA|PB|DZ)</td>', table)


def test_item9_fmt_number_groups_thousands_the_vietnamese_way():
    from survey import i18n

    assert i18n.fmt_number(2328, "vi", 0) == "2.328" and i18n.fmt_number(2328, "en", 0) == "2,328"


# --------------------------------------------------------------------------- 10: language per survey


async def test_item10_language_is_not_sticky_across_pages(client, db, settings):
    token = await _token(db, settings)
    home = await client.get("/?lang=en", headers=HTML)
    assert home.cookies.get("lang") == "en" or client.cookies.get("lang") == "en"
    consent = await client.get(f"/r/{token}", headers=HTML)
    assert '<html lang="vi">' in consent.text  # a new survey opens in Vietnamese
    form = await client.get(f"/r/{token}?start=1&lang=en", headers=HTML)
    assert '<html lang="en">' in form.text and f'action="/r/{token}?lang=en"' in form.text  # chosen on this survey
    assert "lang" not in form.cookies  # …and only for this survey
    slip = await client.get(f"/slip/{token}?lang=en", headers=HTML)
    assert '<html lang="vi">' in slip.text  # a printed slip follows the unit's language


# --------------------------------------------------------------------------- 12, 13: receipts search, unit order


async def test_item12_receipts_search_by_code_unit_and_date(client, db, settings):
    a = await make_unit(db, "000.00.01.H98", "Sở Tư pháp", "department")
    b = await make_unit(db, "000.01.01.H98", "Phường Hòa Bình", "ward")
    await make_receipt(db, a, None, "000.00.01.H98-261122-0001")
    await make_receipt(db, a, None, "000.00.01.H98-261122-0002")
    await make_receipt(db, b, None, "000.01.01.H98-261122-0003")
    await _admin(client, db, "viewer", "xem")
    codes = lambda r: re.findall(r"<td><code>([^<]+)</code></td>", r.text)  # noqa: E731
    assert len(codes(await client.get("/admin/receipts", headers=HTML))) == 3
    assert codes(await client.get("/admin/receipts?code=261122-0002", headers=HTML)) == ["000.00.01.H98-261122-0002"]
    assert codes(await client.get("/admin/receipts?code=h98-261122-000", headers=HTML)) != []  # case-insensitive
    assert sorted(codes(await client.get(f"/admin/receipts?unit={a.id}", headers=HTML))) == ["000.00.01.H98-261122-0001", "000.00.01.H98-261122-0002"]
    today = date.today()
    assert len(codes(await client.get(f"/admin/receipts?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}", headers=HTML))) == 3
    assert codes(await client.get(f"/admin/receipts?from={today + timedelta(days=2)}", headers=HTML)) == []
    bad = await client.get("/admin/receipts?from=22-11-2026", headers=HTML)
    assert bad.status_code == 400 and "Từ ngày không phải ngày hợp lệ" in bad.text
    paged = await client.get(f"/admin/receipts?unit={a.id}&code=H98", headers=HTML)
    assert paged.status_code == 200


async def test_item13_api_client_units_in_vietnamese_order_with_the_province(client, db):
    province = await make_unit(db, "000.00.00.H98", "Tỉnh Thử Nghiệm", "province")
    for code, name, kind in (("A1", "Đặc khu Hòn Ngọc", "special_zone"), ("A2", "Xã Tân Phú", "commune"), ("A3", "Sở Y tế", "department"),
                             ("A4", "Phường Hòa Bình", "ward"), ("A5", "Sở Công Thương", "department"), ("A6", "Dương Kinh", "ward")):
        await make_unit(db, code, name, kind, province.id)
    await _admin(client, db)
    html = (await client.get("/admin/api-clients", headers=HTML)).text
    names = re.findall(r'<option value="\d+" lang="vi">([^<(]+) \(', html)
    assert "Tỉnh Thử Nghiệm" in names
    assert names == sorted(names, key=vi_sort_key) and names.index("Dương Kinh") < names.index("Đặc khu Hòn Ngọc") < names.index("Phường Hòa Bình")
    assert "Tỉnh Thử Nghiệm (Tỉnh, thành phố)" in html


def test_item13_vietnamese_alphabetical_order():
    words = ["Ủy ban", "Đặc khu", "Dương", "Uông", "ăn", "an", "ân", "Bắc", "Ba"]
    assert sorted(words, key=vi_sort_key) == ["an", "ăn", "ân", "Ba", "Bắc", "Dương", "Đặc khu", "Uông", "Ủy ban"]


# --------------------------------------------------------------------------- 14: the demo's kiosk fleet


async def test_item14_demo_seeds_the_kiosk_devices_and_ratings_to_review(client, db, settings):
    from kiosk.models import KioskDevice
    from survey.demo import seed

    await seed(db, settings)
    devices = await db.scalar(select(func.count()).select_from(KioskDevice))
    kiosk = await db.scalar(select(func.count()).select_from(Response).where(Response.channel == "kiosk"))
    orphans = await db.scalar(select(func.count()).select_from(Response).where(Response.channel == "kiosk", Response.device_id.is_(None)))
    pending = await db.scalar(select(func.count()).select_from(Response).where(Response.channel == "kiosk", Response.review_status == "pending"))
    assert devices >= 13 and kiosk > 100 and orphans == 0 and 5 <= pending < kiosk / 10
    burst = await db.scalar(select(func.count()).select_from(Response).where(func.cast(Response.integrity_flags, __import__("sqlalchemy").String).like("%burst%")))
    assert burst >= 5
    await _admin(client, db, "admin", "noivu2")
    fleet = await client.get("/admin/kiosk/", headers=HTML)
    assert "Chưa có thiết bị nào" not in fleet.text and fleet.text.count("<tr data-device=") == devices
    review = await client.get("/admin/kiosk/review", headers=HTML)
    assert review.text.count("<tr data-response=") == pending and "Dồn dập" in review.text


# --------------------------------------------------------------------------- 15: declining, the counter's words


async def test_item15_decline_ends_politely_and_stores_nothing(client, db, settings):
    token = await _token(db, settings)
    consent = await client.get(f"/r/{token}", headers=HTML)
    assert f'action="/r/{token}/khong-tham-gia"' in consent.text and "Không tham gia" in consent.text
    responses = await db.scalar(select(func.count()).select_from(Response))
    audits = await db.scalar(select(func.count()).select_from(AuditLog))
    bye = await client.get(f"/r/{token}/khong-tham-gia?lang=vi", headers=HTML)
    assert bye.status_code == 200 and "Cảm ơn Ông/Bà" in bye.text and "Không có thông tin nào được ghi lại" in bye.text
    assert "set-cookie" not in {k.lower() for k in bye.headers}
    assert await db.scalar(select(func.count()).select_from(Response)) == responses
    assert await db.scalar(select(func.count()).select_from(AuditLog)) == audits
    again = await client.get(f"/r/{token}?start=1", headers=HTML)
    assert again.status_code == 200 and "Gửi ý kiến" in again.text  # changing one's mind still works
    assert (await client.get("/r/KHONGHOPLE/khong-tham-gia", headers=HTML)).status_code == 404


async def test_item15_comment_counter_says_what_is_left(client, db, settings):
    token = await _token(db, settings)
    form = await client.get(f"/r/{token}?start=1", headers=HTML)
    assert 'data-count="còn {n} ký tự"' in form.text
    en = await client.get(f"/r/{token}?start=1&lang=en", headers=HTML)
    assert 'data-count="{n} characters left"' in en.text
    js = (await client.get("/static/citizen.js")).text
    assert '" / "' not in js and "data-count" in js


# --------------------------------------------------------------------------- 16: enrolment form


async def test_item16_empty_enrolment_form_flags_every_missing_field(client, db):
    await make_unit(db)
    await _admin(client, db)
    csrf = await _csrf(client, "/admin/kiosk/codes")
    r = await client.post("/admin/kiosk/codes", data={"_csrf_token": csrf, "name": "", "counter": "", "exit_pin": "", "idle_seconds": "", "unit_id": ""}, headers=HTML)
    assert r.status_code == 400
    summary = re.search(r'<div class="error-summary".*?</div>', r.text, re.S).group(0)
    for field in ("name", "counter", "exit_pin", "unit_id"):
        assert f'href="#{field}"' in summary, field
    assert r.text.count('class="form-group has-error"') == 4
    en = await client.post("/admin/kiosk/codes?lang=en", data={"_csrf_token": csrf, "name": "", "counter": "", "exit_pin": "", "unit_id": ""}, headers=HTML)
    assert "Enter a device name" in en.text and "Vui lòng nhập tên thiết bị" not in en.text


# --------------------------------------------------------------------------- 17: compression, inline CSS


async def test_item17_pages_are_compressed_with_their_css_inline(client, db, settings):
    token = await _token(db, settings)
    for path in (f"/r/{token}", f"/r/{token}?start=1"):
        r = await client.get(path, headers={**HTML, "accept-encoding": "br, gzip"})
        assert r.headers["content-encoding"] in ("br", "gzip")
        assert "<style" in r.text and 'rel="stylesheet"' not in r.text
        assert int(r.headers.get("content-length", "0") or 0) <= 14 * 1024
    plain = await client.get(f"/r/{token}?start=1", headers={**HTML, "accept-encoding": "gzip"})
    assert plain.headers["content-encoding"] == "gzip"


# --------------------------------------------------------------------------- 3: the read-only pages say so


async def test_item3_units_and_procedures_pages_say_they_are_read_only(client, db):
    await _admin(client, db, "viewer", "xem")
    for path, command in (("/admin/units", "hailong import-units"), ("/admin/procedures", "hailong import-procedures")):
        html = (await client.get(path + "?lang=vi", headers=HTML)).text
        assert 'id="read-only"' in html and "chỉ để xem" in html and f"<code>{command}</code>" in html
        assert "<form" not in html.split("</header>", 1)[1]  # no edit forms on these pages
        en = (await client.get(path + "?lang=en", headers=HTML)).text
        assert "This page is read-only" in en
