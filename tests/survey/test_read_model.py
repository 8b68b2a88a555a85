"""The read model (``responses.packed``): every write path stores the record its JSON columns say, the
migration backfills it, the index loader reads it exactly as a decoding of the JSON would, and the
receipt counts of a run are unchanged."""

from __future__ import annotations

import calendar
import hashlib
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text

from survey.db.models import Procedure, Receipt, Response
from survey.questionnaires import registry
from survey.responses import readmodel
from survey.responses.services import Submission, store_response
from tests.conftest import make_procedure, make_receipt, make_unit
from tests.survey.test_citizen_survey import token_for

SHORT = registry.get("sipas-short")
CHANNELS = ("", "qr", "kiosk", "campaign", "web", "paper", "expert")
RCHANNELS = ("", "direct", "online", "postal")


def expected_record(row, receipt) -> str:
    """The record written out by hand from a row's columns (JSON decoded here) and its receipt."""
    answers = row.answers if isinstance(row.answers, dict) else json.loads(row.answers)
    chosen = row.expectations if isinstance(row.expectations, list) else json.loads(row.expectations)
    q = registry.get(row.questionnaire_id, row.questionnaire_version)
    at = row.submitted_at if row.submitted_at.tzinfo else row.submitted_at.replace(tzinfo=UTC)
    proc = row.procedure_id or (receipt.procedure_id if receipt is not None else None) or 0
    return (
        f"{row.id:<36}{row.unit_id:010d}{proc:010d}{row.device_id or 0:010d}{calendar.timegm(at.utctimetuple()):012d}"
        f"{CHANNELS.index(row.channel)}{RCHANNELS.index(receipt.channel) if receipt is not None else 0}{row.overall or 0}"
        + hashlib.sha256(f"{q.id}\x1f{q.version}".encode()).hexdigest()[:8]
        + "".join(str(answers.get(i, 0)) for i in q.item_ids())
        + ("".join("1" if o.id in chosen else "0" for o in q.expectations.options) if q.expectations else "")
    )


async def check_every_row(db) -> int:
    db.expire_all()
    rows = (await db.execute(select(Response))).scalars().all()
    receipts = {r.id: r for r in (await db.execute(select(Receipt))).scalars().all()}
    for row in rows:
        assert row.packed == expected_record(row, receipts.get(row.receipt_id)), row.channel
    return len(rows)


async def test_every_write_path_stores_the_record_its_json_says(client, db, settings):
    unit = await make_unit(db)
    proc = await make_procedure(db)
    other = await make_procedure(db, code="2.000111", name="Đăng ký kinh doanh", field="Kinh doanh")
    receipts = [await make_receipt(db, unit, proc, dossier_code=f"000.00.01.H01-261122-000{i}", channel=ch)
                for i, ch in enumerate(("online", "direct", "postal", "online"))]
    rids = [r.id for r in receipts]
    unit_id, proc_id, other_id = unit.id, proc.id, other.id
    answers = {i: 1 + n % 5 for n, i in enumerate(SHORT.item_ids())}
    answers[SHORT.item_ids()[2]] = 0  # "Không ý kiến"
    # the JSON API (/api/v1/responses): the receipt's procedure and channel come from the token's receipt
    r = await client.post("/api/v1/responses", json={"token": token_for(settings, rids[0]), "answers": answers, "overall": 2,
                                                    "expectations": ["fees", "online"]})
    assert r.status_code == 201, r.text
    # kiosk with a scanned receipt, no procedure of its own (the record takes the receipt's)
    await store_response(db, Submission("kiosk", 1, "kiosk", unit_id, {"access": 5}, overall=5, receipt_id=rids[1], device_id=7,
                                        client_uuid="0f8fad5b-d9cb-469f-a165-70867728950e", receipt_procedure_id=proc_id,
                                        receipt_channel="direct"))
    # a caller that names a receipt but not its facts: store_response looks them up
    await store_response(db, Submission("sipas-short", 1, "qr", unit_id, answers, overall=4, expectations=["time"], receipt_id=rids[2]))
    # a campaign answer (no receipt; the procedure of the drawn member)
    await store_response(db, Submission("sipas-full", 1, "campaign", unit_id, {i: 4 for i in registry.get("sipas-full").item_ids()},
                                        overall=3, procedure_id=other_id, client_uuid="1f8fad5b-d9cb-469f-a165-70867728950e"))
    # any other insert (ORM, bulk Core) gets the record from the column default, receipt facts included
    db.add(Response(id="orm-row", receipt_id=rids[3], unit_id=unit_id, questionnaire_id="sipas-short", questionnaire_version=1, channel="qr",
                    answers={"officer": 3}, overall=1, expectations=["attitude"], submitted_at=datetime(2026, 11, 2, 3, 4, 5, 678, tzinfo=UTC)))
    await db.commit()
    assert await check_every_row(db) == 5
    packed = dict((await db.execute(select(Response.channel, Response.packed).where(Response.receipt_id == rids[0]))).all())
    assert packed["qr"][46:56] == f"{proc_id:010d}" and packed["qr"][79] == "2"  # the receipt's procedure; channel "online"


async def test_bulk_twin_equals_pack():
    rng = np.random.default_rng(1)
    n = 6
    ids = [f"{i:08x}-0000-4000-8000-000000000000" for i in range(n)]
    ans = {i: rng.integers(0, 6, n) for i in SHORT.item_ids()}
    ch = {o.id: rng.random(n) < 0.4 for o in SHORT.expectations.options}
    epochs = rng.integers(1.7e9, 1.8e9, n)
    got = readmodel.pack_arrays(ids=ids, unit_ids=np.arange(n) + 2, procedure_ids=np.arange(n) % 3, device_ids=np.zeros(n, int),
                                epochs=epochs, channels=["qr"] * n, receipt_channels=["online"] * n, overall=np.arange(n) % 6,
                                questionnaire=("sipas-short", 1), answers=ans, chosen=ch)
    for j in range(n):
        want = readmodel.pack(id=ids[j], unit_id=j + 2, procedure_id=j % 3, device_id=None, submitted_at=datetime.fromtimestamp(int(epochs[j]), UTC),
                              channel="qr", questionnaire_id="sipas-short", questionnaire_version=1,
                              answers={i: int(v[j]) for i, v in ans.items()}, overall=j % 6,
                              expectations=[o for o, v in ch.items() if v[j]], receipt_channel="online")
        assert got[j] == want
    with pytest.raises(ValueError, match="one digit"):
        readmodel.pack(id="x", unit_id=1, procedure_id=None, device_id=None, submitted_at=datetime.now(UTC), channel="qr",
                       questionnaire_id="sipas-short", questionnaire_version=1, answers={"access": 12}, overall=1, expectations=[])


def reference_load(rows, receipts, procs, items, areas, compatible, start, end, tz):
    """What load_index_responses must return, decoded from the JSON columns in Python."""
    from zoneinfo import ZoneInfo

    out = []
    for r in rows:
        at = r.submitted_at if r.submitted_at.tzinfo else r.submitted_at.replace(tzinfo=UTC)
        if not (start <= at < end) or r.channel not in ("qr", "kiosk", "campaign"):
            continue
        rc = receipts.get(r.receipt_id)
        proc = r.procedure_id or (rc.procedure_id if rc else None) or 0
        q = registry.get(r.questionnaire_id, r.questionnaire_version)
        a = r.answers or {}
        opts = [o.id for o in q.expectations.options] if q.expectations else []
        out.append((r.id, r.unit_id, procs.get(proc) or "", r.channel, r.review_status, r.device_id or 0, at.astimezone(ZoneInfo(tz)).date(),
                    tuple(int(a.get(i, 0)) if i in q.item_ids() else 0 for i in items), r.overall or 0,
                    tuple(o in (r.expectations or []) and o in opts for o in areas),
                    r.questionnaire_id if r.questionnaire_id in compatible else "",
                    rc.channel if rc else ""))
    return sorted(out)


async def test_loader_reads_what_the_json_says_on_the_demo(settings, db):
    from zoneinfo import ZoneInfo

    from survey.demo import ensure_demo_async
    from survey.stats import FrameFilter, _period_bounds, load_index_responses

    await ensure_demo_async(settings, "127.0.0.1", 8123)
    n = await check_every_row(db)  # the demo's bulk rows and the kiosk fleet's re-assigned devices
    assert n > 1000
    # one row loses its record (as if written by an old version): the loader packs it itself
    victim = (await db.execute(select(Response.id).where(Response.channel == "qr").limit(1))).scalar_one()
    await db.execute(text("UPDATE responses SET packed = NULL, review_status = 'rejected' WHERE id = :i"), {"i": victim})
    await db.commit()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    start_d, end_d = today - timedelta(days=120), today
    items = SHORT.item_ids()
    areas = [o.id for o in SHORT.expectations.options]
    compatible = ("kiosk", "sipas-short")
    got = await load_index_responses(db, period_start=start_d, period_end=end_d, items=items, areas=areas,
                                     channels=("qr", "kiosk", "campaign"), questionnaires=compatible, timezone=settings.timezone)
    db.expire_all()
    rows = (await db.execute(select(Response))).scalars().all()
    receipts = {r.id: r for r in (await db.execute(select(Receipt))).scalars().all()}
    procs = dict((await db.execute(select(Procedure.id, Procedure.field))).all())
    start, end = _period_bounds(FrameFilter(period_from=start_d, period_to=end_d, timezone=settings.timezone))
    want = reference_load(rows, receipts, procs, items, areas, compatible, start, end, settings.timezone)
    assert len(got) == len(want) > 1000
    ids = got.response_id_strings()
    assert ids == sorted(ids)
    mine = sorted(zip(
        ids, got.unit_ids.tolist(), got.fields.tolist(), got.channels.tolist(), [("accepted", "pending", "rejected")[c] for c in got.review_codes.tolist()],
        got.device_ids.tolist(), got.day.astype(object).tolist(), [tuple(a) for a in got.answers.tolist()], got.overall.tolist(),
        [tuple(c) for c in got.chosen.tolist()], got.questionnaire_ids.tolist(), got.receipt_channels.tolist(), strict=True,
    ))
    assert mine == want
    assert {r[4] for r in mine} >= {"accepted", "rejected"} and any(r[2] for r in mine) and any(any(r[9]) for r in mine)


async def test_receipt_counts_equal_a_count_of_the_rows(settings, db):
    from zoneinfo import ZoneInfo

    from survey.db.models import CampaignMember
    from survey.demo import ensure_demo_async
    from survey.stats import load_receipt_counts

    await ensure_demo_async(settings, "127.0.0.1", 8123)
    tz = ZoneInfo(settings.timezone)
    today = datetime.now(tz).date()
    got = await load_receipt_counts(db, period_start=today - timedelta(days=60), period_end=today, timezone=settings.timezone)
    start = datetime.combine(today - timedelta(days=60), datetime.min.time(), tz)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tz)
    procs = dict((await db.execute(select(Procedure.id, Procedure.field))).all())
    bad = {r for (r,) in (await db.execute(select(Response.receipt_id).where(Response.overall.in_((1, 2)), Response.review_status == "accepted")))}
    bad |= {r for (r,) in (await db.execute(select(CampaignMember.receipt_id).join(Response, Response.id == CampaignMember.response_id)
                                            .where(Response.overall.in_((1, 2)))))}
    want: dict[tuple[int, str], list[int]] = {}
    for rc in (await db.execute(select(Receipt))).scalars().all():
        if not (start <= rc.received_at < end):
            continue
        late = rc.returned_at is not None and rc.appointment_at is not None and rc.returned_at.astimezone(tz).date() > rc.appointment_at.astimezone(tz).date()
        c = want.setdefault((rc.unit_id, procs.get(rc.procedure_id) or ""), [0, 0, 0])
        c[0] += 1
        c[1] += late
        c[2] += rc.id in bad
    mine = {(u, f): [d, o, b] for u, f, d, o, b in zip(got.unit_ids.tolist(), got.fields.tolist(), got.dossiers.tolist(), got.overdue.tolist(),
                                                        got.dissatisfied.tolist(), strict=True)}
    assert mine == want
    assert sum(v[1] for v in want.values()) > 0 and sum(v[2] for v in want.values()) > 0


def test_migration_backfills_existing_rows(tmp_path):
    """On a SQLite file of its own, in both passes (the PostgreSQL schema is shared by the run)."""
    import sqlite3

    from survey.db.migrate import upgrade

    path = tmp_path / "old.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0007_sessions")
    con = sqlite3.connect(path)
    now = "2026-11-20 01:02:03.000000"
    con.execute("INSERT INTO units (id, code, name, kind, active, created_at) VALUES (5, 'U', 'Đơn vị', 'ward', 1, ?)", (now,))
    con.execute("INSERT INTO procedures (id, code, name, field, processing_days, created_at) VALUES (9, 'P', 'Thủ tục', 'Đất đai', 3, ?)", (now,))
    con.execute("INSERT INTO receipts (id, dossier_code, unit_id, procedure_id, received_at, channel, token_expires_at, created_at) "
                "VALUES (3, 'D-1', 5, 9, ?, 'postal', ?, ?)", (now, now, now))
    cols = "(id, receipt_id, unit_id, procedure_id, questionnaire_id, questionnaire_version, channel, answers, overall, expectations, language, submitted_at, device_id, integrity_flags, review_status, extra)"
    con.execute(f"INSERT INTO responses {cols} VALUES ('a', 3, 5, NULL, 'sipas-short', 1, 'qr', '{{\"access\": 4, \"result\": 0}}', 2, '[\"fees\"]', 'vi', ?, NULL, '[]', 'accepted', '{{}}')", (now,))
    con.execute(f"INSERT INTO responses {cols} VALUES ('b', NULL, 5, NULL, 'kiosk', 1, 'kiosk', '{{}}', 5, '[]', 'vi', ?, 4, '[]', 'pending', '{{}}')", (now,))
    con.commit()
    con.close()
    upgrade(url)
    con = sqlite3.connect(path)
    got = dict(con.execute("SELECT id, packed FROM responses").fetchall())
    con.close()
    epoch = calendar.timegm(datetime(2026, 11, 20, 1, 2, 3).timetuple())
    key = lambda q: hashlib.sha256(f"{q}\x1f1".encode()).hexdigest()[:8]  # noqa: E731
    assert got["a"] == f"{'a':<36}{5:010d}{9:010d}{0:010d}{epoch:012d}132{key('sipas-short')}40000" + "000100000"
    assert got["b"] == f"{'b':<36}{5:010d}{0:010d}{4:010d}{epoch:012d}205{key('kiosk')}00000"


def test_the_benchmark_seeds_the_records_the_app_writes():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_indices", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_indices.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    d = bench.make_rows(40)
    ids = [f"{i:08x}-1111-4000-8000-000000000000" for i in range(40)]
    got = bench.packed_records(ids, d)
    assert d["kiosk"].any() and (~d["kiosk"]).any()
    for j in range(40):
        kiosk = bool(d["kiosk"][j])
        at = d["submitted"][j].astype("datetime64[us]").astype(datetime).replace(tzinfo=UTC)
        want = readmodel.pack(
            id=ids[j], unit_id=int(d["unit"][j]), procedure_id=int(d["proc"][j]), device_id=int(d["device"][j]) or None, submitted_at=at,
            channel="kiosk" if kiosk else "qr", questionnaire_id="kiosk" if kiosk else "sipas-short", questionnaire_version=1,
            answers={it: int(v) for it, v in zip(bench.ITEMS, d["items"][j], strict=True) if v or not kiosk}, overall=int(d["overall"][j]),
            expectations=[a for a, c in zip(bench.AREAS, d["chosen"][j], strict=True) if c],
        )
        assert got[j] == want
