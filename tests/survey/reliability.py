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
        deadline = time.monotonic() + 90  # generous: the CI machine may be busy
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("app process exited during start-up")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("app process did not start in 90 s")

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


ITEMS_FORM = "sipas-short"


def arrange_api_client(settings, unit_code: str = "SNV") -> tuple[str, str]:
    """A unit and an API client for it; returns (unit code, API key)."""
    from survey.receipts.clients import create_api_client
    from tests.conftest import make_unit, run_db

    async def arrange(session):
        unit = await make_unit(session, code=unit_code)
        _client, key = await create_api_client(session, "reliability", unit.id)
        return key

    return unit_code, run_db(settings.database_url, arrange)


class Writer:
    """Threads that register receipts and answer each, recording what the server acknowledged.

    ``acked_receipts``: dossier codes answered 201; ``acked_responses``: response ids answered 201, each
    with the monotonic time its acknowledgement arrived.  A thread stops at ``stop()`` or when the
    server goes away (connection refused or reset).
    """

    def __init__(self, url: str, key: str, unit_code: str, prefix: str, threads: int = 4):
        import threading

        from survey.questionnaires import registry

        self.url, self.key, self.unit_code, self.prefix = url, key, unit_code, prefix
        self.items = [i.id for i in registry.get(ITEMS_FORM).items]
        self.acked_receipts: list[tuple[float, str]] = []
        self.acked_responses: list[tuple[float, str]] = []
        self.server_errors: list[int] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> Writer:
        for t in self._threads:
            t.start()
        return self

    def run_for(self, seconds: float, *, at_least: int = 3, limit: float = 90.0) -> None:
        """Let the load run ``seconds``, and longer (up to ``limit``) until ``at_least`` more responses are acknowledged."""
        start, before = time.monotonic(), len(self.acked_responses)
        time.sleep(seconds)
        while len(self.acked_responses) - before < at_least and time.monotonic() - start < limit:
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _code(self) -> str:
        with self._lock:
            self._next += 1
            return f"{self.prefix}-{self._next:06d}"

    def _run(self) -> None:
        auth = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                code = self._code()
                body = {"dossier_code": code, "unit_code": self.unit_code, "received_at": "2026-11-22T08:30:00+07:00", "channel": "direct"}
                try:
                    r = client.post("/api/v1/receipts", json=body, headers=auth)
                    if r.status_code >= 500:
                        self.server_errors.append(r.status_code)
                    if r.status_code != 201:
                        continue
                    with self._lock:
                        self.acked_receipts.append((time.monotonic(), code))
                    answer = {"token": r.json()["token"], "answers": {i: 4 for i in self.items}, "overall": 5}
                    r = client.post("/api/v1/responses", json=answer)
                    if r.status_code >= 500:
                        self.server_errors.append(r.status_code)
                    if r.status_code == 201:
                        with self._lock:
                            self.acked_responses.append((time.monotonic(), r.json()["id"]))
                except (httpx.TransportError, ValueError):
                    return  # the server was killed (or closed the connection mid-reply)


def stored(database_url: str) -> tuple[set[str], set[str]]:
    """The dossier codes of every receipt and the ids of every response in the database."""
    from sqlalchemy import select

    from survey.db.models import Receipt, Response
    from tests.conftest import run_db

    async def read(session):
        codes = set((await session.scalars(select(Receipt.dossier_code))).all())
        ids = set((await session.scalars(select(Response.id))).all())
        return codes, ids

    return run_db(database_url, read)
