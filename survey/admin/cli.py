"""``hailong create-user``: create a staff account (admin of Sở Nội vụ, statistician, viewer or unit manager)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from survey import audit
from survey.cli import command
from survey.db.models.accounts import ROLES
from survey.settings import Settings


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    p.add_argument("--role", choices=ROLES, default="viewer", help="admin (Sở Nội vụ), statistician, viewer or unit_manager")
    p.add_argument("--unit", default=None, metavar="CODE", help="unit_manager only: code of the unit they manage (they see it and the units below it)")
    p.add_argument("--full-name", default="", help="the person's name, shown on the admin pages")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of standard input")


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu / password: ")
    second = getpass.getpass("Nhập lại / repeat: ")
    if first != second:
        print("Hai lần nhập mật khẩu không khớp / the passwords do not match.", file=sys.stderr)
        return None
    return first


@command("create-user", "create a staff account (argon2-hashed password; audited)", _args)
def create_user_command(args: argparse.Namespace, settings: Settings) -> int:
    from survey.admin import users
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.db.migrate import upgrade

    password = _read_password(args)
    if password is None:
        return 2
    try:
        users.check_password_strength(password)
    except users.WeakPassword as exc:
        print(exc, file=sys.stderr)
        return 2
    upgrade(settings.database_url)

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                user = await users.create_user(session, args.username, password, args.role, full_name=args.full_name, unit_code=args.unit, actor=audit.cli_actor())
                print(f"created {user.role} “{user.username}” (id {user.id})")
                return 0
        except (users.InvalidUser, users.WeakPassword) as exc:
            print(exc, file=sys.stderr)
            return 2
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _password_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of standard input")


def _run_on_db(settings: Settings, fn) -> int:
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.db.migrate import upgrade

    upgrade(settings.database_url)

    async def run() -> int:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@command("set-password", "set a staff account's password; every session of the account ends (audited)", _password_args)
def set_password_command(args: argparse.Namespace, settings: Settings) -> int:
    from survey.admin import users

    password = _read_password(args)
    if password is None:
        return 2

    async def change(session) -> int:
        try:
            user = await users.set_password(session, args.username, password, actor=audit.cli_actor())
        except (users.InvalidUser, users.WeakPassword) as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"password changed for “{user.username}”; its sessions were ended")
        return 0

    return _run_on_db(settings, change)


def _username_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")


@command("deactivate-user", "lock a staff account; every session of the account ends (audited)", _username_arg)
def deactivate_user_command(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from survey.admin import users
    from survey.db.models import User

    async def lock(session) -> int:
        user_id = await session.scalar(select(User.id).where(User.username == users.normalise_username(args.username)))
        if user_id is None:
            print(f"no account “{args.username}”", file=sys.stderr)
            return 2
        await users.deactivate_user(session, user_id, actor=audit.cli_actor())
        print(f"account “{args.username}” locked; its sessions were ended")
        return 0

    return _run_on_db(settings, lock)
