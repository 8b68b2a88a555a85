"""The expert survey end to end over HTTP: who rates whom, /e/<token> pages, one submission, refusals."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from survey.db.models import AuditLog, ExpertAssignment, ExpertRating, ExpertSubmission
from survey.experts import services as ex
from survey.par import methodology as meth
from survey.receipts.tokens import mint
from tests.conftest import make_unit
from tests.survey.test_admin_pages import signed_in

HTML = {"accept": "text/html"}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
DEPT = meth.get("par-department-2025-v1")
SURVEY = DEPT.criteria_of("expert_survey")


async def world(db, settings):
    """Three departments; a director of STP and a People's Council delegate, both invited."""
    units = {c: await make_unit(db, code=c, name=n, kind="department") for c, n in (("STP", "Sở Tư pháp"), ("SXD", "Sở Xây dựng"), ("STC", "Sở Tài chính"))}
    pid = await ex.create_panel(db, year=2025, name="Điều tra XHH 2025", methodology_ids=[DEPT.id], expires_on=date.today() + timedelta(days=20), actor="test")
    csv = "group,name,title,unit,contact\nlanh_dao_so,Nguyễn Văn A,Giám đốc,STP,a@example.vn\nhdnd,Trần Thị B,Bà,,0900000000\n"
    await ex.import_members(db, pid, csv.encode(), "test")
    await ex.generate_matrix(db, pid, "test")
    await ex.create_invitations(db, pid, "test")
    invs = {i["name"]: i for i in await ex.invitation_list(db, pid, settings)}
    return pid, units, invs


def answers(v: int = 8) -> dict[str, str]:
    return {f"c-{c.id}": str(v) for c in SURVEY}


async def csrf(client, path: str) -> str:
    r = await client.get(path, headers=HTML)
    assert r.status_code == 200, r.text
    m = CSRF_RE.search(r.text)
    assert m, path
    return m.group(1)


async def test_matrix_never_assigns_ones_own_unit_and_refuses_it(db, settings):
    pid, units, invs = await world(db, settings)
    m = await ex.matrix(db, pid)
    director = next(r for r in m["members"] if r["unit_code"] == "STP")
    cells = {c["unit_code"]: c for c in director["cells"]}
    assert cells["STP"]["own"] and not cells["STP"]["rates"]
    assert cells["SXD"]["rates"] and cells["STC"]["rates"]
    delegate = next(r for r in m["members"] if r["group"] == "hdnd")
    assert all(c["rates"] for c in delegate["cells"])
    with pytest.raises(ex.SelfRatingRefused):
        await ex.set_assignment(db, director["id"], "STP", rate=True, actor="test")
    # the database refuses it too
    db.add(ExpertAssignment(member_id=director["id"], unit_id=units["STP"].id, member_unit_id=units["STP"].id))
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()
    # editing the matrix: remove then add back another unit
    await ex.set_assignment(db, director["id"], "STC", rate=False, actor="test")
    assert not {c["unit_code"]: c for c in next(r for r in (await ex.matrix(db, pid))["members"] if r["id"] == director["id"])["cells"]}["STC"]["rates"]
    await ex.set_assignment(db, director["id"], "STC", rate=True, actor="test")
    assert await db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "experts.assignment")) == 2


async def test_survey_page_walks_units_saves_resumes_and_submits_once(client, db, settings):
    _pid, _units, invs = await world(db, settings)
    token = invs["Nguyễn Văn A"]["token"]
    r = await client.get(f"/e/{token}", headers=HTML)
    assert r.status_code == 200 and r.headers["referrer-policy"] == "no-referrer"
    assert "Sở Xây dựng" in r.text and "Sở Tài chính" in r.text and "Sở Tư pháp" not in r.text  # never one's own unit
    assert "Đã đánh giá 0/2 đơn vị" in r.text
    # own unit by URL: refused
    r = await client.get(f"/e/{token}/u/STP", headers=HTML)
    assert r.status_code == 403 and "không đánh giá đơn vị của chính mình" in r.text
    token_csrf = await csrf(client, f"/e/{token}/u/STC")
    r = await client.post(f"/e/{token}/u/STP", data={"_csrf_token": token_csrf, **answers()}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    # a missing answer: 400 with an error summary linking to the question, kept answers
    data = {"_csrf_token": token_csrf, **answers(7)}
    first = f"c-{SURVEY[0].id}"
    del data[first]
    r = await client.post(f"/e/{token}/u/STC", data=data, headers=HTML, follow_redirects=False)
    assert r.status_code == 400 and 'class="error-summary"' in r.text and f'href="#{first}"' in r.text
    assert f'id="c-{SURVEY[1].id}-7" name="c-{SURVEY[1].id}" value="7" checked' in r.text
    # a value off the scale
    r = await client.post(f"/e/{token}/u/STC", data={**data, first: "11"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 400 and "không có trong thang điểm" in r.text
    # save STC (PRG to the next unrated unit), then resume later
    r = await client.post(f"/e/{token}/u/STC", data={**data, first: "0"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/e/{token}/u/SXD")
    r = await client.get(f"/e/{token}", headers=HTML)
    assert "Đã đánh giá 1/2 đơn vị" in r.text and 'id="continue"' in r.text
    # submitting too early names the missing unit
    r = await client.post(f"/e/{token}/gui", data={"_csrf_token": token_csrf}, headers=HTML, follow_redirects=False)
    assert r.status_code == 400 and 'href="#u-SXD"' in r.text
    r = await client.post(f"/e/{token}/u/SXD", data={"_csrf_token": token_csrf, **answers(9), "then": "overview"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/e/{token}?lang=vi"
    r = await client.get(f"/e/{token}", headers=HTML)
    assert 'id="submit"' in r.text
    r = await client.post(f"/e/{token}/gui", data={"_csrf_token": token_csrf}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/e/{token}/cam-on")
    r = await client.get(r.headers["location"], headers=HTML)
    assert r.status_code == 200 and "đã được gửi" in r.text
    # reused: the link now refuses every page and a second submission
    assert (await client.get(f"/e/{token}", headers=HTML)).status_code == 409
    assert (await client.post(f"/e/{token}/gui", data={"_csrf_token": token_csrf}, headers=HTML)).status_code == 409
    assert (await client.post(f"/e/{token}/u/SXD", data={"_csrf_token": token_csrf, **answers(1)}, headers=HTML)).status_code == 409
    assert await db.scalar(select(func.count()).select_from(ExpertSubmission)) == 1
    ratings = dict((await db.execute(select(ExpertRating.criterion_id, ExpertRating.value).where(ExpertRating.criterion_id == SURVEY[0].id))).all())
    assert sorted(ratings.values()) in ([0, 9], [9, 0]) or set(ratings.values()) <= {0, 9}
    # the aggregate leaves out "not enough information" (0)
    agg = await ex.aggregate(db, [_pid], DEPT)
    stc = await db.scalar(select(ExpertRating.unit_id).where(ExpertRating.value == 0).limit(1))
    assert (stc, SURVEY[0].id) not in agg
    assert agg[(stc, SURVEY[1].id)].mean == pytest.approx(0.7) and agg[(stc, SURVEY[1].id)].n_raters == 1


async def test_forged_other_purpose_expired_and_unknown_tokens_are_refused(client, db, settings):
    _pid, _units, invs = await world(db, settings)
    inv = invs["Trần Thị B"]
    kid, keys = settings.signing_keys()
    forged = inv["token"][:-4] + ("AAAA" if not inv["token"].endswith("AAAA") else "BBBB")
    receipt_token = mint("receipt", inv["id"], date.today() + timedelta(days=20), kid, keys)
    campaign_token = mint("campaign", inv["id"], date.today() + timedelta(days=20), kid, keys)
    unknown = mint("expert", 999999, date.today() + timedelta(days=20), kid, keys)
    other_expiry = mint("expert", inv["id"], date.today() + timedelta(days=5), kid, keys)
    expired = mint("expert", inv["id"], date.today() - timedelta(days=1), kid, keys)
    for t in (forged, receipt_token, campaign_token, unknown, other_expiry, "not-a-token"):
        r = await client.get(f"/e/{t}", headers=HTML)
        assert r.status_code == 404, t
        assert "Không tìm thấy phiếu điều tra" in r.text
    assert (await client.get(f"/e/{expired}", headers=HTML)).status_code == 410
    # upper-case /E/ (QR alphanumeric mode) answers the same, and the token is case-insensitive
    assert (await client.get(f"/E/{inv['token'].lower()}", headers=HTML)).status_code == 200
    assert inv["url"].startswith("HTTP://TESTSERVER.LOCAL/E/")


async def test_english_through_the_catalogue(client, db, settings):
    _pid, _units, invs = await world(db, settings)
    token = invs["Trần Thị B"]["token"]
    r = await client.get(f"/e/{token}?lang=en", headers=HTML)
    assert r.status_code == 200 and 'lang="en"' in r.text and "Sociological survey" in r.text
    r = await client.get(f"/e/{token}/u/SXD?lang=en", headers=HTML)
    assert SURVEY[0].question.en in r.text and "Not enough information to judge" in r.text


async def test_admin_pages_panel_letter_reminders(client, db, settings):
    pid, _units, invs = await world(db, settings)
    await signed_in(client, db, "statistician", "thongke")
    r = await client.get("/admin/experts", headers=HTML)
    assert r.status_code == 200 and "Điều tra XHH 2025" in r.text
    r = await client.get(f"/admin/experts/{pid}", headers=HTML)
    assert r.status_code == 200 and 'id="matrix-table"' in r.text and "Đại biểu HĐND tỉnh" in r.text
    assert invs["Trần Thị B"]["url"] in r.text and "Kính gửi Bà Trần Thị B" in r.text
    r = await client.get(f"/admin/experts/letters/{invs['Trần Thị B']['id']}", headers=HTML)
    assert r.status_code == 200 and "<svg" in r.text and invs["Trần Thị B"]["url"] in r.text
    r = await client.get(f"/admin/experts/{pid}/reminders.csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert r.status_code == 200 and len(rows) == 3 and rows[1][1] == "Trần Thị B" and rows[2][1] == "Nguyễn Văn A"
    token = await csrf(client, f"/admin/experts/{pid}")
    r = await client.post(f"/admin/experts/{pid}/remind", data={"_csrf_token": token}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert all(i["reminders"] == 1 for i in await ex.invitation_list(db, pid, settings))
    # a bad members CSV: the line and reason, nothing written
    files = {"file": ("m.csv", b"group,name,title,unit,contact\nhdnd,Le C,,,\nlanh_dao_xa,Pham D,,STP,\n", "text/csv")}
    r = await client.post(f"/admin/experts/{pid}/members", data={"_csrf_token": token}, files=files, headers=HTML)
    assert r.status_code == 400 and "line 3: unit: STP is a department" in r.text
    assert len(await ex.invitation_list(db, pid, settings)) == 2
    # a self-rating through the matrix editor: refused with a message
    director = next(r for r in (await ex.matrix(db, pid))["members"] if r["unit_code"] == "STP")
    r = await client.post(f"/admin/experts/{pid}/assignment", data={"_csrf_token": token, "member_id": director["id"], "unit": "STP", "rate": "1"}, headers=HTML)
    assert r.status_code == 400 and "Không được tự đánh giá" in r.text
    # what does not exist is a 404 that names it, on every admin route of the panel
    missing = pid + 1000
    for method, path, data, what in [
        ("get", f"/admin/experts/{missing}", None, "đợt điều tra"),
        ("get", f"/admin/experts/{missing}/reminders.csv", None, "đợt điều tra"),
        ("post", f"/admin/experts/{missing}/matrix", {"_csrf_token": token}, "đợt điều tra"),
        ("post", f"/admin/experts/{missing}/invitations", {"_csrf_token": token}, "đợt điều tra"),
        ("post", f"/admin/experts/{missing}/remind", {"_csrf_token": token}, "đợt điều tra"),
        ("post", f"/admin/experts/{missing}/members", {"_csrf_token": token, "csv": "group,name,title,unit,contact\n"}, "đợt điều tra"),
        ("post", f"/admin/experts/{pid}/assignment", {"_csrf_token": token, "member_id": "999999", "unit": "STC", "rate": "1"}, "thành viên"),
        ("get", "/admin/experts/letters/999999", None, "thư mời"),
    ]:
        r = await (client.get(path, headers=HTML) if method == "get" else client.post(path, data=data, headers=HTML, follow_redirects=False))
        assert r.status_code == 404, (path, r.status_code)
        assert f"Không tìm thấy {what}" in r.text, path
    # the public must not see the admin pages
    client.cookies.clear()
    r = await client.get(f"/admin/experts/{pid}", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and "/admin/login" in r.headers["location"]


N = 30


async def test_thirty_concurrent_submissions_store_one(live_server, db, settings):
    """Real server, real database (SQLite or PostgreSQL): one submission, the rest 409."""
    _pid, _units, invs = await world(db, live_server.settings)
    inv = invs["Trần Thị B"]
    link = await ex.open_invitation(db, inv["token"], live_server.settings)
    for u in await ex.assigned_units(db, link):
        await ex.save_unit(db, link, u.code, {c.id: 6 for c in SURVEY})
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60, limits=httpx.Limits(max_connections=N)) as client:
        token_csrf = await csrf(client, f"/e/{inv['token']}")

        async def post() -> int:
            r = await client.post(f"/e/{inv['token']}/gui", data={"_csrf_token": token_csrf}, headers=HTML)
            return r.status_code

        statuses = Counter(await asyncio.gather(*(post() for _ in range(N))))
    assert statuses[303] + statuses[200] == 1 and statuses[409] == N - 1, statuses
    db.expire_all()
    assert await db.scalar(select(func.count()).select_from(ExpertSubmission)) == 1
