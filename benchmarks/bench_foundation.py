"""Foundation benchmark: responses and receipts through the real app, as ratios against a bare Litestar handler.

Starts two servers under the same uvicorn settings on loopback (the real app on a fresh SQLite file in a
temporary directory, and benchmarks/_bare_app.py), drives each with CONCURRENCY persistent keep-alive
connections for a fixed number of requests, and prints throughput, p50/p99 latency and the ratios.
Bounded: every phase stops after its request count or its time limit, whichever comes first (~20-40 s).

Fairness: both sides of each ratio use the same load generator (benchmarks/_loadgen.py, a raw
HTTP/1.1 client that costs a few tens of microseconds per request, so on a 2-core machine the
server under test, not the client, sets the pace), the same connections policy, and are warmed up
on the very endpoints that are measured.  The baseline is measured before and after the real app.

    .venv/bin/python benchmarks/bench_foundation.py  [--responses 1000] [--bare 2000] [--receipts 400] [-c 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from _loadgen import Connection, Result, drive

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvicorn_cmd(app: str, port: int, app_dir: Path) -> list[str]:
    """The same server settings for both apps: one uvicorn worker, default loop/http, no access log."""
    return [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--workers", "1"]


class Server:
    def __init__(self, app: str, app_dir: Path, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(uvicorn_cmd(app, self.port, app_dir), env={**os.environ, **env}, cwd=str(REPO))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{app} exited during start-up")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{app} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def seed(url: str, settings, n_receipts: int) -> tuple[list[str], str]:
    """Unit, procedure, API client and ``n_receipts`` receipts written directly; returns their tokens and the API key."""
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.db.models import Procedure, Receipt, Unit
    from survey.receipts.clients import create_api_client
    from survey.receipts.tokens import mint

    engine = make_engine(url)
    async with make_sessionmaker(engine)() as s:
        unit = Unit(code="SNV", name="Sở Nội vụ", kind="department")
        s.add_all([unit, Procedure(code="1.001234", name="Cấp bản sao trích lục hộ tịch", field="Hộ tịch", processing_days=3)])
        await s.commit()
        now = datetime.now(UTC)
        rows = [Receipt(dossier_code=f"000.00.01.H01-{now:%y%m%d}-B{i:06d}"[:40], unit_id=unit.id, received_at=now,
                        channel="direct", token_expires_at=now + timedelta(days=30)) for i in range(n_receipts)]
        s.add_all(rows)
        await s.commit()
        _, key = await create_api_client(s, "bench", unit.id)
        kid, keys = settings.signing_keys()
        expires = (now + timedelta(days=30)).date()
        tokens = [mint("receipt", r.id, expires, kid, keys) for r in rows]
    await engine.dispose()
    return tokens, key


def show(r: Result, unit: str) -> None:
    print(f"  {r.name:<44} {r.rate:9.1f} {unit:<12} p50 {r.pct(0.50):7.1f} ms   p99 {r.pct(0.99):7.1f} ms"
          f"   ({r.done} ok, {r.errors} failed, {r.seconds:.1f} s)")


async def main(args: argparse.Namespace) -> int:
    from survey.db.migrate import upgrade
    from survey.questionnaires import registry
    from survey.settings import Settings

    items = [i.id for i in registry.get("sipas-short").items]
    with tempfile.TemporaryDirectory(prefix="hailong-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        secret = secrets.token_hex(32)
        upgrade(url)
        port = free_port()
        from dataclasses import replace

        settings = replace(Settings(), database_url=url, secret_key=secret, public_url=f"http://127.0.0.1:{port}")
        tokens, key = await seed(url, settings, args.responses + 50)
        env = {"HAILONG_DATABASE_URL": url, "HAILONG_SECRET_KEY": secret, "HAILONG_PUBLIC_URL": settings.public_url}
        bare = Server("_bare_app:app", REPO / "benchmarks", {})
        try:
            real = Server("survey.asgi:app", REPO, env)
        except BaseException:
            bare.stop()
            raise
        try:
            c = args.concurrency

            def answer(i: int) -> dict:
                return {"token": tokens[i], "answers": {k: 1 + (i + j) % 5 for j, k in enumerate(items)}, "overall": 1 + i % 5}

            async def bare_one(conn: Connection, i: int) -> bool:
                return (await conn.request("POST", "/echo", answer(i % len(tokens)))).status == 201

            async def response_one(conn: Connection, i: int) -> bool:
                return (await conn.request("POST", "/api/v1/responses", answer(50 + i))).status == 201

            auth = {"Authorization": f"Bearer {key}"}
            local_now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))  # the API wants an offset and the code's day = the local day
            day = local_now.strftime("%y%m%d")

            def receipt(agency: str):
                async def one(conn: Connection, i: int) -> bool:
                    body = {"dossier_code": f"{agency}-{day}-{i + 1:04d}", "unit_code": "SNV",
                            "received_at": local_now.replace(microsecond=0).isoformat()}
                    r = await conn.request("POST", "/api/v1/receipts", body, headers=auth)
                    if r.status != 201:
                        return False
                    svg = await conn.request("GET", f"/qr/{r.json()['token']}.svg")
                    return svg.status == 200 and b"<svg" in svg.body[:300]

                return one

            receipt_one = receipt("000.00.02.H01")

            async def real_warm(conn: Connection, i: int) -> bool:
                return (await conn.request("POST", "/api/v1/responses", answer(i))).status == 201

            # warm-up (not measured) of every measured endpoint: imports, statement caches, connection pools
            await drive("warm-up", bare.url, 200, c, bare_one)
            await drive("warm-up", real.url, 50, c, real_warm)
            await drive("warm-up", real.url, 50, c, receipt("000.00.03.H01"))

            print(f"Foundation benchmark — loopback, uvicorn 1 worker each, {c} keep-alive connections (benchmarks/_loadgen.py), SQLite (WAL)")
            b = await drive("bare Litestar POST /echo (baseline)", bare.url, args.bare, c, bare_one)
            resp = await drive("POST /api/v1/responses (fresh receipt each)", real.url, args.responses, c, response_one)
            b2 = await drive("bare Litestar POST /echo (baseline, again)", bare.url, args.bare, c, bare_one)
            rec = await drive("POST /api/v1/receipts + GET /qr/{token}.svg", real.url, min(args.receipts, 9999), c, receipt_one)
        finally:
            real.stop()
            bare.stop()

    baseline = (b.rate + b2.rate) / 2
    print()
    show(b, "req/s")
    show(b2, "req/s")
    show(resp, "stored/s")
    show(rec, "receipts/s")
    print()
    print(f"  responses stored per second           {resp.rate:9.1f}")
    print(f"  bare handler requests per second      {baseline:9.1f}   (mean of the two baseline runs)")
    print(f"  RATIO responses / bare                {resp.rate / baseline:9.3f}")
    print(f"  receipts + QR SVG per second          {rec.rate:9.1f}   (2 requests each)")
    print(f"  RATIO receipts+QR / bare              {rec.rate / baseline:9.3f}")
    if resp.errors or rec.errors or b.errors or b2.errors:
        print("!! some requests failed (see counts above)")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1000)
    parser.add_argument("--bare", type=int, default=10000)  # a few seconds: short phases are noisy on a busy machine
    parser.add_argument("--receipts", type=int, default=400)
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    os.environ.setdefault("LITESTAR_WARN_SYNC_TO_THREAD_WITH_ASYNC", "0")
    sys.exit(asyncio.run(main(parser.parse_args())))
