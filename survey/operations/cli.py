"""``hailong backup``, ``hailong restore`` and ``hailong purge``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from survey import audit
from survey.cli import command
from survey.settings import Settings


async def _audit(database_url: str, action: str, **details) -> None:

    from survey.db.engine import make_engine, make_sessionmaker

    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as session:
            audit.record(session, audit.cli_actor(), action, "database", None, **details)
            await session.commit()
    finally:
        await engine.dispose()


def _backup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="where to write the backup (SQLite: a database file; PostgreSQL: pg_dump custom format)")


@command("backup", "write a consistent backup of the database while the app runs (audited)", _backup_args)
def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    from survey.operations.backup import BackupError, backup

    try:
        result = backup(settings.database_url, args.file)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    asyncio.run(_audit(settings.database_url, "backup.create", file=result.path.name, bytes=result.bytes, backend=result.backend))
    print(f"backup written: {result.path} ({result.bytes} bytes, {result.backend})")
    return 0


def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="a file written by `hailong backup`")
    p.add_argument("--database-url", default=None, help="restore into this database instead of HAILONG_DATABASE_URL")
    p.add_argument("--force", action="store_true", help="replace a database that already holds data")


@command("restore", "restore a backup into an empty (or, with --force, an existing) database (audited)", _restore_args)
def restore_command(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.migrate import upgrade
    from survey.operations.backup import BackupError, restore

    url = args.database_url or settings.database_url
    try:
        backend = restore(args.file, url, force=args.force)
    except BackupError as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    upgrade(url)  # a backup from an older version is brought to this version's schema
    asyncio.run(_audit(url, "backup.restore", file=args.file.name, backend=backend, forced=bool(args.force)))
    print(f"restored {args.file} into the {backend} database")
    return 0


def _purge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="count what would be erased, change nothing")
    p.add_argument("--only", default=None, help="one kind: comments, dossier_codes, login_attempts, inactive_accounts, audit")


@command("purge", "erase personal data older than its retention setting (HAILONG_RETAIN_*; audited)", _purge_args)
def purge_command(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.operations.retention import purge

    async def run():
        engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
        try:
            async with make_sessionmaker(engine)() as session:
                return await purge(session, settings, actor=audit.cli_actor(), dry_run=args.dry_run, only=args.only)
        finally:
            await engine.dispose()

    try:
        lines = asyncio.run(run())
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    verb = "would erase" if args.dry_run else "erased"
    for line in lines:
        kept = "kept until deleted by hand (0 days)" if line.cutoff is None else f"older than {line.days} days: {verb} {line.count}"
        print(f"{line.kind:<18} {kept}   ({line.description})")
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("member_id", type=int, help="the expert member's id (Admin → Experts → panel → members)")
    p.add_argument("--output", type=Path, default=None, help="write the JSON here (created readable by you only); default: standard output")


@command("export-expert", "export everything stored about one expert-survey member, on their request (JSON; audited)", _export_args)
def export_expert_command(args: argparse.Namespace, settings: Settings) -> int:
    import json
    import os

    from survey.db.engine import make_engine, make_sessionmaker
    from survey.operations.expert_data import export_member

    async def run():
        engine = make_engine(settings.database_url, pool_size=1, max_overflow=0)
        try:
            async with make_sessionmaker(engine)() as session:
                return await export_member(session, args.member_id, actor=audit.cli_actor())
        finally:
            await engine.dispose()

    data = asyncio.run(run())
    if data is None:
        print(f"no expert member with id {args.member_id}", file=sys.stderr)
        return 1
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"written: {args.output}")
    return 0
