"""Backups and restores of the whole database, while the app keeps running.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot page by
  page while writers go on; the backup is itself a SQLite database file.
- PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot in one transaction) and
  ``pg_restore --clean --if-exists --no-owner --single-transaction`` into the target database.

A restore refuses a target that already holds data unless ``force`` is given, and refuses a file of
the other backend's kind.  Both write an audit entry (``backup.create`` in the source database,
``backup.restore`` in the restored one).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    backend: str
    bytes: int


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _pg_conninfo(database_url: str) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment for pg_dump/pg_restore (the password goes in PGPASSWORD, not argv)."""
    url = make_url(database_url)
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools (Debian: postgresql-client)")
    return path


def _backend(database_url: str) -> str:
    return "sqlite" if make_url(database_url).get_backend_name() == "sqlite" else "postgresql"


def backup(database_url: str, target: Path) -> BackupResult:
    """Write a consistent backup of the database to ``target`` (overwritten)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if _backend(database_url) == "sqlite":
        source = _sqlite_path(database_url)
        if not source.exists():
            raise BackupError(f"no SQLite database at {source}")
        partial.unlink(missing_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: a snapshot as of one moment, writers go on in WAL
        finally:
            dst.close()
            src.close()
        backend = "sqlite"
    else:
        args, env = _pg_conninfo(database_url)
        run = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial), *args],
                             env=env, capture_output=True, text=True)
        if run.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {run.stderr.strip()}")
        backend = "postgresql"
    partial.replace(target)  # a half-written backup never carries the final name
    return BackupResult(target, backend, target.stat().st_size)


def backup_kind(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump custom-format file")


async def _has_data(database_url: str) -> bool:
    from sqlalchemy import inspect, text

    from survey.db.engine import make_engine

    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            for table in ("receipts", "responses", "users", "units"):
                if table in tables and await conn.scalar(text(f'SELECT 1 FROM "{table}" LIMIT 1')):
                    return True
        return False
    finally:
        await engine.dispose()


def restore(path: Path, database_url: str, *, force: bool = False) -> str:
    """Restore the backup at ``path`` into ``database_url``; returns the backend. See the module docstring."""
    import asyncio

    path = Path(path)
    if not path.exists():
        raise BackupError(f"no backup file at {path}")
    kind, backend = backup_kind(path), _backend(database_url)
    if kind != backend:
        raise BackupError(f"{path} is a {kind} backup but the target database is {backend}")
    if backend == "sqlite":
        target = _sqlite_path(database_url)
        if target.exists() and not force and asyncio.run(_has_data(database_url)):
            raise BackupError(f"{target} already holds data: restore into a new database, or pass --force to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)  # replaces every page of the target in one transaction
        finally:
            dst.close()
            src.close()
        return backend
    if not force and asyncio.run(_has_data(database_url)):
        raise BackupError("the target database already holds data: restore into a new database, or pass --force to replace it")
    args, env = _pg_conninfo(database_url)
    run = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                          "--exit-on-error", *args, str(path)], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise BackupError(f"pg_restore failed: {run.stderr.strip()}")
    return backend
