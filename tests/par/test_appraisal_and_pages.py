"""Appraisal CSV import (all or nothing, line-numbered errors), self vs council, admin pages, CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey.db.models import Appraisal, AuditLog, Composition
from survey.imports.services import CsvImportError
from survey.par import services as par
from tests.conftest import make_unit
from tests.par.helpers import DEPARTMENTS, appraisal_csv, expert_panel, make_index_run
from tests.survey.test_admin_pages import signed_in

HTML = {"accept": "text/html"}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
HAILONG = str(Path(sys.executable).parent / "hailong")
GOOD = b"unit,criterion,self_points,council_points,evidence\nSTP,1.1,3,2.5,QD-12/2025\nSTP,3.2,\"5,5\",5,BC-01\nSXD,1.1,,1,\n"


@pytest.fixture
async def departments(db):
    return {c: await make_unit(db, code=c, name=n, kind="department") for c, n in (("STP", "Sở Tư pháp"), ("SXD", "Sở Xây dựng"), ("STC", "Sở Tài chính"))}


async def test_import_keeps_self_and_council_points_and_the_difference(db, departments):
    r = await par.import_appraisal(db, GOOD, year=2025, methodology_id=DEPARTMENTS, actor="test")
    assert (r.rows, r.created) == (3, 3)
    rows = await par.appraisal_rows(db, year=2025, methodology_id=DEPARTMENTS)
    stp = [x for x in rows if x.unit_code == "STP"]
    assert [(x.criterion_id, x.self_points, x.council_points, x.difference) for x in stp] == [("1.1", 3.0, 2.5, -0.5), ("3.2", 5.5, 5.0, -0.5)]
    by_unit = {u["code"]: u for u in par.appraisal_by_unit(rows)}
    assert by_unit["STP"]["difference"] == -1.0 and by_unit["SXD"]["self_missing"] == 1
    # re-import replaces the same unit+criterion
    r = await par.import_appraisal(db, b"unit,criterion,self_points,council_points,evidence\nSTP,1.1,3,3,QD-12/2025\n", year=2025, methodology_id=DEPARTMENTS, actor="test")
    assert (r.created, r.updated) == (0, 1)
    assert await db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "par.import_appraisal")) == 2


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("NOPE,1.1,1,1,", "line 3: unit: unknown unit 'NOPE'"),
        ("STC,9.9,1,1,", "line 3: criterion: '9.9' is not a criterion of par-department-2025-v1"),
        ("STC,1.KS,1,1,", "line 3: criterion: 1.KS comes from expert_survey, not from the appraisal council"),
        ("STC,1.1,1,4,", "line 3: council_points: 4 is outside 0..3, the maximum of 1.1"),
        ("STC,1.1,1,abc,", "line 3: council_points: 'abc' is not a number"),
        ("STC,1.1,1,,", "line 3: council_points: is required"),
        ("STP,1.1,1,1,", "line 3: criterion: STP 1.1 appears twice (also on line 2)"),
    ],
)
async def test_a_bad_row_names_its_line_and_nothing_is_written(db, departments, row, expected):
    data = f"unit,criterion,self_points,council_points,evidence\nSTP,1.1,3,2.5,x\n{row}\nSXD,1.1,1,1,\n".encode()
    with pytest.raises(CsvImportError) as info:
        await par.import_appraisal(db, data, year=2025, methodology_id=DEPARTMENTS, actor="test")
    assert str(info.value.errors[0]) == expected
    assert await db.scalar(select(func.count()).select_from(Appraisal)) == 0


async def test_a_criterion_of_another_unit_kind_is_refused(db):
    await make_unit(db, code="XA", name="Xã A", kind="commune")
    data = b"unit,criterion,self_points,council_points,evidence\nXA,4.2,1,1,\n"
    with pytest.raises(CsvImportError, match="line 2: criterion: 4.2 does not apply to XA"):
        await par.import_appraisal(db, data, year=2025, methodology_id="par-commune-2025-v1", actor="test")


async def test_admin_pages_import_compose_and_publish(client, db, settings, departments):
    await signed_in(client, db, "statistician", "thongke")
    r = await client.get("/admin/par", headers=HTML)
    assert r.status_code == 200 and "par-department-2025-v1" in r.text
    token = CSRF_RE.search(r.text).group(1)
    bad = {"file": ("a.csv", b"unit,criterion,self_points,council_points,evidence\nSTP,1.1,1,9,\n", "text/csv")}
    r = await client.post("/admin/par/appraisal", data={"_csrf_token": token, "year": "2025", "methodology": DEPARTMENTS}, files=bad, headers=HTML)
    assert r.status_code == 400 and "line 2: council_points: 9 is outside 0..3" in r.text
    assert await db.scalar(select(func.count()).select_from(Appraisal)) == 0
    totals = {"STP": 55.0, "SXD": 50.0, "STC": 58.0}
    files = {"file": ("a.csv", appraisal_csv(DEPARTMENTS, "department", totals), "text/csv")}
    r = await client.post("/admin/par/appraisal", data={"_csrf_token": token, "year": "2025", "methodology": DEPARTMENTS}, files=files, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    r = await client.get(r.headers["location"], headers=HTML)
    assert r.status_code == 200 and "Sở Tư pháp" in r.text and "Chênh lệch" in r.text
    await expert_panel(db, settings, year=2025, ratings={"STP": 8, "SXD": 9, "STC": 5}, methodology_ids=(DEPARTMENTS,))
    run_id = await make_index_run(db, {c: {"sipas": 0.9, "pillar:officer": 0.75, "admin_766": 0.9} for c in totals})
    r = await client.get("/admin/par", headers=HTML)
    assert f'<option value="{run_id}"' in r.text
    r = await client.post("/admin/par/compose", data={"_csrf_token": token, "year": "2025", "block": f"{DEPARTMENTS}:department", "index_run_id": str(run_id)}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = await client.get(r.headers["location"], headers=HTML)
    assert page.status_code == 200 and 'id="ranking"' in page.text and "Hạng theo thẩm định" in page.text
    # STC: best appraisal (58, rank 1 on appraisal) but a weak survey (5/10): overall rank 3
    row = re.search(r'<tr id="r-STC">(.*?)</tr>', page.text, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0] == "3" and cells[4] == "1"
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    r = await client.post(f"/admin/par/compositions/{cid}/publish", data={"_csrf_token": token}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert (await db.scalar(select(Composition.status).where(Composition.id == cid))) == "published"
    csv_text = (await client.get(f"/admin/par/compositions/{cid}/ranking.csv")).text
    assert "STC" in csv_text and "rank,unit_code" in csv_text
    # no satisfaction run: an error naming it, not a 500
    r = await client.post("/admin/par/compose", data={"_csrf_token": token, "year": "2024", "block": f"{DEPARTMENTS}:department"}, headers=HTML)
    assert r.status_code == 400 and "no appraisal points" in r.text
    r = await client.get(f"/admin/par/methodology/{DEPARTMENTS}", headers=HTML)
    assert r.status_code == 200 and "8.2" in r.text


def test_cli_import_compose_publish(tmp_path, settings):
    env = {"HAILONG_DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}

    def run(*args):
        return subprocess.run([HAILONG, *args], capture_output=True, text=True, env=env, timeout=120)

    from tests.conftest import run_db

    async def arrange(session):
        for c in ("STP", "SXD"):
            await make_unit(session, code=c, name=c, kind="department")

    run_db(settings.database_url, arrange)
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,criterion,self_points,council_points,evidence\nSTP,1.1,1,7,\n", encoding="utf-8")
    r = run("par", "import-appraisal", str(bad), "--year", "2025", "--methodology", DEPARTMENTS)
    assert r.returncode == 2 and "bad.csv: line 2: council_points" in r.stderr and "nothing was written" in r.stderr
    good = tmp_path / "good.csv"
    good.write_bytes(appraisal_csv(DEPARTMENTS, "department", {"STP": 50.0, "SXD": 52.0}))
    r = run("par", "import-appraisal", str(good), "--year", "2025", "--methodology", DEPARTMENTS)
    assert r.returncode == 0 and "30 appraisal rows: 30 created" in r.stdout, r.stderr
    out = tmp_path / "rank.csv"
    r = run("par", "compose", "--year", "2025", "--methodology", DEPARTMENTS, "--block", "department", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("1,SXD,SXD,83.87,83.87,1,") and lines[2].startswith("2,STP,STP,80.65")  # only appraisal (62 points): rescaled to 100
    r = run("par", "publish", "1")
    assert r.returncode == 0 and "published" in r.stdout
    r = run("par", "publish", "1")
    assert r.returncode == 2 and "already published" in r.stderr
