"""`hailong serve --workers N`: refused on SQLite; on PostgreSQL the pools must fit the server's
connections, and N workers really serve."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from survey.cli import main
from survey.deploy import ServerLimits, plan
from tests.conftest import free_port, is_postgres


def test_plan_refuses_pools_that_exceed_the_server_and_warns_when_others_hold_connections():
    # the fault of issue 13: 2 workers x 60 connections against max_connections = 100
    refused = plan(ServerLimits(max_connections=100, reserved=3, in_use=0), workers=2, per_process=60)
    assert not refused.ok and "HAILONG_DB_POOL_SIZE" in refused.message and "120" in refused.message
    fits = plan(ServerLimits(100, 3, 5), workers=4, per_process=10)
    assert fits.ok and not fits.warning
    crowded = plan(ServerLimits(100, 3, 60), workers=4, per_process=10)
    assert crowded.ok and crowded.warning and "60 connections are already open" in crowded.message


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def test_serve_workers_on_the_test_database(settings, monkeypatch, capsys):
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    if not is_postgres():
        assert main(["serve", "--workers", "2"]) == 2
        assert "needs PostgreSQL" in capsys.readouterr().err
        return
    monkeypatch.setenv("HAILONG_DB_POOL_SIZE", "60")
    assert main(["serve", "--workers", "2"]) == 2  # 120 connections cannot fit under max_connections
    assert "exceed" in capsys.readouterr().err

    port = free_port()
    env = {**os.environ, "HAILONG_DATABASE_URL": settings.database_url, "HAILONG_DB_POOL_SIZE": "2",
           "HAILONG_PUBLIC_URL": f"http://127.0.0.1:{port}", "HAILONG_METRICS_TOKEN": "t" * 32}
    proc = subprocess.Popen([sys.executable, "-m", "survey.cli", "serve", "--workers", "2", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        ready = False
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            if ready and len(_children(proc.pid)) >= 2:
                break
            time.sleep(0.3)
        assert ready, "serve --workers 2 did not become ready"
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers  # two worker processes under the supervisor
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert all(client.get("/healthz").status_code == 200 for _ in range(20))
            metrics = client.get("/metrics", headers={"authorization": "Bearer " + "t" * 32})
            assert metrics.status_code == 200 and "hailong_http_requests_total" in metrics.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "2 workers x 2 connections" in out
