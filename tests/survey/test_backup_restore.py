"""Restore drill: `hailong backup` while the app is under write load, `hailong restore` into a new
database, and every row acknowledged before the backup began is there (SQLite online backup API on the
SQLite pass, pg_dump/pg_restore on the PostgreSQL pass)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from survey.cli import main
from survey.db.models import AuditLog
from tests.conftest import is_postgres, run_db
from tests.survey.reliability import LOAD_SECONDS, AppProcess, Writer, arrange_api_client, stored


def _new_database(settings, tmp_path: Path) -> str:
    """An empty database beside the test one: a new SQLite file, or `<test db>_restore` on PostgreSQL."""
    if not is_postgres():
        return f"sqlite+aiosqlite:///{tmp_path / 'restored.sqlite3'}"
    import asyncpg

    url = make_url(settings.database_url)
    name = f"{url.database}_restore"

    async def recreate():
        conn = await asyncpg.connect(url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return url.set(database=name).render_as_string(hide_password=False)


def test_backup_under_write_load_restores_every_acknowledged_row(settings, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    unit_code, key = arrange_api_client(settings)
    server = AppProcess(settings).start()
    backup_file = tmp_path / "hailong.backup"
    try:
        writer = Writer(server.url, key, unit_code, prefix="000.00.01.H01-261122").start()
        writer.run_for(LOAD_SECONDS)
        began = time.monotonic()
        assert main(["backup", str(backup_file)]) == 0  # while the writers go on
        writer.run_for(LOAD_SECONDS / 2)
        writer.stop()
    finally:
        server.stop()
    assert "backup written" in capsys.readouterr().out
    before_codes = {c for t, c in writer.acked_receipts if t < began}
    before_ids = {r for t, r in writer.acked_responses if t < began}
    after_ids = {r for t, r in writer.acked_responses if t >= began}
    assert before_ids and after_ids, "the load must run before and during the backup"
    assert not writer.server_errors

    target = _new_database(settings, tmp_path)
    assert main(["restore", str(backup_file), "--database-url", target]) == 0
    codes, ids = stored(target)
    assert before_codes <= codes, sorted(before_codes - codes)[:5]
    assert before_ids <= ids, sorted(before_ids - ids)[:5]
    live_codes, live_ids = stored(settings.database_url)
    assert codes <= live_codes and ids <= live_ids  # the backup holds nothing that was never stored

    async def actions(session):
        return (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()

    assert "backup.restore" in run_db(target, actions)
    assert "backup.create" in run_db(settings.database_url, actions)

    # a database that already holds data is not overwritten by accident
    assert main(["restore", str(backup_file), "--database-url", target]) == 1
    assert "already holds data" in capsys.readouterr().err


def test_restore_refuses_a_file_of_the_wrong_kind(settings, tmp_path, monkeypatch, capsys):
    bogus = tmp_path / "not-a-backup"
    bogus.write_bytes(b"hello, world")
    assert main(["restore", str(bogus), "--database-url", _new_database(settings, tmp_path)]) == 1
    assert "neither a SQLite backup nor a pg_dump" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["nowhere/backup.file"])
def test_restore_reports_a_missing_file(settings, tmp_path, missing, capsys):
    assert main(["restore", str(tmp_path / missing), "--database-url", settings.database_url]) == 1
    assert "no backup file" in capsys.readouterr().err
