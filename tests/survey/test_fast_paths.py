"""The faster request paths give the same results as the slow ones they replaced.

- QR: the mask chosen on numpy arrays and the run-merged SVG path give the very module matrix that
  the ``qrcode`` library itself produces (its own mask search, its own drawing).
- SQLite writers take turns (``sqlite_write_turn``) without deadlocking a session that already
  holds the write lock, and many concurrent writers all get stored.
- A unit-restricted API client registering for its own unit is still refused other units.
"""

from __future__ import annotations

import asyncio
import random
import re
import string
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import qrcode
import qrcode.util
from sqlalchemy import func, select

from survey.db.engine import make_engine, make_sessionmaker
from survey.db.models import Response, Unit
from survey.db.write_turns import sqlite_write_turn
from survey.receipts import clients, qr, services
from survey.responses.services import Submission, store_response
from tests.conftest import make_receipt, make_unit

ALNUM = string.ascii_uppercase + string.digits


def reference_modules(data: str) -> np.ndarray:
    """What plain ``qrcode`` makes of ``data`` (its own eight-layout mask search), quiet zone included."""
    ref = qrcode.QRCode(error_correction=qr.ERROR_CORRECTION, border=qr.BORDER)
    ref.add_data(data, optimize=0)
    ref.make(fit=True)
    return np.array(ref.get_matrix(), dtype=bool)


def raster_svg_path(svg: bytes) -> np.ndarray:
    """Paint the <path> of our SVG onto a module grid: every sub-path must be an axis-aligned rectangle."""
    root = ET.fromstring(svg)
    size = int(root.get("viewBox").split()[2])
    assert root.get("width") == f"{size}mm" and root.get("height") == f"{size}mm"
    paths = [el for el in root.iter() if el.tag.endswith("path")]
    assert len(paths) == 1
    grid = np.zeros((size, size), dtype=np.int8)
    subpaths = re.findall(r"M(\d+),(\d+)h(\d+)v1h-(\d+)z", paths[0].get("d"))
    assert "".join(f"M{x},{y}h{w}v1h-{w2}z" for x, y, w, w2 in subpaths) == paths[0].get("d")
    for x, y, w, w2 in subpaths:
        x, y, w = int(x), int(y), int(w)
        assert w == int(w2) and w > 0
        grid[y, x : x + w] += 1
    assert grid.max() <= 1, "rectangles overlap"
    return grid.astype(bool)


def random_links(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    # typical links (version 3-4) and long ones that need version information blocks (version >= 7)
    lengths = [37, 37, 37, 60, 90, 150, 220, 300]
    return ["HTTPS://HAILONG.EXAMPLE.GOV.VN/R/" + "".join(rng.choice(ALNUM) for _ in range(rng.choice(lengths))) for _ in range(n)]


@pytest.mark.parametrize("data", random_links(40))
def test_fast_mask_choice_gives_qrcodes_own_matrix(data):
    expected = reference_modules(data)
    assert np.array_equal(qr.matrix(data), expected)


def test_penalty_score_matches_qrcode_for_every_mask():
    for data in random_links(6, seed=11):
        ref = qrcode.QRCode(error_correction=qr.ERROR_CORRECTION)
        ref.add_data(data, optimize=0)
        ref.make(fit=True)
        for pattern in range(8):
            ref.makeImpl(True, pattern)
            assert qr.lost_point(np.array(ref.modules, dtype=bool)) == qrcode.util.lost_point(ref.modules), (data, pattern)


@pytest.mark.parametrize("data", random_links(10, seed=3) + ["HTTP://127.0.0.1:8000/R/KJAQAAAAAAA7UCQRIDISOODSMYKMK4AEAII62"])
def test_svg_path_draws_the_same_module_matrix(data):
    svg = qr.svg.__wrapped__(data)  # bypass the cache: this renders
    assert np.array_equal(raster_svg_path(svg), reference_modules(data))
    # runs are merged: clearly fewer rectangles than dark modules
    assert svg.count(b"M") < 0.75 * reference_modules(data).sum()


async def test_served_svg_is_the_matrix_of_the_receipt_link(client, db, settings):
    await make_unit(db, code="P.HALONG", name="Phường Hạ Long", kind="ward")
    at = datetime.now(UTC) - timedelta(hours=1)
    item = services.ReceiptInput(dossier_code=f"000.00.12.H47-{services.local_day(settings, at):%y%m%d}-0009", unit_code="P.HALONG", received_at=at)
    registered = await services.register_receipt(db, item, None, settings)
    r = await client.get(f"/qr/{registered.token}.svg")
    assert r.status_code == 200
    assert np.array_equal(raster_svg_path(r.content), reference_modules(registered.survey_url))


def _submission(receipt_id: int, unit_id: int) -> Submission:
    return Submission(
        questionnaire_id="sipas-short", questionnaire_version=1, channel="qr", unit_id=unit_id, receipt_id=receipt_id,
        answers={"access": 4, "procedure": 4, "officer": 5, "result": 3, "feedback": 4}, overall=4,
    )


async def test_many_concurrent_writers_are_all_stored(db, settings):
    unit = await make_unit(db)
    receipts = [await make_receipt(db, unit, dossier_code=f"000.00.01.H01-261122-{i + 1:04d}") for i in range(24)]
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)

    async def one(receipt_id: int) -> str:
        async with maker() as session:
            return (await store_response(session, _submission(receipt_id, unit.id))).id

    try:
        ids = await asyncio.wait_for(asyncio.gather(*(one(r.id) for r in receipts)), timeout=60)
    finally:
        await engine.dispose()
    assert len(set(ids)) == 24
    assert await db.scalar(select(func.count()).select_from(Response)) == 24


async def test_a_session_holding_the_write_lock_does_not_wait_for_the_turn(db, settings):
    """Session A has written (uncommitted) before storing; B has taken the turn and waits on A's lock.

    A must not queue behind B (B waits for A): it commits at once, then B goes through.
    """
    unit = await make_unit(db)
    r1 = await make_receipt(db, unit, dossier_code="000.00.01.H01-261122-0001")
    r2 = await make_receipt(db, unit, dossier_code="000.00.01.H01-261122-0002")
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    try:
        async with maker() as a, maker() as b:
            a.add(Unit(code="NEW", name="Đơn vị mới", kind="ward"))
            await a.flush()  # A now holds SQLite's write lock (on PostgreSQL: a row lock nobody else wants)
            b_task = asyncio.create_task(store_response(b, _submission(r2.id, unit.id)))
            await asyncio.sleep(0.2)  # B takes the turn and waits for the database
            stored_a = await asyncio.wait_for(store_response(a, _submission(r1.id, unit.id)), timeout=10)
            stored_b = await asyncio.wait_for(b_task, timeout=20)
    finally:
        await engine.dispose()
    assert stored_a.created and stored_b.created
    db.expire_all()
    assert await db.scalar(select(func.count()).select_from(Response)) == 2
    assert await db.scalar(select(Unit.id).where(Unit.code == "NEW")) is not None


async def test_sqlite_write_turn_is_reentrant_free_and_releases_on_error(db):
    """The turn is released when the body raises, so the next writer is not blocked."""
    with pytest.raises(RuntimeError):
        async with sqlite_write_turn(db):
            raise RuntimeError("boom")
    async with asyncio.timeout(5), sqlite_write_turn(db):
        pass


async def test_restricted_client_own_unit_fast_path_still_refuses_other_units(db, settings):
    parent = await make_unit(db, code="SNV")
    child = await make_unit(db, code="SNV.PHONG1", name="Phòng 1", kind="ward", parent_id=parent.id)
    other = await make_unit(db, code="STP", name="Sở Tư pháp")
    client_row, _key = await clients.create_api_client(db, "one-stop", child.id)
    now = datetime.now(UTC) - timedelta(hours=1)

    def item(seq: int, unit_code: str) -> services.ReceiptInput:
        return services.ReceiptInput(dossier_code=f"000.00.01.H01-{services.local_day(settings, now):%y%m%d}-{seq:04d}", unit_code=unit_code, received_at=now)

    own = await services.register_receipt(db, item(1, "SNV.PHONG1"), client_row, settings)
    assert own.created and own.unit_code == "SNV.PHONG1"
    for seq, code in ((2, "SNV"), (3, other.code)):
        with pytest.raises(services.ReceiptForbidden):
            await services.register_receipt(db, item(seq, code), client_row, settings)
    # a parent client may register for a unit below it (the tree is read when it is needed)
    parent_client, _ = await clients.create_api_client(db, "province", parent.id)
    below = await services.register_receipt(db, item(4, "SNV.PHONG1"), parent_client, settings)
    assert below.created
