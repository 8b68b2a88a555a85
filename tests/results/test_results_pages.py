"""The results pages over HTTP: who sees what, and that the numbers are the stored ones."""

from __future__ import annotations

import csv
import io
import re

import pytest

from survey.admin import users
from tests.results.helpers import COMMENTS, UNITS, add_comments, arrange
from tests.survey.test_admin_auth import HTML, PASSWORD, login


async def sign_in(client, db, role: str, username: str, unit_code: str | None = None):
    await users.create_user(db, username, PASSWORD, role, unit_code=unit_code, actor="test")
    r = await login(client, username, PASSWORD)
    assert r.status_code == 303, r.text
    return r


def pct(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + "%"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
async def arranged(db):
    a = await arrange(db)
    await add_comments(db, a.unit_ids["D01"])
    await add_comments(db, a.unit_ids["D04"], texts=["Tôi là Hoàng Văn Nam, gọi 0911222333"])
    return a


async def test_dashboard_shows_league_tables_sorted_with_rank_ranges_and_stored_numbers(client, db, arranged):
    await sign_in(client, db, "admin", "noivu")
    r = await client.get("/admin/ket-qua", headers=HTML)
    assert r.status_code == 200
    html = r.text
    # the headline run is the newest published sample run, not the later draft
    assert f'<option value="{arranged.runs["sample"]}" selected' in html
    body = text_of(html)
    dept = body[body.index("Khối sở, ban, ngành"): body.index("Khối xã, phường, đặc khu")]
    order = [name for _c, name, kind, _n, _p in sorted((u for u in UNITS if u[2] == "department"), key=lambda u: -u[4])]
    positions = [dept.index(name) for name in order]
    assert positions == sorted(positions)  # sorted by the index
    for _code, name, _kind, n, p in UNITS:
        if n >= 30 or p == 1.0:
            assert pct(p) in body, name
    assert "1–4 Sở Y tế" in dept  # 12 of 12: so wide an interval that its rank is a range
    assert "không phân biệt được thứ hạng" in dept
    assert "≈ trung vị" in dept
    assert "± 0" not in body and "±0,0" not in body
    # the three figures, the self-selected one labelled as such, and why they differ
    assert "86,2%" in body and "95,1%" in body and "98,5%" in body
    assert "Không phải mẫu xác suất" in body and "Vì sao ba con số khác nhau" in body
    # the sample behind it
    for fact in ("41,2%", "46,8%", "903", "1,26", "3,10", "41,70"):
        assert fact in body, fact
    # heat map and trend with the change from the last period
    assert 'id="heatmap"' in html and 'id="trend"' in html
    assert "So với kỳ trước" in body and "+4,1 điểm %" in body and "thay đổi có ý nghĩa thống kê" in body
    # the suppressed unit is unranked and says why
    assert "Không công bố (dưới 30 người trả lời)" in body


async def test_league_csv_holds_the_stored_numbers(client, db, arranged):
    await sign_in(client, db, "statistician", "thongke")
    run = arranged.runs["sample"]
    r = await client.get(f"/admin/ket-qua/csv/{run}/xep-hang-department.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    stored = {c: p for c, _n, k, _nn, p in UNITS if k == "department"}
    assert {row["unit_code"] for row in rows} == set(stored)
    for row in rows:
        assert float(row["estimate"]) == pytest.approx(stored[row["unit_code"]], abs=1e-6)
    trend = await client.get(f"/admin/ket-qua/csv/{run}/xu-huong.csv?unit=D01")
    assert trend.status_code == 200 and trend.text.count("\n") == 1 + 4  # province and D01, two periods each
    assert (await client.get(f"/admin/ket-qua/csv/{run}/nope.csv")).status_code == 404


async def test_roles_that_may_not_read_results(client, db, arranged):
    r = await client.get("/admin/ket-qua", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")
    r = await client.get("/admin/ket-qua/don-vi/D01", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    await sign_in(client, db, "viewer", "xem")
    assert (await client.get("/admin/ket-qua", headers=HTML)).status_code == 403
    assert (await client.get("/admin/ket-qua/don-vi/D01", headers=HTML)).status_code == 403


async def test_a_unit_manager_sees_only_their_unit(client, db, arranged):
    r = await sign_in(client, db, "unit_manager", "tuphap", unit_code="D01")
    assert r.headers["location"] == "/admin/ket-qua"  # sent to the results, not to the admin dashboard
    r = await client.get("/admin/ket-qua", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/ket-qua/don-vi/D01"
    own = await client.get("/admin/ket-qua/don-vi/D01", headers=HTML)
    assert own.status_code == 200 and "Sở Tư pháp" in own.text
    for other in ("D02", "W01", "P00"):
        assert (await client.get(f"/admin/ket-qua/don-vi/{other}", headers=HTML)).status_code == 403, other
    assert (await client.get("/admin/ket-qua/don-vi/NOPE", headers=HTML)).status_code == 404
    run = arranged.runs["sample"]
    assert (await client.get(f"/admin/ket-qua/csv/{run}/don-vi/D01/tru-cot.csv")).status_code == 200
    assert (await client.get(f"/admin/ket-qua/csv/{run}/don-vi/D02/tru-cot.csv")).status_code == 403
    assert (await client.get(f"/admin/ket-qua/csv/{run}/xep-hang-department.csv")).status_code == 403
    assert (await client.get(f"/admin/ket-qua/bao-cao/{run}")).status_code == 403
    for page in ("/admin", "/admin/units", "/admin/receipts", "/admin/procedures", "/admin/users", "/admin/audit"):
        assert (await client.get(page, headers=HTML)).status_code == 403, page
    # the nav shows the results link and nothing else
    assert 'href="/admin/ket-qua"' in own.text and 'href="/admin/units"' not in own.text


async def test_the_province_manager_sees_every_unit_below(client, db, arranged):
    await sign_in(client, db, "unit_manager", "tinh", unit_code="P00")
    for code in ("P00", "D02", "W01"):
        assert (await client.get(f"/admin/ket-qua/don-vi/{code}", headers=HTML)).status_code == 200, code


async def test_unit_page_pillars_items_expectations_channels_and_redacted_comments(client, db, arranged):
    await sign_in(client, db, "admin", "noivu")
    r = await client.get("/admin/ket-qua/don-vi/D01", headers=HTML)
    assert r.status_code == 200
    body = text_of(r.text)
    assert "91,0%" in body and "86,2%" in body  # the unit against the province
    assert 'id="pillars"' in r.text and 'id="expectations"' in r.text
    assert "Tiếp cận dịch vụ" in body and "Đẩy mạnh cung cấp dịch vụ công trực tuyến" in body
    assert "QR trên phiếu hẹn" in body  # channel split
    assert "Thủ tục nhanh gọn, cảm ơn." in body
    for secret in ("Nguyễn Văn An", "0912 345 678", "tran.thi.b@example.com", "001203004567"):
        assert secret not in r.text
    assert "[tên đã ẩn]" in body and "[số điện thoại đã ẩn]" in body and "[email đã ẩn]" in body
    assert len(COMMENTS) == body.count("QR trên phiếu hẹn") - 1


async def test_twelve_of_twelve_shows_an_interval_and_hides_comments(client, db, arranged):
    await sign_in(client, db, "admin", "noivu")
    r = await client.get("/admin/ket-qua/don-vi/D04", headers=HTML)
    body = text_of(r.text)
    assert "100,0%" in body and "73,5%–100,0%" in body
    assert "± 0" not in body and "±0,0" not in body
    assert "Ý kiến được ẩn vì đơn vị có ít hơn 30 người trả lời" in body
    assert "Hoàng Văn Nam" not in r.text and "[tên đã ẩn]" not in body


async def test_public_page_shows_only_published_results(client, arranged):
    r = await client.get("/cong-khai", headers=HTML)
    assert r.status_code == 200
    body = text_of(r.text)
    assert "86,2%" in body and "±2,0 điểm %" in body  # province SIPAS with its margin
    assert "Cách đọc sai số" in body and "không phải mẫu xác suất" in body.lower()
    assert "99,0%" not in body  # the draft's province figure never appears
    run = arranged.runs["sample"]
    assert f"/cong-khai/bao-cao/{run}.pdf" in r.text
    assert (await client.get(f"/cong-khai/bao-cao/{run}")).status_code == 200
    assert (await client.get(f"/cong-khai/bao-cao/{arranged.runs['draft']}")).status_code == 404
    assert (await client.get(f"/cong-khai/bao-cao/{arranged.runs['draft']}.pdf")).status_code == 404
    league = await client.get("/cong-khai/csv/xep-hang-commune_level.csv")
    assert league.status_code == 200 and "W01" in league.text
    assert 'href="/admin/ket-qua/don-vi/' not in r.text  # no links into the staff pages
    opendata = await client.get("/cong-khai/du-lieu-mo.csv")
    assert opendata.status_code == 200 and 'href="/cong-khai/du-lieu-mo.csv"' in r.text
    rows = list(csv.DictReader(io.StringIO(opendata.content.decode("utf-8-sig"))))
    assert {row["run_id"] for row in rows} == {str(run)}  # the published sample run only, never the draft
    d01 = next(row for row in rows if row["domain_code"] == "D01" and row["measure"] == "sipas")
    assert float(d01["estimate"]) == pytest.approx(0.91) and float(d01["ci_low"]) < 0.91 < float(d01["ci_high"])


async def test_public_page_without_published_runs(client, db):
    r = await client.get("/cong-khai", headers=HTML)
    assert r.status_code == 200 and "Chưa có kết quả nào được công bố" in r.text
    assert (await client.get("/cong-khai/csv/xep-hang-department.csv")).status_code == 404
    assert (await client.get("/cong-khai/du-lieu-mo.csv")).status_code == 404


async def test_creating_a_unit_manager_needs_a_unit(db, arranged):
    with pytest.raises(users.InvalidUser) as exc:
        await users.create_user(db, "khongdonvi", PASSWORD, "unit_manager", actor="test")
    assert exc.value.field == "unit_code"
    with pytest.raises(users.InvalidUser):
        await users.create_user(db, "sai", PASSWORD, "unit_manager", unit_code="NOPE", actor="test")
    with pytest.raises(users.InvalidUser):
        await users.create_user(db, "thua", PASSWORD, "viewer", unit_code="D01", actor="test")
    u = await users.create_user(db, "dung", PASSWORD, "unit_manager", unit_code="D01", actor="test")
    assert u.unit_id == arranged.unit_ids["D01"]


async def test_the_database_refuses_a_unit_manager_without_a_unit(db):
    from sqlalchemy.exc import IntegrityError

    from survey.db.models import User

    db.add(User(username="x", password_hash="h", role="unit_manager", active=True))
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()


async def test_admin_creates_a_unit_manager_from_the_users_page(client, db, arranged):
    from sqlalchemy import select

    from survey.db.models import User
    from tests.survey.test_admin_auth import post_form

    await sign_in(client, db, "admin", "noivu")
    page = await client.get("/admin/users", headers=HTML)
    assert 'name="unit_code"' in page.text and 'value="unit_manager"' in page.text
    bad = await post_form(client, "/admin/users", {"username": "dv1", "password": PASSWORD, "role": "unit_manager", "unit_code": ""}, "/admin/users")
    assert bad.status_code == 400 and "cần chọn đơn vị" in bad.text
    ok = await post_form(client, "/admin/users", {"username": "dv1", "password": PASSWORD, "role": "unit_manager", "unit_code": "W01"}, "/admin/users")
    assert ok.status_code == 303
    db.expire_all()
    user = await db.scalar(select(User).where(User.username == "dv1"))
    assert user.role == "unit_manager" and user.unit_id == arranged.unit_ids["W01"]


def test_create_user_command_takes_the_unit(monkeypatch, settings):
    from tests.conftest import run_db
    from tests.survey.test_admin_auth import _run_cli

    async def units(session):
        from tests.results.helpers import arrange

        await arrange(session, with_previous=False)

    run_db(settings.database_url, units)
    argv = ["create-user", "hoabinh", "--role", "unit_manager", "--unit", "W01", "--password-stdin"]
    assert _run_cli(monkeypatch, settings, argv, PASSWORD + "\n") == 0
    assert _run_cli(monkeypatch, settings, ["create-user", "x2", "--role", "unit_manager", "--password-stdin"], PASSWORD + "\n") == 2
