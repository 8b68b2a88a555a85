"""Kiosk benchmarks, each printed as a ratio against a baseline measured in the same run.

1. Kiosk submissions per second through the real endpoint (uvicorn subprocess on loopback, SQLite file,
   ingest screening included), against GET /healthz (one SELECT 1) on the same server.
2. The integrity batch job (pure ``kiosk.integrity.screen``) over 1,000,000 synthetic ratings, against
   one ``numpy.argsort`` of the same timestamps.

Bounded: a few thousand requests and one million rows; about half a minute in all.

Both sides of ratio 1 use the same load generator (benchmarks/_loadgen.py: CONCURRENCY keep-alive
connections, a raw HTTP/1.1 client cheap enough not to compete with the server for the 2 CPUs), on
the same server, each warmed up on its own endpoint first.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from _loadgen import Connection, drive

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = int(os.environ.get("BENCH_KIOSK_REQUESTS", "2000"))
CONCURRENCY = 16
DEVICES = 20


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _arrange(url: str, settings) -> list[str]:
    from kiosk import services
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.db.models import Unit

    engine = make_engine(url)
    codes = []
    async with make_sessionmaker(engine)() as session:
        unit = Unit(code="BENCH", name="Đơn vị đo", kind="department")
        session.add(unit)
        await session.commit()
        for i in range(DEVICES):
            new = await services.create_enrolment_code(session, settings, actor="bench", unit_id=unit.id, counter=f"Quầy {i}", name=f"Máy {i}", exit_pin="1234")
            codes.append(new.code)
    await engine.dispose()
    return codes


async def _load(base: str, make_request, n: int) -> float:
    """Requests per second for ``n`` requests with CONCURRENCY in flight (one per keep-alive connection)."""

    async def one(conn: Connection, i: int) -> bool:
        return (await make_request(conn, i)).status < 400

    result = await drive("load", base, n, CONCURRENCY, one, time_limit=60)
    if result.errors:
        raise RuntimeError(f"{result.errors} requests failed")
    return result.rate


def bench_submissions() -> None:
    from survey.db.migrate import upgrade
    from survey.settings import Settings

    tmp = tempfile.mkdtemp(prefix="hailong-bench-")
    url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    secret = "bench-" + "1" * 58
    upgrade(url)
    settings = Settings(database_url=url, secret_key=secret)
    codes = asyncio.run(_arrange(url, settings))
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HAILONG_DATABASE_URL": url, "HAILONG_SECRET_KEY": secret, "HAILONG_PUBLIC_URL": base}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "survey.asgi:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        creds = [httpx.post(base + "/kiosk/api/enrol", json={"code": c}).json()["credential"] for c in codes]
        rng = np.random.default_rng(1)
        now = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)  # 10:00 local
        offsets = rng.integers(0, 30 * 86400 // 4, REQUESTS)  # spread over a month of opening hours

        async def healthz(conn, i):
            return await conn.request("GET", "/healthz")

        async def submit(conn, i):
            body = {"client_uuid": str(uuid.uuid4()), "device_time": (now - timedelta(days=int(offsets[i % REQUESTS] % 30), seconds=int(offsets[i % REQUESTS] % 21600))).isoformat(),
                    "questionnaire_id": "kiosk", "questionnaire_version": 1, "overall": int(rng.integers(1, 6)), "answers": {"officer": 4}}
            return await conn.request("POST", "/kiosk/api/responses", body, headers={"authorization": f"Bearer {creds[i % DEVICES]}"})

        asyncio.run(_load(base, healthz, 200))  # warm-up of both measured endpoints
        asyncio.run(_load(base, submit, 100))
        base_rps = asyncio.run(_load(base, healthz, REQUESTS))
        kiosk_rps = asyncio.run(_load(base, submit, REQUESTS))
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"kiosk submissions: {kiosk_rps:,.0f}/s  vs  GET /healthz {base_rps:,.0f}/s  ->  ratio {kiosk_rps / base_rps:.2f}"
          f"  ({REQUESTS} requests, {CONCURRENCY} keep-alive connections, 1 uvicorn worker, SQLite)")


def bench_screening() -> None:
    from kiosk.integrity import screen
    from kiosk.synthetic import synthetic_population

    data = synthetic_population(1_000_000)
    data.pop("fake")
    start = time.perf_counter()
    np.argsort(data["local_t"])
    baseline = time.perf_counter() - start
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        flags = screen(**data)
        best = min(best, time.perf_counter() - start)
    print(f"integrity screening of 1,000,000 ratings: {best:.2f} s  vs  one numpy argsort {baseline:.3f} s  ->  ratio {best / baseline:.1f}"
          f"  ({int((flags > 0).sum()):,} flagged)")


if __name__ == "__main__":
    bench_screening()
    bench_submissions()
