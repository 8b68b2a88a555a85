"""The citizen mobile survey opened from a receipt's QR code: consent → form → PRG → thank-you, over HTTP."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urljoin

import pytest
from sqlalchemy import func, select

from survey.db.models import Response
from survey.questionnaires import registry
from survey.receipts.tokens import mint
from tests.conftest import make_procedure, make_receipt, make_unit

HTML = {"accept": "text/html,application/xhtml+xml"}
SHORT = registry.get("sipas-short")
ITEMS = [i.id for i in SHORT.items]


def token_for(settings, receipt_id: int, expires_on: date | None = None) -> str:
    kid, keys = settings.signing_keys()
    return mint("receipt", receipt_id, expires_on or date.today() + timedelta(days=30), kid, keys)


async def count_responses(db) -> int:
    db.expire_all()
    return await db.scalar(select(func.count()).select_from(Response))


@pytest.fixture
async def receipt(db):
    unit = await make_unit(db)
    proc = await make_procedure(db)
    return await make_receipt(db, unit, proc)


async def open_form(client, token: str, lang: str | None = None) -> tuple[str, str]:
    """GET the form page (after consent) and return (html, csrf token)."""
    q = "?start=1" + (f"&lang={lang}" if lang else "")
    r = await client.get(f"/r/{token}{q}", headers=HTML)
    assert r.status_code == 200, r.text
    m = re.search(r'name="_csrf_token" value="([^"]+)"', r.text)
    assert m, "form has no CSRF field"
    return r.text, m.group(1)


def full_answers(value: str = "4") -> dict:
    data = {f"answers.{i}": value for i in ITEMS}
    data["overall"] = "5"
    return data


async def test_consent_form_submit_thanks(client, db, settings, receipt):
    token = token_for(settings, receipt.id)
    consent = await client.get(f"/R/{token.lower()}", headers=HTML)
    assert consent.status_code == 200
    assert "13/2023/NĐ-CP" in consent.text and "Bắt đầu" in consent.text
    assert "họ tên" in consent.text  # the anonymity promise
    assert 'name="start"' in consent.text and "<form" in consent.text  # the consent step works without JS
    assert consent.headers["referrer-policy"] == "no-referrer"

    html, csrf = await open_form(client, token)
    for item in SHORT.items:
        assert item.label.vi in html
        assert f'id="answers.{item.id}"' in html and f'name="answers.{item.id}"' in html
    assert html.count('type="radio"') == len(ITEMS) * 6 + 5  # 5 levels + "no opinion" per item; overall 5
    assert "Không ý kiến / không áp dụng" in html and "Rất không hài lòng" in html
    assert html.count('type="checkbox"') == len(SHORT.expectations.options)
    assert 'maxlength="1000"' in html

    data = {"_csrf_token": csrf, **full_answers(), "answers.feedback": "0", "expectations": ["fees", "time"], "comment": "  Nhanh gọn  "}
    r = await client.post(f"/r/{token}", data=data, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    thanks_url = r.headers["location"]
    assert thanks_url.startswith(f"/r/{token}/cam-on")
    t = await client.get(urljoin("http://testserver.local", thanks_url), headers=HTML)
    assert t.status_code == 200 and "Cảm ơn Ông/Bà" in t.text

    rows = (await db.scalars(select(Response))).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.questionnaire_id, row.questionnaire_version) == (SHORT.id, SHORT.version)
    assert row.channel == "qr"
    assert row.receipt_id == receipt.id and row.unit_id == receipt.unit_id and row.procedure_id == receipt.procedure_id
    assert row.answers == {**{i: 4 for i in ITEMS}, "feedback": 0}
    assert row.overall == 5 and row.expectations == ["fees", "time"] and row.comment == "Nhanh gọn"
    assert row.language == "vi"


async def test_thanks_page_before_answering_goes_back_to_the_form(client, settings, receipt):
    token = token_for(settings, receipt.id)
    r = await client.get(f"/r/{token}/cam-on", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/r/{token}"


async def test_missing_answers_show_error_summary_and_store_nothing(client, db, settings, receipt):
    token = token_for(settings, receipt.id)
    _, csrf = await open_form(client, token)
    data = {"_csrf_token": csrf, **full_answers()}
    del data["answers.officer"]
    data["expectations"] = ["fees"]
    data["comment"] = "giữ lại"
    r = await client.post(f"/r/{token}", data=data, headers=HTML, follow_redirects=False)
    assert r.status_code == 400
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', r.text, re.S)
    assert summary, "no error summary"
    assert 'href="#answers.officer"' in summary.group(0)
    assert "answers.access" not in summary.group(0)
    officer = next(i for i in SHORT.items if i.id == "officer")
    assert officer.label.vi in summary.group(0)
    assert 'id="answers.officer-error"' in r.text  # inline error next to the field
    # the citizen's answers are kept
    assert re.search(r'id="answers.access-4" name="answers.access" value="4" checked', r.text)
    assert re.search(r'id="expectations-fees" name="expectations" value="fees" checked', r.text)
    assert ">giữ lại</textarea>" in r.text
    assert await count_responses(db) == 0


@pytest.mark.parametrize("bad", ["6", "-1", "x"])
async def test_out_of_range_answer_is_refused(client, db, settings, receipt, bad):
    token = token_for(settings, receipt.id)
    _, csrf = await open_form(client, token)
    data = {"_csrf_token": csrf, **full_answers(), "answers.result": bad}
    r = await client.post(f"/r/{token}", data=data, headers=HTML, follow_redirects=False)
    assert r.status_code == 400
    assert 'href="#answers.result"' in r.text
    assert await count_responses(db) == 0


async def test_overall_out_of_range_and_too_many_expectations(client, db, settings, receipt):
    token = token_for(settings, receipt.id)
    _, csrf = await open_form(client, token)
    data = {"_csrf_token": csrf, **full_answers(), "overall": "0", "expectations": ["fees", "time", "online", "simplify"]}
    r = await client.post(f"/r/{token}", data=data, headers=HTML, follow_redirects=False)
    assert r.status_code == 400
    assert 'href="#overall"' in r.text and 'href="#expectations"' in r.text
    assert await count_responses(db) == 0


async def test_huge_comment_is_refused_clearly(client, db, settings, receipt):
    token = token_for(settings, receipt.id)
    _, csrf = await open_form(client, token)
    data = {"_csrf_token": csrf, **full_answers(), "comment": "a" * 100_000}
    r = await client.post(f"/r/{token}", data=data, headers=HTML, follow_redirects=False)
    assert r.status_code == 413
    assert "quá lớn" in r.text
    # just over the comment limit but under the body limit: a field error on the comment
    data["comment"] = "ô" * (settings.comment_max_chars + 1)
    r = await client.post(f"/r/{token}", data=data, headers=HTML, follow_redirects=False)
    assert r.status_code == 400 and 'href="#comment"' in r.text
    assert await count_responses(db) == 0


async def test_second_submission_is_refused(client, db, settings, receipt):
    token = token_for(settings, receipt.id)
    _, csrf = await open_form(client, token)
    data = {"_csrf_token": csrf, **full_answers()}
    first = await client.post(f"/r/{token}", data=data, headers=HTML, follow_redirects=False)
    assert first.status_code == 303
    again = await client.post(f"/r/{token}", data={**data, "overall": "1"}, headers=HTML, follow_redirects=False)
    assert again.status_code == 409 and "đã được trả lời" in again.text
    reopened = await client.get(f"/r/{token}", headers=HTML)
    assert reopened.status_code == 409 and "đã được trả lời" in reopened.text
    assert 'type="radio"' not in reopened.text
    assert await count_responses(db) == 1
    assert (await db.scalar(select(Response.overall))) == 5


async def test_post_without_csrf_token_is_refused(client, db, settings, receipt):
    token = token_for(settings, receipt.id)
    await open_form(client, token)
    r = await client.post(f"/r/{token}", data=full_answers(), headers=HTML, follow_redirects=False)
    assert r.status_code == 403
    assert await count_responses(db) == 0


async def test_forged_token_is_a_404_page(client, settings, receipt):
    token = token_for(settings, receipt.id)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for url in (f"/r/{forged}", f"/r/{forged}?start=1", "/r/not-a-token", f"/r/{forged}/cam-on"):
        r = await client.get(url, headers=HTML)
        assert r.status_code == 404, url
        assert "Không tìm thấy phiếu khảo sát" in r.text
    kid, keys = settings.signing_keys()
    nobody = mint("receipt", receipt.id + 999, date.today() + timedelta(days=5), kid, keys)  # valid MAC, no receipt
    r = await client.get(f"/r/{nobody}", headers=HTML)
    assert r.status_code == 404
    r = await client.post(f"/r/{forged}", data=full_answers(), headers=HTML)
    assert r.status_code in (403, 404)  # CSRF first, or the 404 page


async def test_expired_token_is_a_410_page(client, db, settings, receipt):
    token = token_for(settings, receipt.id, expires_on=date.today() - timedelta(days=2))
    r = await client.get(f"/r/{token}", headers=HTML)
    assert r.status_code == 410
    assert "Liên kết khảo sát đã hết hạn" in r.text
    r = await client.get(f"/r/{token}?lang=en", headers=HTML)
    assert r.status_code == 410 and "This survey link has expired" in r.text


async def test_english_page_has_english_labels(client, settings, receipt):
    token = token_for(settings, receipt.id)
    consent = await client.get(f"/r/{token}?lang=en", headers=HTML)
    assert consent.status_code == 200 and "Personal data notice" in consent.text and ">Start<" in consent.text
    assert '<html lang="en">' in consent.text
    html, csrf = await open_form(client, token, lang="en")
    for item in SHORT.items:
        assert item.label.en in html and item.label.vi not in html
    assert "Very dissatisfied" in html and "No opinion / not applicable" in html
    assert SHORT.overall.label.en in html
    assert "Rất hài lòng" not in html
    # the language is remembered for the submission
    r = await client.post(f"/r/{token}?lang=en", data={"_csrf_token": csrf, **full_answers()}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    t = await client.get(urljoin("http://testserver.local", r.headers["location"]), headers=HTML)
    assert "Thank you!" in t.text


async def test_english_errors_are_in_english(client, settings, receipt):
    token = token_for(settings, receipt.id)
    _, csrf = await open_form(client, token, lang="en")
    data = {"_csrf_token": csrf, **full_answers()}
    del data["overall"]
    r = await client.post(f"/r/{token}?lang=en", data=data, headers=HTML)
    assert r.status_code == 400 and "There is a problem" in r.text and "Say how satisfied you are overall." in r.text


async def test_vietnamese_page_has_diacritics(client, settings, receipt):
    token = token_for(settings, receipt.id)
    html, _ = await open_form(client, token)
    assert '<html lang="vi">' in html
    for text in ("Rất không hài lòng", "Bình thường", "Không ý kiến / không áp dụng", "Gửi ý kiến", "Nhìn chung, Ông/Bà hài lòng"):
        assert text in html


async def test_page_weight_and_no_third_party_requests(client, settings, receipt):
    token = token_for(settings, receipt.id)
    html, _ = await open_form(client, token)
    assets = re.findall(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"', html)
    # the CSS is inlined (one round trip for the first screen, issue 14 item 17): no stylesheet request
    assert "<style" in html and ".choice" in html and not any(a.endswith(".css") for a in assets)
    total = len(html.encode())
    for asset in assets:
        assert asset.startswith("/"), f"third-party asset {asset}"
        r = await client.get(asset)
        assert r.status_code == 200, asset
        total += len(r.content)
    assert total <= 30 * 1024, f"survey page weighs {total} bytes"
    # no absolute URL to anywhere (no CDN, no web fonts, no trackers)
    assert not re.search(r"https?://", html)
    for asset in assets:
        body = (await client.get(asset)).text
        assert not re.search(r"https?://|@import|@font-face", body), asset


async def test_token_not_leaked_in_links(client, settings, receipt):
    """The only place the token appears is the form's own action: no off-site link can carry it away."""
    token = token_for(settings, receipt.id)
    html, _ = await open_form(client, token)
    assert '<meta name="referrer" content="no-referrer">' in html
    hrefs = re.findall(r'(?:href|src|action)="([^"]*)"', html)
    assert all(h.startswith(("/", "#", "?")) for h in hrefs), hrefs
