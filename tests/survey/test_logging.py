"""Structured logs (issue 13, fault 8): JSON lines with the request id; user input can never forge a line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

from survey.logs import JsonFormatter

#: what the probe sent: an encoded newline followed by a fake log line
FORGED = '/slip/AB%0A{"level":"critical","msg":"admin password reset","request_id":"x"}'

SCRIPT = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from litestar.testing import TestClient
    from survey.app import create_app
    from survey.settings import Settings
    import survey.receipts.controllers as rc

    def boom(settings, token):
        raise RuntimeError("unexpected failure while checking " + token)

    rc._check_token = boom
    settings = replace(Settings(), database_url=sys.argv[1], secret_key="s" * 64)
    with TestClient(app=create_app(settings), raise_server_exceptions=False) as c:
        r = c.get(sys.argv[2], headers={"accept": "text/html", "x-request-id": "probe-42"})
        print("STATUS", r.status_code, r.headers.get("x-request-id"), flush=True)
        r = c.get("/slip/XY", headers={"x-request-id": "bad id\\nwith newline"})
        print("STATUS", r.status_code, r.headers.get("x-request-id"), flush=True)
    """
)


def run_app(database_url: str, path: str) -> tuple[list[str], list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, database_url, path], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines(), [line for line in proc.stderr.splitlines() if line.strip()]


def test_the_500_handler_logs_one_json_line_without_the_raw_path(database_url):
    out, err = run_app(database_url, FORGED)
    status = [line.split() for line in out if line.startswith("STATUS")]
    assert status[0] == ["STATUS", "500", "probe-42"]  # the client's request id is echoed
    assert status[1][1] == "500" and status[1][2] != "bad" and len(status[1][2]) == 16  # an unsafe one is replaced

    records = [json.loads(line) for line in err]  # every line of the log is a JSON object
    errors = [r for r in records if r.get("msg") == "unhandled error"]
    assert len(errors) == 2
    first = errors[0]
    assert first["level"] == "error" and first["request_id"] == "probe-42"
    assert first["route"] == "/slip/{token}" and first["method"] == "GET"
    assert first["exc_type"] == "RuntimeError" and "Traceback" in first["exc"]
    assert errors[1]["request_id"] == status[1][2]
    # the forged line is nowhere a line of its own, and no record claims to be it
    assert not any(r.get("level") == "critical" or r.get("msg") == "admin password reset" for r in records)
    assert not any(line.lstrip().startswith('{"level":"critical"') for line in err)


def test_the_formatter_escapes_control_characters():
    record = logging.LogRecord("survey", logging.WARNING, __file__, 1, "user said %s", ("hi\n{\"level\": \"critical\"}\r\x1b[31m",), None)
    record.field = "a\nb"
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    entry = json.loads(line)
    assert entry["msg"] == 'user said hi\n{"level": "critical"}\r\x1b[31m' and entry["field"] == "a\nb"
    assert entry["level"] == "warning" and entry["logger"] == "survey"
