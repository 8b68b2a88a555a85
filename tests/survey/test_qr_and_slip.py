"""QR codes decode back to the upper-case survey link, stay small, and the printable slip shows them."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import qrcode.util
from PIL import Image

from survey.receipts import qr, services
from tests.conftest import make_procedure, make_unit

pyzbar = pytest.importorskip("pyzbar.pyzbar")


@pytest.fixture
async def registered(db, settings):
    await make_unit(db, code="P.HALONG", name="Phường Hạ Long", kind="ward")
    await make_procedure(db)
    at = datetime.now(UTC) - timedelta(hours=2)
    item = services.ReceiptInput(
        dossier_code=f"000.00.12.H47-{services.local_day(settings, at):%y%m%d}-0007",
        unit_code="P.HALONG",
        procedure_code="1.001234",
        received_at=at,
        appointment_date=(datetime.now(UTC) + timedelta(days=5)).date(),
    )
    return await services.register_receipt(db, item, None, settings)


def decode_png(data: bytes) -> list[str]:
    return [s.data.decode("ascii") for s in pyzbar.decode(Image.open(io.BytesIO(data)))]


async def test_png_decodes_to_upper_case_survey_url(client, registered):
    r = await client.get(f"/qr/{registered.token}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert "max-age" in r.headers["cache-control"]
    assert decode_png(r.content) == [registered.survey_url]
    assert registered.survey_url == registered.survey_url.upper()
    assert registered.survey_url.endswith("/R/" + registered.token)


def test_demo_url_uses_alphanumeric_mode_and_a_small_version(settings):
    demo = replace(settings, public_url="http://127.0.0.1:8000")
    token = services.receipt_token(demo, 123456, datetime(2027, 1, 21).date())
    url = services.survey_url(demo, token)
    assert url.startswith("HTTP://127.0.0.1:8000/R/")
    code = qr.build(url)
    assert code.data_list[0].mode == qrcode.util.MODE_ALPHA_NUM
    assert code.version <= 4
    assert code.error_correction == qrcode.constants.ERROR_CORRECT_M
    # the lower-case form would need byte mode and a bigger symbol: that is why the link is upper case
    assert qr.build(url.lower()).version > code.version
    assert decode_png(qr.png(url)) == [url]
    # a production host name also stays small
    prod = replace(settings, public_url="https://hailong.quangninh.gov.vn")
    assert qr.version(services.survey_url(prod, token)) <= 4


async def test_svg_is_valid_xml_and_lowercase_token_works(client, registered):
    r = await client.get(f"/qr/{registered.token.lower()}.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.content)
    assert root.tag.endswith("svg")
    assert any(el.tag.endswith("path") and el.get("d") for el in root.iter())


@pytest.mark.parametrize("suffix", [".svg", ".png"])
async def test_forged_and_malformed_tokens_are_404(client, registered, suffix):
    forged = registered.token[:-2] + ("AA" if registered.token[-2:] != "AA" else "BB")
    for name in (forged + suffix, "nope" + suffix, registered.token + ".gif"):
        r = await client.get(f"/qr/{name}")
        assert r.status_code == 404, name


async def test_expired_token_is_410_for_qr_and_slip(client, settings):
    token = services.receipt_token(settings, 5, (datetime.now(UTC) - timedelta(days=3)).date())
    assert (await client.get(f"/qr/{token}.png")).status_code == 410
    r = await client.get(f"/slip/{token}", headers={"accept": "text/html"})
    assert r.status_code == 410 and "hết hạn" in r.text


async def test_slip_page_shows_qr_code_and_invitation(client, registered):
    r = await client.get(f"/slip/{registered.token}", headers={"accept": "text/html"})
    assert r.status_code == 200
    html = r.text
    assert "Quét mã QR để đánh giá sự hài lòng của Ông/Bà" in html
    assert "không thu thập thông tin cá nhân" in html
    assert registered.dossier_code in html and "Phường Hạ Long" in html
    assert registered.appointment_date.strftime("%d/%m/%Y") in html
    assert "<svg" in html and 'id="qr-path"' in html
    assert registered.survey_url in html


@pytest.mark.parametrize("size, page_rule", [("58", "58mm"), ("80", "80mm"), ("a5", "A5"), ("A5", "A5")])
async def test_slip_sizes(client, registered, size, page_rule):
    r = await client.get(f"/slip/{registered.token}?size={size}", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert f"size: {page_rule}" in r.text
    assert f'data-size="{size.lower()}"' in r.text


async def test_slip_bad_size_forged_and_unknown_receipt(client, registered, settings):
    r = await client.get(f"/slip/{registered.token}?size=99")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "size"
    assert (await client.get("/slip/AAAA", headers={"accept": "text/html"})).status_code == 404
    # a correctly signed token for a receipt that does not exist: 404, not 500
    ghost = services.receipt_token(settings, 999_999, registered.expires_on)
    assert (await client.get(f"/slip/{ghost}")).status_code == 404
