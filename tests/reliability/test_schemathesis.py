"""schemathesis over /schema: every documented operation, with credentials, against a real server.

Deterministic (hypothesis derandomised, no example database) and bounded (``EXAMPLES`` per operation
and generation mode), so it runs in ``make test``: 0 server errors and 0 responses that the schema
does not declare (status code, content type, headers, body).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import LiveServer, free_port, run_db
from tests.reliability.fixtures import seed, start_patiently

EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
SETTINGS = hsettings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)


@pytest.fixture
def seeded_server(settings):
    port = free_port()
    server = LiveServer(replace(settings, public_url=f"http://127.0.0.1:{port}"), port)
    start_patiently(server)
    try:
        data = run_db(server.settings.database_url, lambda s: seed(s, server.settings))
        yield server, data
    finally:
        server.stop()


def test_every_operation_matches_the_schema(seeded_server):
    server, data = seeded_server
    schema = schemathesis.openapi.from_url(server.url + "/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, [op.label for op in operations]
    failures: list[str] = []
    calls: dict[str, int] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.extend(_explore(server.url, data, operation, mode, calls))
    assert not failures, "\n\n".join(failures)
    # every operation really was exercised, with positive and (nearly everywhere) negative cases
    assert all(calls.get(f"{op.label} positive", 0) >= EXAMPLES // 2 for op in operations), calls
    assert sum(v for k, v in calls.items() if k.endswith("negative")) >= EXAMPLES * (len(operations) - 2), calls


def _explore(base_url: str, data, operation, mode, calls: dict[str, int]) -> list[str]:
    """Run one operation in one generation mode; the last (shrunk) failing case, if any."""
    key = f"{operation.label} {mode.value}"

    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        calls[key] = calls.get(key, 0) + 1
        case.call_and_validate(base_url=base_url, headers=data.headers_for(case.path), checks=CHECKS, timeout=30)

    try:
        run()
    except Unsatisfiable:  # nothing in this operation can be made invalid (e.g. a path of one free string)
        assert mode is GenerationMode.NEGATIVE, operation.label
        return []
    except (AssertionError, FailureGroup) as exc:  # the message holds the failing check and a curl line to reproduce
        return [f"{operation.label} [{mode.value}]: {str(exc)[:2000]}"]
    return []


async def test_schema_declares_what_the_server_checks(client):
    spec = (await client.get("/schema/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/qr/{name}"]["get"]["responses"]["200"]["content"]) == {"image/svg+xml", "image/png"}
    size = next(p for p in paths["/slip/{token}"]["get"]["parameters"] if p["name"] == "size")
    assert size["schema"]["enum"] == ["58", "80", "a5"]
    assert {"404", "410"} <= set(paths["/slip/{token}"]["get"]["responses"])
    assert "401" in paths["/api/v1/receipts/{dossier_code}"]["get"]["responses"]
    assert "429" in paths["/kiosk/api/enrol"]["post"]["responses"]
    for path in ("/kiosk/api/responses", "/kiosk/api/receipt-check"):
        assert {"401", "409", "422"} <= set(paths[path]["post"]["responses"])
    receipt = spec["components"]["schemas"]["ReceiptCreate"]["properties"]
    assert "pattern" in receipt["dossier_code"] and "registered" in receipt["unit_code"]["description"]
    assert "offset" in receipt["received_at"]["description"]
