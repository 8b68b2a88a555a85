"""Helpers for the reliability suite: real app processes (uvicorn) that can be killed, and the load scale.

``make test`` runs the quick versions; ``make reliability`` sets ``HAILONG_RELIABILITY=long`` for longer
load phases and more rounds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from tests.conftest import free_port

LONG = os.environ.get("HAILONG_RELIABILITY", "quick") == "long"
#: seconds of write load per phase, and rounds of kill -9
LOAD_SECONDS = 6.0 if LONG else 1.5
KILL_ROUNDS = 10 if LONG else 3
#: connections each test app process keeps (the PostgreSQL server is shared with other test runs)
POOL_SIZE = "4"


class AppProcess:
    """``uvicorn survey.asgi:app`` on a loopback port, on the given database."""

    def __init__(self, settings, port: int | None = None):
        self.settings = settings
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> AppProcess:
        env = {**os.environ, "HAILONG_DATABASE_URL": self.settings.database_url, "HAILONG_SECRET_KEY": self.settings.secret_key,
               "HAILONG_PUBLIC_URL": self.settings.public_url, "HAILONG_DB_POOL_SIZE": POOL_SIZE, "HAILONG_DB_MAX_OVERFLOW": "0"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "survey.asgi:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning", "--no-access-log"], env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("app process exited during start-up")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("app process did not start in 30 s")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
