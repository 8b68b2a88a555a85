"""CSV imports: good files import; any bad row stops the import with its line number and writes nothing."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey.db.models import Procedure, Receipt, Unit
from survey.imports import cli, services
from survey.imports.services import EXAMPLES_DIR, CsvImportError

UNITS = EXAMPLES_DIR / "units.csv"
PROCEDURES = EXAMPLES_DIR / "procedures.csv"
RECEIPTS = EXAMPLES_DIR / "receipts.csv"


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


def data_rows(path: Path) -> int:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


async def import_examples(db, settings):
    await services.import_units(db, UNITS)
    await services.import_procedures(db, PROCEDURES)
    return await services.import_receipts(db, RECEIPTS, settings)


async def test_example_files_import_with_vietnamese_names(db, settings):
    result = await import_examples(db, settings)
    assert await count(db, Unit) == data_rows(UNITS)
    assert await count(db, Procedure) == data_rows(PROCEDURES)
    assert await count(db, Receipt) == data_rows(RECEIPTS) == result.created
    ward = await db.scalar(select(Unit).where(Unit.code == "P.HALONG"))
    province = await db.scalar(select(Unit).where(Unit.code == "QNI"))
    assert ward.name == "Phường Hạ Long" and ward.parent_id == province.id and ward.kind == "ward"
    assert (await db.scalar(select(Unit).where(Unit.code == "DK.COTO"))).kind == "special_zone"
    proc = await db.scalar(select(Procedure).where(Procedure.code == "1.004227"))
    assert proc.name.startswith("Đăng ký biến động quyền sử dụng đất, quyền sở hữu")  # quoted comma kept
    # dd/mm/yyyy dates and the Vietnamese channel name are understood
    r = await db.scalar(select(Receipt).where(Receipt.dossier_code == "000.00.13.H47-261118-0001"))
    assert r.channel == "direct" and r.counter == "Quầy 3" and r.returned_at is not None

    again = await services.import_receipts(db, RECEIPTS, settings)  # idempotent
    assert again.created == 0 and again.updated == data_rows(RECEIPTS)
    assert await count(db, Receipt) == data_rows(RECEIPTS)


async def test_units_upsert_on_code(db):
    await services.import_units(db, UNITS)
    changed = UNITS.read_bytes().replace("Sở Nội vụ".encode(), "Sở Nội vụ tỉnh Quảng Ninh".encode())
    result = await services.import_units(db, changed)
    assert (result.created, result.updated) == (0, 1)
    assert (await db.scalar(select(Unit.name).where(Unit.code == "SNV"))) == "Sở Nội vụ tỉnh Quảng Ninh"


async def test_bom_is_handled(db):
    text = "code,name,kind,parent_code\nT1,Tỉnh Một,province,\nX1,Xã Hòa Bình,commune,T1\n"
    result = await services.import_units(db, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert result.created == 2
    assert (await db.scalar(select(Unit.name).where(Unit.code == "X1"))) == "Xã Hòa Bình"


@pytest.mark.parametrize(
    "content, line, field",
    [
        ("code,name,kind,parent_code\nT1,Tỉnh Một,province,\nX1,Xã Hai,village,T1\n", 3, "kind"),
        ("code,name,kind,parent_code\nT1,Tỉnh Một,province,\nX1,,commune,T1\n", 3, "name"),
        ("code,name,kind,parent_code\nX1,Xã Hai,commune,T1\nT1,Tỉnh Một,province,\n", 2, "parent_code"),  # parent later
        ("code,name,kind,parent_code\nT1,Tỉnh Một,province,\nT1,Tỉnh Một,province,\n", 3, "code"),  # duplicate
        ("code,name,kind,parent_code\nT1,Tỉnh Một,province,\n\nX1,Xã Hai,commune,T1,extra\n", 4, "row"),
        ("code,name,kindd\nT1,Tỉnh Một,province\n", 1, "header"),
    ],
)
async def test_bad_unit_row_reports_line_and_writes_nothing(db, content, line, field):
    before = await count(db, Unit)
    with pytest.raises(CsvImportError) as info:
        await services.import_units(db, content.encode("utf-8"))
    assert str(info.value).startswith(f"line {line}: {field}: ")
    assert await count(db, Unit) == before == 0


async def test_non_utf8_file_is_refused(db):
    content = "code,name,kind,parent_code\nT1,Tỉnh Một,province,\n".encode("cp1258", errors="replace")
    content += "X1,Xã Hai,commune,T1\n".encode("utf-16-le")
    with pytest.raises(CsvImportError, match="UTF-8"):
        await services.import_units(db, content)
    assert await count(db, Unit) == 0


async def test_bad_procedure_row(db):
    content = "code,name,field,processing_days\n1.0001,Cấp phép,Xây dựng,15\n1.0002,Khai sinh,Hộ tịch,một ngày\n"
    with pytest.raises(CsvImportError, match=r"^line 3: processing_days: "):
        await services.import_procedures(db, content.encode())
    assert await count(db, Procedure) == 0


async def test_bad_receipt_row_in_the_middle_writes_nothing(db, settings):
    await services.import_units(db, UNITS)
    await services.import_procedures(db, PROCEDURES)
    lines = RECEIPTS.read_text(encoding="utf-8").splitlines()
    bad = lines[:]
    bad[6] = bad[6].replace("-261118-", "-261131-")  # 31 November: not a real date, on file line 7
    before = await count(db, Receipt)
    with pytest.raises(CsvImportError) as info:
        await services.import_receipts(db, ("\n".join(bad) + "\n").encode(), settings)
    assert str(info.value).startswith("line 7: dossier_code: ")
    assert await count(db, Receipt) == before == 0

    bad = lines[:]
    bad[3] = bad[3].replace("2026-11-17T09:10:00+07:00", "hôm qua")
    bad[9] = bad[9].replace(",STP,", ",KHONGCO,")
    with pytest.raises(CsvImportError) as info:
        await services.import_receipts(db, ("\n".join(bad) + "\n").encode(), settings)
    assert [str(e).split(":")[0:2] for e in info.value.errors] == [["line 4", " received_at"], ["line 10", " unit_code"]]
    assert await count(db, Receipt) == 0


def count_sync(settings, model) -> int:
    import asyncio

    from survey.db.engine import make_engine, make_sessionmaker

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await count(session, model)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_cli_exit_codes_and_messages(settings, tmp_path, capsys):  # sync: the CLI runs its own event loop
    assert cli.import_units_cmd(Namespace(file=UNITS), settings) == 0
    assert f"{data_rows(UNITS)} units: {data_rows(UNITS)} created" in capsys.readouterr().out
    broken = tmp_path / "units.csv"
    broken.write_text("code,name,kind,parent_code\nZ1,Xã Z,commune,NOPE\n", encoding="utf-8")
    assert cli.import_units_cmd(Namespace(file=broken), settings) == 1
    err = capsys.readouterr().err
    assert "line 2: parent_code: unknown unit 'NOPE'" in err and "nothing was imported" in err
    assert count_sync(settings, Unit) == data_rows(UNITS)
    assert cli.import_units_cmd(Namespace(file=tmp_path / "missing.csv"), settings) == 1


def test_help_mentions_upsert():
    from survey.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "Upserts on code" in sub.choices["import-units"].description
    assert "Upserts on code" in sub.choices["import-procedures"].description
    assert {"import-units", "import-procedures", "import-receipts", "create-api-client"} <= set(sub.choices)


def test_create_api_client_cli_prints_key_once(settings, capsys):
    from survey.receipts.cli import create_api_client_cmd

    assert create_api_client_cmd(Namespace(name="Một cửa", unit=None), settings) == 0
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    assert key.startswith("hl_") and len(key) > 50
    assert create_api_client_cmd(Namespace(name="X", unit="NOPE"), settings) == 1
