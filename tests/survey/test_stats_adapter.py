"""survey/stats.py: the one ORM → numpy adapter (frames from the database or CSV, campaign responses)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from survey.campaigns.frame_csv import FrameCsvError, parse_frame_csv
from survey.db.models import Receipt
from survey.stats import FrameFilter, frame_from_csv_rows, load_frame
from tests.conftest import make_procedure, make_unit


async def add_receipt(db, unit, proc, code: str, received: datetime, channel: str = "direct", returned: bool = True) -> Receipt:
    r = Receipt(
        dossier_code=code, unit_id=unit.id, procedure_id=proc.id if proc else None, received_at=received,
        returned_at=received + timedelta(days=2) if returned else None, channel=channel,
        token_expires_at=received + timedelta(days=60),
    )
    db.add(r)
    await db.commit()
    return r


@pytest.fixture
async def world(db):
    a = await make_unit(db, code="XA", name="Xã A", kind="commune")
    b = await make_unit(db, code="PB", name="Phường B", kind="ward")
    land = await make_procedure(db, code="1.1", name="Đất", field="Đất đai")
    civil = await make_procedure(db, code="2.2", name="Hộ tịch", field="Hộ tịch")
    base = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
    rows = [
        (a, land, "A-1", base, "direct", True),
        (a, civil, "A-2", base + timedelta(days=1), "online", True),
        (a, civil, "A-3", base + timedelta(days=40), "direct", True),  # outside March
        (b, land, "B-1", base + timedelta(days=2), "postal", True),
        (b, civil, "B-2", base + timedelta(days=3), "direct", False),  # not returned yet
        (b, None, "B-3", base + timedelta(days=4), "direct", True),  # no procedure
    ]
    receipts = {code: await add_receipt(db, u, p, code, t, ch, ret) for u, p, code, t, ch, ret in rows}
    return {"a": a, "b": b, "land": land, "civil": civil, "receipts": receipts}


async def test_frame_from_db_has_aligned_read_only_arrays(db, world):
    frame = await load_frame(db, FrameFilter(completed_only=False))
    assert len(frame) == 6
    assert frame.receipt_ids.tolist() == sorted(r.id for r in world["receipts"].values())
    by_code = dict(zip(frame.dossier_codes.tolist(), range(len(frame)), strict=True))
    i = by_code["B-3"]
    assert frame.unit_codes[i] == "PB" and frame.procedure_ids[i] == 0 and frame.fields[i] == ""
    j = by_code["A-2"]
    assert frame.unit_ids[j] == world["a"].id and frame.procedure_ids[j] == world["civil"].id
    assert frame.fields[j] == "Hộ tịch" and frame.channels[j] == "online"
    assert frame.received[j] == np.datetime64("2026-03-11")
    for arr in (frame.receipt_ids, frame.unit_codes, frame.fields, frame.received):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = arr[1]


async def test_frame_filters(db, world):
    march = FrameFilter(period_from=date(2026, 3, 1), period_to=date(2026, 3, 31), completed_only=False)
    assert sorted((await load_frame(db, march)).dossier_codes.tolist()) == ["A-1", "A-2", "B-1", "B-2", "B-3"]
    completed = FrameFilter(period_from=date(2026, 3, 1), period_to=date(2026, 3, 31))
    assert "B-2" not in (await load_frame(db, completed)).dossier_codes.tolist()
    one_day = FrameFilter(period_from=date(2026, 3, 11), period_to=date(2026, 3, 11), completed_only=False)
    assert (await load_frame(db, one_day)).dossier_codes.tolist() == ["A-2"]
    units = await load_frame(db, FrameFilter(unit_codes=("PB",), completed_only=False))
    assert set(units.unit_codes.tolist()) == {"PB"} and len(units) == 3
    fields = await load_frame(db, FrameFilter(fields=("Hộ tịch",), completed_only=False))
    assert sorted(fields.dossier_codes.tolist()) == ["A-2", "A-3", "B-2"]
    channels = await load_frame(db, FrameFilter(channels=("online", "postal")))
    assert sorted(channels.dossier_codes.tolist()) == ["A-2", "B-1"]
    by_id = await load_frame(db, FrameFilter(unit_ids=(world["a"].id,), procedure_ids=(world["land"].id,)))
    assert by_id.dossier_codes.tolist() == ["A-1"]
    assert len(await load_frame(db, FrameFilter(unit_codes=("NOPE",)))) == 0


async def test_strata_labels_combine_variables(db, world):
    frame = await load_frame(db, FrameFilter(completed_only=False))
    labels = frame.strata(("unit", "field")).tolist()
    expected = [f"{u} | {f}" for u, f in zip(frame.unit_codes.tolist(), frame.fields.tolist(), strict=True)]
    assert labels == expected
    assert frame.strata(()).tolist() == ["all"] * len(frame)
    assert frame.counts("unit") == {"PB": 3, "XA": 3}
    with pytest.raises(ValueError, match="strata variable"):
        frame.strata(("colour",))


async def test_frame_from_csv_resolves_units_receipts_procedures(db, world):
    rec = world["receipts"]["A-1"]
    text = (
        "receipt_id,dossier_code,unit_code,procedure_code,field,channel,received_at\n"
        f"{rec.id},,XA,1.1,Đất đai,direct,2026-03-10\n"
        ",B-1,PB,1.1,Đất đai,postal,12/03/2026\n"
        ",NEW-9,PB,9.9,Khác,online,2026-03-13\n"
    )
    frame = await frame_from_csv_rows(db, parse_frame_csv(text.encode()))
    assert frame.source == "csv"
    assert frame.receipt_ids.tolist() == [rec.id, world["receipts"]["B-1"].id, 0]
    assert frame.dossier_codes.tolist() == ["A-1", "B-1", "NEW-9"]
    assert frame.unit_ids.tolist() == [world["a"].id, world["b"].id, world["b"].id]
    assert frame.procedure_ids.tolist() == [world["land"].id, world["land"].id, 0]
    assert frame.received.tolist() == [date(2026, 3, 10), date(2026, 3, 12), date(2026, 3, 13)]


async def test_frame_csv_unknown_unit_or_receipt_names_the_line(db, world):
    text = "dossier_code,unit_code,procedure_code,field,channel,received_at\nX-1,XA,,Đất đai,direct,2026-03-10\nX-2,ZZ,,Đất đai,direct,2026-03-10\n"
    with pytest.raises(FrameCsvError) as exc:
        await frame_from_csv_rows(db, parse_frame_csv(text))
    assert str(exc.value) == "line 3: unit_code: unknown unit 'ZZ'"
    text = "receipt_id,unit_code,field,channel,received_at\n999999,XA,Đất đai,direct,2026-03-10\n"
    with pytest.raises(FrameCsvError, match="line 2: receipt_id: no receipt with id 999999"):
        await frame_from_csv_rows(db, parse_frame_csv(text))


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        ("A,XA,Đất đai,direct,2026-03-10\nB,XA,Đất đai,fax,2026-03-10\n", 3, "channel"),
        ("A,XA,Đất đai,direct,2026-02-30\n", 2, "received_at"),
        ("A,XA,Đất đai,direct,2026-03-10\nB,XA,Đất đai,direct\n", 3, "row"),
        ("A,XA,Đất đai,direct,2026-03-10\nA,XA,Đất đai,direct,2026-03-11\n", 3, "dossier_code"),
        ("A,,Đất đai,direct,2026-03-10\n", 2, "unit_code"),
        (",XA,Đất đai,direct,2026-03-10\n", 2, "dossier_code"),
    ],
)
def test_frame_csv_broken_rows(body, line, column):
    with pytest.raises(FrameCsvError) as exc:
        parse_frame_csv("dossier_code,unit_code,field,channel,received_at\n" + body)
    assert (exc.value.line, exc.value.column) == (line, column)
    assert str(exc.value).startswith(f"line {line}: {column}: ")


def test_frame_csv_missing_column_and_empty():
    with pytest.raises(FrameCsvError, match="line 1: channel: missing column"):
        parse_frame_csv("dossier_code,unit_code,field,received_at\nA,XA,F,2026-03-10\n")
    with pytest.raises(FrameCsvError, match="line 1: header"):
        parse_frame_csv("")
    with pytest.raises(FrameCsvError, match="no rows"):
        parse_frame_csv("dossier_code,unit_code,field,channel,received_at\n")
    with pytest.raises(FrameCsvError, match="not UTF-8"):
        parse_frame_csv(b"dossier_code,unit_code,field,channel,received_at\n\xff\xfe,XA,F,direct,2026-03-10\n")
