"""/metrics: off without a token, refused with a wrong one, and with the right one it reports requests,
latencies, responses stored per channel and kiosk queue lengths, and nothing personal."""

from __future__ import annotations

from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from survey.app import create_app
from survey.questionnaires import registry
from tests.conftest import make_receipt, make_unit
from tests.kiosk.helpers import answer, enrol_device
from tests.survey.test_citizen_survey import token_for

METRICS_TOKEN = "scrape-" + "x" * 32


def full_answers(value: int = 4) -> dict[str, int]:
    return {i.id: value for i in registry.get("sipas-short").items}


@pytest.fixture
async def metrics_client(settings):
    app = create_app(replace(settings, metrics_token=METRICS_TOKEN))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


async def test_metrics_is_off_without_a_token(client):
    r = await client.get("/metrics")
    assert r.status_code == 401


async def test_metrics_refuses_a_missing_or_wrong_token(metrics_client):
    assert (await metrics_client.get("/metrics")).status_code == 401
    r = await metrics_client.get("/metrics", headers={"authorization": "Bearer wrong"})
    assert r.status_code == 401


async def test_metrics_reports_requests_responses_and_kiosk_queues(metrics_client, db, settings):
    unit = await make_unit(db, code="UBND-X", name="UBND xã Thử")
    receipt = await make_receipt(db, unit)
    token = token_for(settings, receipt.id)
    r = await metrics_client.post("/api/v1/responses", json={"token": token, "answers": full_answers(), "overall": 4, "comment": "Chị Lan, 0912345678"})
    assert r.status_code == 201, r.text
    device = await enrol_device(metrics_client, db, settings, unit.id)
    r = await metrics_client.post("/kiosk/api/responses", json=answer(5), headers=device.auth)
    assert r.status_code in (200, 201), r.text
    r = await metrics_client.post("/kiosk/api/heartbeat", json={"app_version": "t1", "queued": 7}, headers=device.auth)
    assert r.status_code == 200, r.text

    r = await metrics_client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert 'hailong_responses_stored_total{channel="qr"} 1.0' in body
    assert 'hailong_responses_stored_total{channel="kiosk"} 1.0' in body
    assert "hailong_receipts_registered_total 1.0" in body
    assert 'hailong_kiosk_queued_responses{unit="UBND-X"} 7.0' in body
    assert 'hailong_kiosk_devices{unit="UBND-X"} 1.0' in body
    assert 'hailong_http_requests_total{method="POST",route="/api/v1/responses",status="201"}' in body
    assert 'hailong_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/responses"}' in body
    # nothing personal: no token, no comment text, no device credential, no unit name
    for secret in (token, token.lower(), "0912345678", "Lan", device.credential, "UBND xã Thử"):
        assert secret not in body
