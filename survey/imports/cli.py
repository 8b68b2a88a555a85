"""``hailong import-units | import-procedures | import-receipts FILE`` (and, via survey.receipts.cli,
``create-api-client`` / ``revoke-api-client``).

Each import reads and validates the whole file first; any bad row stops it with
``line N: <field>: <reason>``, nothing is written, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import survey.receipts.cli  # noqa: F401  (registers create-api-client, revoke-api-client)
from survey.cli import command
from survey.settings import Settings

_NOTES = {
    "units": "Columns: code,name,kind,parent_code (kind: province|department|commune|ward|special_zone; "
    "parent_code defined on an earlier line or already in the database). Upserts on code: an existing "
    "unit gets the file's name, kind and parent.",
    "procedures": "Columns: code,name,field,processing_days. Upserts on code: an existing procedure gets the "
    "file's name, field and processing days.",
    "receipts": "Columns: dossier_code,unit_code,procedure_code,received_at,appointment_date,returned_at,"
    "channel,counter. Idempotent on dossier_code: receipts already registered for the same unit are kept "
    "(an empty returned_at is filled); a code registered for another unit is an error.",
}
_COMMON = (
    "UTF-8 CSV with a header row (a BOM is fine). The whole file is validated first; a bad row stops the "
    "import with 'line N: field: reason' and nothing is written (one transaction, exit code 1). "
)


def _args(kind: str):
    def add(p: argparse.ArgumentParser) -> None:
        p.description = f"Import {kind} from a CSV file. {_COMMON}{_NOTES[kind]} Examples: survey/imports/examples/{kind}.csv"
        p.add_argument("file", type=Path, help=f"CSV file of {kind}")

    return add


def run_import(kind: str, path: Path, settings: Settings, *, show_progress: bool | None = None) -> int:
    """Run one import; prints the summary or the errors; returns the exit code."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from survey import audit
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.db.migrate import upgrade
    from survey.imports import services

    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 1
    data = path.read_bytes()
    upgrade(settings.database_url)
    console = Console(stderr=True)
    lines = data.count(b"\n")
    if show_progress is None:
        show_progress = console.is_terminal and lines >= 500

    async def run() -> services.ImportResult:
        engine = make_engine(settings.database_url)
        try:
            with Progress(
                TextColumn(f"importing {kind}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=console, transient=True, disable=not show_progress,
            ) as bar:  # fmt: skip
                task = bar.add_task(kind, total=max(lines, 1))

                def advance(n: int) -> None:
                    bar.update(task, advance=n)

                who = {"actor": audit.cli_actor(), "source_name": path.name}
                async with make_sessionmaker(engine)() as session:
                    if kind == "units":
                        return await services.import_units(session, data, advance, **who)
                    if kind == "procedures":
                        return await services.import_procedures(session, data, advance, **who)
                    return await services.import_receipts(session, data, settings, advance, **who)
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(run())
    except services.CsvImportError as exc:
        for err in exc.errors:
            print(f"{path}: {err}", file=sys.stderr)
        print(f"{path}: nothing was imported", file=sys.stderr)
        return 1
    print(result.summary(kind))
    return 0


@command("import-units", "import units from CSV (code,name,kind,parent_code); upserts on code", _args("units"))
def import_units_cmd(args: argparse.Namespace, settings: Settings) -> int:
    return run_import("units", args.file, settings)


@command("import-procedures", "import procedures from CSV (code,name,field,processing_days); upserts on code", _args("procedures"))
def import_procedures_cmd(args: argparse.Namespace, settings: Settings) -> int:
    return run_import("procedures", args.file, settings)


@command("import-receipts", "import receipts from CSV; idempotent on dossier_code", _args("receipts"))
def import_receipts_cmd(args: argparse.Namespace, settings: Settings) -> int:
    return run_import("receipts", args.file, settings)
