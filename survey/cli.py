"""``hailong`` command line: thin wrappers over the services.

Commands: serve, migrate, demo, create-user, import-units, import-procedures, import-receipts,
sample, analyze, report.  Each feature registers its commands in ``COMMANDS`` below.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from survey.settings import Settings

#: name -> (help, add_arguments(parser), run(args, settings) -> exit code)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace, Settings], int]]] = {}
#: commands that change no data (only the schema, or nothing): every other command writes the audit log as
#: ``cli:<os user>`` (``survey.audit.cli_actor()``); tests/survey/test_cli_audit.py runs each one to check it
READ_ONLY: set[str] = set()


def command(name: str, help: str, arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None, *, read_only: bool = False):
    """Register ``fn(args, settings) -> int`` as ``hailong <name>``; unless ``read_only``, it must audit its
    changes with the actor ``survey.audit.cli_actor()``."""

    def wrap(fn: Callable[[argparse.Namespace, Settings], int]):
        COMMANDS[name] = (help, arguments, fn)
        if read_only:
            READ_ONLY.add(name)
        return fn

    return wrap


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--demo", action="store_true", help="seed demo data into an empty database and print URLs")
    p.add_argument("--workers", type=int, default=1, help="app processes (PostgreSQL only; each keeps HAILONG_DB_POOL_SIZE connections)")


@command("serve", "migrate the database and start the web server", _serve_args, read_only=True)  # --demo: as `demo`
def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from survey.db.migrate import upgrade
    from survey.deploy import check_workers

    workers_ok = check_workers(settings, args.workers)
    print(workers_ok.message, file=sys.stderr if not workers_ok.ok or workers_ok.warning else sys.stdout)
    if not workers_ok.ok:
        return 2
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hailong-metrics-")  # /metrics sums the workers
    upgrade(settings.database_url)
    if not os.environ.get("HAILONG_PUBLIC_URL"):
        # links and QR codes point where this server listens unless a public URL is configured
        from dataclasses import replace

        shown = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        os.environ["HAILONG_PUBLIC_URL"] = f"http://{shown}:{args.port}"
        settings = replace(settings, public_url=os.environ["HAILONG_PUBLIC_URL"])
    if args.demo:
        from survey.demo import ensure_demo

        ensure_demo(settings, host=args.host, port=args.port)  # audited as cli:<os user>
    from survey.logs import uvicorn_log_config

    # proxy_headers=False: X-Forwarded-For is judged by the app (HAILONG_TRUSTED_PROXIES), not by uvicorn
    uvicorn.run("survey.asgi:app", host=args.host, port=args.port, workers=args.workers, log_level="info", access_log=False,
                proxy_headers=False, log_config=uvicorn_log_config())
    return 0


@command("migrate", "bring the database schema to the latest version", read_only=True)
def migrate(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.migrate import upgrade

    upgrade(settings.database_url)
    print("database is at the latest schema version")
    return 0


def _load_feature_commands() -> None:
    """Import the modules that register more commands (kept lazy so `hailong --help` is fast)."""
    import importlib

    for module in ("survey.demo", "survey.imports.cli", "survey.admin.cli", "survey.campaigns.cli", "kiosk.cli",
                   "survey.operations.cli",
                   "survey.indices.cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module and not module.startswith(exc.name or "\0"):
                raise
    # PAR Index and expert survey: `hailong par ...`, `hailong experts ...`
    importlib.import_module("survey.par.cli")


def build_parser() -> argparse.ArgumentParser:
    _load_feature_commands()
    parser = argparse.ArgumentParser(prog="hailong", description="Hài Lòng: citizen-satisfaction surveys and the PAR Index")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, arguments, _fn) in sorted(COMMANDS.items()):
        arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a setting the app cannot start with: one clear line naming it, no traceback
        print(f"hailong: {exc}", file=sys.stderr)
        return 2
    _help, _arguments, fn = COMMANDS[args.command]
    try:
        return fn(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
