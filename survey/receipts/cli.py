"""``hailong create-api-client`` / ``revoke-api-client`` (registered via survey/imports/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from survey import audit
from survey.cli import command
from survey.settings import Settings


def _create_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="name of the one-stop-shop system, e.g. 'Hệ thống một cửa Sở Nội vụ'")
    p.add_argument("--unit", metavar="CODE", help="restrict the key to this unit (and the units below it)")


@command("create-api-client", "create an API key for a one-stop-shop system (printed once; only a hash is stored)", _create_args)
def create_api_client_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from survey.db.engine import make_engine, make_sessionmaker
    from survey.db.migrate import upgrade
    from survey.db.models import Unit
    from survey.receipts.clients import create_api_client

    upgrade(settings.database_url)

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                unit_id = None
                if args.unit:
                    unit_id = await session.scalar(select(Unit.id).where(Unit.code == args.unit))
                    if unit_id is None:
                        print(f"error: --unit: unknown unit {args.unit!r}", file=sys.stderr)
                        return 1
                try:
                    client, key = await create_api_client(session, args.name, unit_id=unit_id, commit=False)
                except ValueError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
                audit.record(session, audit.cli_actor(), "api_client.create", "api_client", client.id, name=client.name, unit_id=unit_id, key_prefix=client.key_prefix)
                await session.commit()
                print(f"API client #{client.id} {client.name!r} (prefix {client.key_prefix}) created.")
                print("Key (shown once, store it now):")
                print(key)
                return 0
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _revoke_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("client_id", type=int, help="id of the API client (see the admin page)")


@command("revoke-api-client", "revoke an API client's key (it stops working at once)", _revoke_args)
def revoke_api_client_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.receipts.clients import revoke_api_client

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                try:
                    client = await revoke_api_client(session, args.client_id, commit=False)
                except LookupError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
                audit.record(session, audit.cli_actor(), "api_client.revoke", "api_client", client.id, name=client.name)
                await session.commit()
                print(f"API client #{client.id} {client.name!r} revoked.")
                return 0
        finally:
            await engine.dispose()

    return asyncio.run(run())
