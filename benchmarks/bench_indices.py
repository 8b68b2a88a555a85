"""Benchmark index runs (``make bench``): the whole index table from 1M responses stored in the database.

For SQLite (a temporary file) and PostgreSQL (database ``hl_indices_bench``, created if missing; set
``HAILONG_BENCH_PG_URL`` to use another, ``--no-pg`` to skip), the script

1. bulk-inserts N responses (default 1,000,000: 90 % QR short form, 10 % kiosk; 150 units, 8 fields)
   and 200,000 receipts (SQLite ``executemany``, PostgreSQL ``COPY``);
2. measures baselines in the same run: one SQL full scan of the responses (``count``/``sum``) and
   fetching ``(id, overall)`` of every row into Python;
3. measures reading the answers three ways: JSON parsed in a Python loop (what the issue forbids),
   one ``json_extract``/``->>`` column per item, and the packed column the platform uses
   (``survey.stats.load_index_responses``), which now reads the read model ``responses.packed``
   (``survey.responses.readmodel``; the seeding fills it with the app's vectorised ``pack_arrays``);
4. measures the whole self-selected run (``survey.indices.services.compute_run``: exclusions, the kiosk
   rolling-window rule, raking, every domain x item/pillar/SIPAS/overall/mean/expectation with CIs,
   QĐ 766, small cells) and prints each figure as a ratio to the full-scan baseline.

``--n 10000000 --no-sqlite`` is the opt-in 10M PostgreSQL run (takes several minutes).
Run: ``.venv/bin/python benchmarks/bench_indices.py`` (``--n 300000`` for a quicker pass).

Measured 2026-12-01 on the shared 2-core machine under a load average of ~15 (wall times are inflated
several-fold; "cpu" is this process's CPU, which on SQLite includes the database work):
300k responses: reading answers by a Python JSON loop 9.8 s (SQLite) / 14.2 s (PG), one json_extract/->>
column per item 4.5 / 6.5 s, one packed text column per row 4.1 / 4.3 s, weekly packed records (chosen)
2.6 s cpu / 0.2 s client cpu.  1M responses: load 6.6 s cpu (SQLite), 1.3 s client cpu (PG); whole run
28.7 s cpu (SQLite), 26.8 s client cpu (PG), 4,714 cells, peak RSS 1.7 GB; most of the run is the ~20
``analysis`` table calls (5 domains x SIPAS, overall, mean scores, expectations).

Read model (2026-12-02, same machine, load average ~5 while two test suites ran beside it, so wall
times are inflated; ratios hold): 300k SQLite, cProfile of compute_run: load_index_responses 3.27 s ->
0.48 s wall (same inputs hash).  1M ``--quick``: load 2.58 s cpu on SQLite (the baseline fetch of
(id, overall) is 2.29 s: 1.1x it; was 6.6 s), 1.16 s client cpu on PostgreSQL (wall 8.5 s against a
7.7 s baseline fetch under that load); whole run 20.9 s cpu (SQLite), 15.2 s client cpu (PG).

One-pass estimation (``analysis.sipas_index_by`` & co.), the vectorised kiosk rule and the chunk-wise
loader (2026-12-02, quiet machine, load < 1, rows stored in time order, ``--quick``): 1M responses:
SQLite whole run 5.4 s cpu (load 2.7 s; the baseline fetch of (id, overall) 2.4 s), PostgreSQL whole run
4.2 s wall / 2.6 s client cpu (load 2.4 s wall; baseline fetch 2.7 s); the 4,714 cells themselves take
0.5-0.7 s.  10M on PostgreSQL (``--n 10000000 --no-sqlite``; seeding 390 s): load 36 s wall, whole run
54.5 s wall / 39.5 s client cpu, peak RSS of the run's own process 6.2 GB (goal: < 20 s, < 4 GB).
(That peak was the seeding's: Linux keeps ``ru_maxrss`` across ``exec``; the child now reads its own VmHWM.)

Compacted days (``survey.responses.days``: one row per closed local day, stored as decoded columns, checked
against the day's count) and the run's numpy work trimmed (per-stratum variance multipliers, one mixed-radix
cell key, table lookups for one-byte answer codes, labels coded once, no copy of the loaded columns), 2026-12-02,
load average 1-2, ``--n 1000000 --quick``:

=====================================================  ===============  ===============
1M responses                                           SQLite           PostgreSQL
=====================================================  ===============  ===============
baseline: fetch (id, overall) of every row             2.13 s           2.32 s
load, row by row (responses.packed)                    1.80 s           1.79 s
first run after the days closed (compacts them)        4.97 s           3.77 s
load, compacted days                                   0.52 s           0.32 s
whole index run, 4,714 cells (goal < 2 s)              **1.86 s**       **1.58 s** (1.24 s client cpu)
peak RSS of the run                                    645 MB           563 MB
=====================================================  ===============  ===============

10M on PostgreSQL (``--n 10000000 --no-sqlite --quick --no-seed``, load average 1-2): baseline fetch
18.5 s, row-by-row load 24.7 s, first (compacting) run 39.5 s, compacted load 3.7 s, whole run
**15.6 s** wall (13.0 s client cpu), peak RSS **3.5 GB** (goals < 20 s, < 4 GB).  Under a load average of
3-4 the same run took 19-22 s: at this size the run is bound by memory bandwidth (every pass over 10M rows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HAILONG_SECRET_KEY", "bench-" + "0" * 58)

from sqlalchemy import text  # noqa: E402

from survey.db.engine import make_engine, make_sessionmaker  # noqa: E402
from survey.db.migrate import upgrade  # noqa: E402
from survey.settings import Settings  # noqa: E402

PG_URL = os.environ.get("HAILONG_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/hl_indices_bench")
N_UNITS = 150
N_RECEIPTS = 200_000
FIELDS = ("Hộ tịch", "Đất đai", "Kinh doanh", "Xây dựng", "Chứng thực", "Tư pháp", "Môi trường", "Y tế")
ITEMS = ("access", "procedure", "officer", "result", "feedback")
AREAS = ("information", "facilities", "simplify", "fees", "attitude", "competence", "time", "feedback", "online")
PERIOD_END = date(2026, 11, 30)
DAYS = 90
PERIOD_START = PERIOD_END - timedelta(days=DAYS - 1)


def rss_mb() -> float:
    """This process's peak resident memory (MB): ``VmHWM`` of its own address space.

    Not ``getrusage(...).ru_maxrss``: Linux keeps that high-water mark across ``exec``, so a child started
    by the seeding process would report the seeding's peak, not its own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- synthetic data (vectorised)


def make_rows(n: int, seed: int = 7):
    """Columns of n responses and N_RECEIPTS receipts, generated with numpy (no per-row randomness)."""
    rng = np.random.default_rng(seed)
    unit = rng.integers(2, N_UNITS + 2, size=n)  # unit ids 2..N_UNITS+1 (1 is the province)
    quality = np.linspace(-1, 1, N_UNITS + 2)[unit]
    person = 3.9 + 0.6 * quality + rng.normal(0, 0.75, size=n)
    items = np.clip(np.rint(person[:, None] + rng.normal(0, 0.55, size=(n, 5))), 1, 5).astype(np.int64)
    items[rng.random((n, 5)) < 0.05] = 0
    overall = np.clip(np.rint(person + rng.normal(0, 0.3, size=n)), 1, 5).astype(np.int64)
    kiosk = rng.random(n) < 0.10
    proc = rng.integers(1, 17, size=n)
    # submitted in storage order (rows arrive in time order): what a table filled by the app looks like
    secs = np.sort(rng.integers(0, DAYS * 86400, size=n))
    base = np.datetime64(datetime.combine(PERIOD_START, datetime.min.time())) - np.timedelta64(7, "h")
    submitted = (base + secs.astype("timedelta64[s]")).astype("datetime64[us]")
    chosen = rng.random((n, len(AREAS))) < 0.15
    device = np.where(kiosk, unit, 0)
    return {"unit": unit, "items": items, "overall": overall, "kiosk": kiosk, "proc": proc, "submitted": submitted,
            "chosen": chosen, "device": device}


def answers_json(items: np.ndarray, kiosk: np.ndarray) -> list[str]:
    """JSON text of every answer set through a lookup table of the 6^5 combinations (vectorised)."""
    import itertools

    combos = list(itertools.product(range(6), repeat=len(ITEMS)))
    full = ["{" + ",".join(f'"{k}":{v}' for k, v in zip(ITEMS, c, strict=True)) + "}" for c in combos]
    taps = ["{" + ",".join(f'"{k}":{v}' for k, v in zip(ITEMS, c, strict=True) if v) + "}" for c in combos]
    code = items @ (6 ** np.arange(len(ITEMS) - 1, -1, -1))
    table = np.array(full + taps, dtype=object)
    return table[code + np.where(kiosk, len(combos), 0)].tolist()


def expectations_json(chosen: np.ndarray) -> list[str]:
    """JSON arrays of the chosen areas through a lookup table of the 2^9 subsets."""
    subsets = ["[" + ",".join(f'"{a}"' for j, a in enumerate(AREAS) if m >> j & 1) + "]" for m in range(2 ** len(AREAS))]
    code = chosen.astype(np.int64) @ (2 ** np.arange(len(AREAS)))
    return np.array(subsets, dtype=object)[code].tolist()


def packed_records(ids: list[str], d: dict) -> list[str]:
    """The read-model records of the rows, built as the app builds them (``readmodel.pack_arrays``, the
    vectorised twin of the ``pack`` every write path uses; tests/survey/test_read_model.py checks they agree)."""
    from survey.responses import readmodel

    out = np.empty(len(ids), dtype=object)
    epochs = d["submitted"].astype("datetime64[s]").astype(np.int64)
    for is_kiosk, qkey, ch in ((False, ("sipas-short", 1), "qr"), (True, ("kiosk", 1), "kiosk")):
        idx = np.flatnonzero(d["kiosk"] == is_kiosk)
        out[idx] = readmodel.pack_arrays(
            ids=[ids[i] for i in idx.tolist()], unit_ids=d["unit"][idx], procedure_ids=d["proc"][idx], device_ids=d["device"][idx],
            epochs=epochs[idx], channels=[ch] * idx.size, receipt_channels=None, overall=d["overall"][idx], questionnaire=qkey,
            answers={it: d["items"][idx, j] for j, it in enumerate(ITEMS)}, chosen={a: d["chosen"][idx, j] for j, a in enumerate(AREAS)},
        )
    return out.tolist()


async def _secondary_indexes(conn, dialect: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the non-unique indexes of responses and receipts."""
    if dialect == "sqlite":
        rows = (await conn.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('responses', 'receipts') AND sql IS NOT NULL "
            "AND sql NOT LIKE 'CREATE UNIQUE%'"
        ))).all()
    else:
        rows = (await conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('responses', 'receipts') AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        ))).all()
    return [(r[0], r[1]) for r in rows]


async def seed(url: str, n: int) -> float:
    """Bulk-insert the data; returns seconds."""
    t0 = time.perf_counter()
    d = make_rows(n)
    ans = answers_json(d["items"], d["kiosk"])
    exp = expectations_json(d["chosen"])
    # ids in sorted order: primary-key inserts append (a bulk load, as a restore would do)
    ids = [str(uuid.UUID(int=int(x) << 64)) for x in np.sort(np.random.default_rng(3).integers(0, 2**63, size=n, dtype=np.int64))]
    channel = np.where(d["kiosk"], "kiosk", "qr").tolist()
    packed = packed_records(ids, d)
    qid = np.where(d["kiosk"], "kiosk", "sipas-short").tolist()
    rng = np.random.default_rng(11)
    r_unit = rng.integers(2, N_UNITS + 2, size=N_RECEIPTS)
    r_proc = rng.integers(1, 17, size=N_RECEIPTS)
    # receipts are registered as the dossiers are received: stored in time order, like the responses
    r_recv = np.datetime64(datetime.combine(PERIOD_START, datetime.min.time())) + np.sort(rng.integers(0, DAYS * 86400, size=N_RECEIPTS)).astype("timedelta64[s]")
    r_app = r_recv + np.timedelta64(3, "D")
    r_ret = r_recv + (rng.uniform(1, 4.2, size=N_RECEIPTS) * 86400).astype("timedelta64[s]")
    units = [(1, "P00", "Tỉnh (bench)", "province", None)] + [
        (i, f"U{i:03d}", f"Đơn vị {i}", "department" if i < 32 else ("ward" if i % 2 else "commune"), 1) for i in range(2, N_UNITS + 2)
    ]
    procs = [(i, f"P.{i:03d}", f"Thủ tục {i}", FIELDS[i % len(FIELDS)], 3) for i in range(1, 17)]
    now = datetime.now(UTC)
    engine = make_engine(url)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    async with engine.begin() as conn:  # secondary indexes are dropped for the load and rebuilt after it
        indexes = await _secondary_indexes(conn, dialect)
        for name, _sql in indexes:
            await conn.execute(text(f'DROP INDEX "{name}"'))
    try:
        if url.startswith("sqlite"):
            import sqlite3

            path = url.split("///", 1)[1]
            con = sqlite3.connect(path)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=OFF")
            ts = lambda a: [s.replace("T", " ") + ".000000" for s in np.datetime_as_string(a.astype("datetime64[us]"), unit="s").tolist()]  # noqa: E731
            nowtxt = now.strftime("%Y-%m-%d %H:%M:%S.%f")
            con.executemany("INSERT INTO units (id, code, name, kind, parent_id, active, created_at) VALUES (?,?,?,?,?,1,?)", [(*u, nowtxt) for u in units])
            con.executemany("INSERT INTO procedures (id, code, name, field, processing_days, created_at) VALUES (?,?,?,?,?,?)", [(*p, nowtxt) for p in procs])
            rt, at, et = ts(r_recv), ts(r_app), ts(r_ret)
            con.executemany(
                "INSERT INTO receipts (dossier_code, unit_id, procedure_id, received_at, appointment_at, returned_at, channel, token_expires_at, created_at) "
                "VALUES (?,?,?,?,?,?,'direct',?,?)",
                ((f"B-{i:08d}", int(u), int(p), rt[i], at[i], et[i], at[i], nowtxt) for i, (u, p) in enumerate(zip(r_unit.tolist(), r_proc.tolist(), strict=True))),
            )
            sub = ts(d["submitted"])
            con.executemany(
                "INSERT INTO responses (id, unit_id, procedure_id, questionnaire_id, questionnaire_version, channel, answers, overall, expectations, "
                "language, submitted_at, device_id, integrity_flags, review_status, extra, packed) VALUES (?,?,?,?,1,?,?,?,?,'vi',?,?,'[]','accepted','{}',?)",
                zip(ids, d["unit"].tolist(), d["proc"].tolist(), qid, channel, ans, d["overall"].tolist(), exp, sub,
                    [x or None for x in d["device"].tolist()], packed, strict=True),
            )
            con.commit()
            con.close()
        else:
            async with engine.connect() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                await raw.copy_records_to_table("units", records=[(*u, True, now) for u in units],
                                                columns=["id", "code", "name", "kind", "parent_id", "active", "created_at"])
                await raw.copy_records_to_table("procedures", records=[(*p, now) for p in procs],
                                                columns=["id", "code", "name", "field", "processing_days", "created_at"])
                dt = lambda a: [x.replace(tzinfo=UTC) for x in a.astype("datetime64[us]").astype(datetime).tolist()]  # noqa: E731
                rt, at, et = dt(r_recv), dt(r_app), dt(r_ret)
                await raw.copy_records_to_table(
                    "receipts",
                    records=[(f"B-{i:08d}", int(u), int(p), rt[i], at[i], et[i], "direct", at[i], now)
                             for i, (u, p) in enumerate(zip(r_unit.tolist(), r_proc.tolist(), strict=True))],
                    columns=["dossier_code", "unit_id", "procedure_id", "received_at", "appointment_at", "returned_at", "channel", "token_expires_at", "created_at"],
                )
                sub = dt(d["submitted"])
                chunk = 250_000
                for i in range(0, n, chunk):
                    recs = [
                        (ids[j], int(d["unit"][j]), int(d["proc"][j]), qid[j], 1, channel[j], ans[j], int(d["overall"][j]), exp[j], "vi", sub[j],
                         int(d["device"][j]) or None, "[]", "accepted", "{}", packed[j])
                        for j in range(i, min(n, i + chunk))
                    ]
                    await raw.copy_records_to_table(
                        "responses", records=recs,
                        columns=["id", "unit_id", "procedure_id", "questionnaire_id", "questionnaire_version", "channel", "answers", "overall",
                                 "expectations", "language", "submitted_at", "device_id", "integrity_flags", "review_status", "extra", "packed"],
                    )
                await conn.commit()
        async with engine.begin() as conn:
            for _name, sql in indexes:
                await conn.execute(text(sql))
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- timings


CPU: dict[str, float] = {}


async def timed(fn, repeat: int = 1, name: str = ""):
    """Best wall time of ``repeat`` runs (and this process's CPU time of that run, kept in CPU)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        out = None  # the previous repeat's result is not held through this one (peak memory is one run's)
        t0, c0 = time.perf_counter(), time.process_time()
        out = await fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best = wall
            CPU[name] = cpu
    return best, out


async def measure(url: str, n: int, quick: bool, part: str = "all") -> dict[str, float]:
    """Timings; ``part="reads"``: baselines and read strategies only, ``"run"``: the full-scan baseline and
    the whole run only (so that a process measuring the run holds nothing else)."""
    from survey.stats import _packed_sql, load_index_responses

    settings = replace(Settings(), database_url=url, secret_key="b" * 64)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    out: dict[str, float] = {}
    try:
        async with maker() as s:
            dialect = s.bind.dialect.name

            async def scan():
                return (await s.execute(text("SELECT count(*), sum(overall) FROM responses"))).one()

            async def fetch_pairs():
                return (await s.execute(text("SELECT id, overall FROM responses"))).all()

            out["baseline: SQL full scan (count, sum)"], _ = await timed(scan, 2, name="baseline: SQL full scan (count, sum)")
            if part == "run":
                return out | await _measure_run(s, settings)
            out["baseline: fetch (id, overall) of every row"], _ = await timed(fetch_pairs, 1, name="baseline: fetch (id, overall) of every row")

            async def python_json():
                rows = (await s.execute(text("SELECT id, answers FROM responses"))).all()
                A = np.zeros((len(rows), len(ITEMS)), dtype=np.uint8)
                for i, (_id, a) in enumerate(rows):
                    a = json.loads(a) if isinstance(a, str) else a
                    for j, k in enumerate(ITEMS):
                        A[i, j] = a.get(k, 0)
                return A

            async def one_column_per_item():
                cols = ", ".join(
                    (f"coalesce(json_extract(answers, '$.\"{k}\"'), 0)" if dialect == "sqlite" else f"coalesce((answers ->> '{k}')::int, 0)") for k in ITEMS
                )
                rows = (await s.execute(text(f"SELECT id, {cols} FROM responses"))).all()
                return np.array([r[1:] for r in rows], dtype=np.uint8)

            async def packed():
                sql = _packed_sql(dialect, "answers", ITEMS, "answers")
                rows = (await s.execute(text(f"SELECT id, {sql} FROM responses"))).all()
                return len(rows)

            if not quick:
                out["read answers: JSON parsed in a Python loop"], _ = await timed(python_json, 1, name="read answers: JSON parsed in a Python loop")
                out["read answers: one json_extract/->> column per item"], _ = await timed(one_column_per_item, 1, name="read answers: one json_extract/->> column per item")
                out["read answers: json_extract/->> packed in SQL per row (before)"], _ = await timed(packed, 1, name="read answers: json_extract/->> packed in SQL per row (before)")

            async def load():
                return await load_index_responses(
                    s, period_start=PERIOD_START, period_end=PERIOD_END, items=ITEMS, areas=AREAS, channels=("qr", "kiosk", "campaign"), questionnaires=("kiosk", "sipas-short"),
                    timezone=settings.timezone, compact=False,
                )

            name = "load_index_responses, row by row (responses.packed)"
            out[name], resp = await timed(load, 1, name=name)
            assert len(resp) == n, (len(resp), n)

            if part == "all":
                out |= await _measure_run(s, settings)
    finally:
        await engine.dispose()
    return out


async def _measure_run(s, settings) -> dict[str, float]:
    """The first run after the days closed (it compacts them: ``survey.responses.days``), then the run as
    every later one meets it (best of two), and the compacted read alone."""
    from survey.indices import services
    from survey.stats import load_index_responses

    async def run():
        return await services.compute_run(s, settings, period_start=PERIOD_START, period_end=PERIOD_END, source="self_selected")

    async def load():
        return await load_index_responses(
            s, period_start=PERIOD_START, period_end=PERIOD_END, items=ITEMS, areas=AREAS, channels=("qr", "kiosk", "campaign"),
            questionnaires=("kiosk", "sipas-short"), timezone=settings.timezone,
        )

    await s.execute(text("DELETE FROM response_days"))
    await s.commit()
    out: dict[str, float] = {}
    first = "first index run after the days closed (compacts them)"
    out[first] = (await timed(run, 1, name=first))[0]  # its result is not kept
    await s.commit()
    name = "chosen: load_index_responses, compacted days"
    out[name], resp = await timed(load, 2, name=name)
    del resp
    name = "whole index run (compute_run, self-selected)"
    out[name], computed = await timed(run, 2, name=name)
    out["  of which: cells"] = float(len(computed.cells))
    out["  of which: kiosk_window_excess flagged"] = float(computed.summary["exclusions"]["kiosk_window_excess"])
    return out


def _child(url: str, n: int, quick: bool, part: str) -> tuple[dict[str, float], float]:
    import subprocess

    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", url, "--part", part, "--n", str(n), *(["--quick"] if quick else [])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}).stdout
    data = json.loads(out.strip().splitlines()[-1])
    CPU.update(data["cpu"])
    return data["times"], data["rss_mb"]


def measure_in_child(url: str, n: int, quick: bool) -> tuple[dict[str, float], float]:
    """The reads and the whole run, each in a fresh process: the second one's peak RSS is the index run's own
    (not the seeding's, nor the baseline that fetches every row)."""
    reads, _ = _child(url, n, quick, "reads")
    run, rss = _child(url, n, quick, "run")
    return reads | {k: v for k, v in run.items() if not k.startswith("baseline")}, rss


def report(name: str, n: int, seed_s: float, t: dict[str, float], run_rss: float | None = None) -> None:
    base = t["baseline: SQL full scan (count, sum)"]
    print(f"== {name}: {n:,} responses, {N_RECEIPTS:,} receipts (bulk insert {seed_s:.1f} s)")
    for k, v in t.items():
        if k.startswith("  of which"):
            print(f"    {k[11:]:<52s} {int(v):>10,d}")
        else:
            cpu = f"(cpu here {CPU[k]:6.2f} s)" if k in CPU else ""
            print(f"  {k:<54s} {v:8.3f} s   {v / base:7.2f} x full scan  {cpu}")
    if run_rss is not None:
        print(f"  peak RSS of the whole run (its own process: reading, weighting, every cell): {run_rss:.0f} MB")


async def pg_reset(url: str) -> bool:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    db = dsn.rsplit("/", 1)[1]
    try:
        admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"!! PostgreSQL not reachable ({exc}): skipped")
        return False
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{db}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return True


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--quick", action="store_true", help="skip the read-strategy comparison")
    p.add_argument("--no-seed", action="store_true", help="PostgreSQL: measure the data already in the database (a previous --n N run)")
    p.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the child processes of measure_in_child
    p.add_argument("--part", default="all", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        times = asyncio.run(measure(args.measure, args.n, args.quick, args.part))
        print(json.dumps({"times": times, "cpu": CPU, "rss_mb": rss_mb()}))
        return 0
    started = time.perf_counter()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            upgrade(url)
            seed_s = asyncio.run(seed(url, args.n))
            report("SQLite", args.n, seed_s, *measure_in_child(url, args.n, args.quick))
    if not args.no_pg and args.no_seed:
        report("PostgreSQL", args.n, 0.0, *measure_in_child(PG_URL, args.n, args.quick))
    elif not args.no_pg and asyncio.run(pg_reset(PG_URL)):
        upgrade(PG_URL)
        seed_s = asyncio.run(seed(PG_URL, args.n))
        report("PostgreSQL", args.n, seed_s, *measure_in_child(PG_URL, args.n, args.quick))
    print(f"total {time.perf_counter() - started:.0f} s (the seeding's own peak RSS {rss_mb():.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
