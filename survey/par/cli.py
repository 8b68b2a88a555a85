"""``hailong par ...`` and ``hailong experts ...``: the PAR Index and its expert survey from the command line.

Thin wrappers over :mod:`survey.par.services` and :mod:`survey.experts.services`; every change is audited
with actor ``cli``.  Errors name the line (CSV, methodology files) and write nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from datetime import date
from pathlib import Path

from survey import audit
from survey.cli import command
from survey.settings import Settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _par_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="par_command", required=True, metavar="SUBCOMMAND")
    sub.add_parser("methodologies", help="list the methodology files and their components")
    c = sub.add_parser("check", help="validate a methodology file (errors name the line)")
    c.add_argument("file", type=Path)
    i = sub.add_parser("import-appraisal", help="import appraisal points: CSV unit,criterion,self_points,council_points,evidence")
    i.add_argument("file", type=Path)
    i.add_argument("--year", type=int, required=True)
    i.add_argument("--methodology", required=True, help="methodology id, e.g. par-department-2025-v1")
    k = sub.add_parser("compose", help="compose and store the ranking of one block")
    k.add_argument("--year", type=int, required=True)
    k.add_argument("--methodology", required=True)
    k.add_argument("--block", required=True, help="block code of the methodology, e.g. department, ward, commune")
    k.add_argument("--index-run", type=int, help="index run whose unit SIPAS / pillar / 766 cells give the satisfaction points")
    k.add_argument("--panel", type=int, action="append", help="expert panel (repeatable; default: every panel of the year)")
    k.add_argument("--out", type=Path, help="also write the ranking table to this CSV file")
    s = sub.add_parser("show", help="print a stored composition")
    s.add_argument("id", type=int)
    b = sub.add_parser("publish", help="publish (and freeze) a composition")
    b.add_argument("id", type=int)


def _experts_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="experts_command", required=True, metavar="SUBCOMMAND")
    c = sub.add_parser("create-panel", help="create an expert panel with the default groups")
    c.add_argument("--year", type=int, required=True)
    c.add_argument("--name", required=True)
    c.add_argument("--methodology", action="append", required=True, help="methodology id (repeatable: one per rated unit kind)")
    c.add_argument("--expires", type=_date, required=True, help="last day to answer (YYYY-MM-DD)")
    c.add_argument("--groups", type=Path, help="groups file (default survey/experts/defs/groups-default.json)")
    m = sub.add_parser("import-members", help="import members: CSV group,name,title,unit,contact")
    m.add_argument("panel", type=int)
    m.add_argument("file", type=Path)
    x = sub.add_parser("matrix", help="(re)generate who rates whom from the group rules")
    x.add_argument("panel", type=int)
    v = sub.add_parser("invite", help="create the invitations and write links and message texts")
    v.add_argument("panel", type=int)
    v.add_argument("--out", type=Path, help="CSV of name, group, link and message (admin-only data)")
    v.add_argument("--lang", choices=["vi", "en"], default="vi")
    r = sub.add_parser("remind", help="list invitations not yet submitted (and record the reminder)")
    r.add_argument("panel", type=int)
    r.add_argument("--out", type=Path)
    r.add_argument("--lang", choices=["vi", "en"], default="vi")
    r.add_argument("--dry-run", action="store_true", help="list only; do not record a reminder")
    t = sub.add_parser("track", help="response per group and per rated unit")
    t.add_argument("panel", type=int)


def _run(settings: Settings, coro_fn) -> int:
    from survey.db.migrate import upgrade

    upgrade(settings.database_url)

    async def main() -> int:
        from survey.db.engine import make_engine, make_sessionmaker

        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await coro_fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _fail(message: str) -> int:
    print(f"error: {message} (nothing was written)", file=sys.stderr)
    return 2


def _write_invitations(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["invitation", "name", "title", "group", "unit", "contact", "status", "link", "message"])
        for r in rows:
            w.writerow([r["id"], r["name"], r["title"], r["group"], r["unit"], r["contact"], r["status"], r["url"], r["message"]])


def _print_composition(comp) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{comp.block_label} {comp.year} · #{comp.id} · {comp.status} · inputs {comp.inputs_hash[:12]}")
    for col in ("rank", "unit", "total", "appraisal", "rank (appraisal)", "survey", "satisfaction", "bonus", "penalty", "class", "change"):
        table.add_column(col, justify="left" if col == "unit" else "right")
    for r in comp.results:
        table.add_row(str(r.rank), r.unit_name, f"{r.total:.2f}", f"{r.appraisal:.2f}", str(r.appraisal_rank), f"{r.survey:.2f}",
                      f"{r.satisfaction:.2f}", f"{r.bonus:.2f}", f"{r.penalty:.2f}", r.unit_class, "" if r.rank_change is None else f"{r.rank_change:+d}")
    Console().print(table)
    s = comp.summary
    print(f"spread {s['spread']:.2f} points; the top {s['top_half_size']} within {s['top_half_gap']:.2f}")


@command("par", "PAR Index: methodologies, appraisal import, composition and ranking (see `hailong par -h`)", _par_args)
def par_command(args: argparse.Namespace, settings: Settings) -> int:
    from survey.par import methodology as meth

    sub = args.par_command
    if sub == "methodologies":
        for m in meth.all_methodologies().values():
            comps = ", ".join(f"{k} {m.maximum(k):g}" for k in meth.COMPONENTS)
            print(f"{m.id}: {m.title.vi} — blocks {', '.join(b.code for b in m.blocks)} — {comps}")
        return 0
    if sub == "check":
        try:
            m = meth.load_file(args.file)
        except (OSError, meth.MethodologyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{args.file.name}: {m.id} is valid ({len(m.fields)} fields, {len(m.criteria)} criteria, sha256 {m.sha256[:16]})")
        return 0

    async def run(session) -> int:
        from survey.imports.services import CsvImportError
        from survey.par import services as par

        if sub == "import-appraisal":
            try:
                data = args.file.read_bytes()
                result = await par.import_appraisal(session, data, year=args.year, methodology_id=args.methodology, actor=audit.cli_actor())
            except OSError as exc:
                return _fail(f"{args.file}: {exc.strerror}")
            except LookupError as exc:
                return _fail(str(exc))
            except CsvImportError as exc:
                for e in exc.errors:
                    print(f"error: {args.file.name}: {e}", file=sys.stderr)
                return _fail("the file was refused")
            print(f"{result.rows} appraisal rows: {result.created} created, {result.updated} updated")
            return 0
        if sub == "compose":
            try:
                comp = await par.compose_block(session, year=args.year, methodology_id=args.methodology, block=args.block, actor=audit.cli_actor(),
                                               index_run_id=args.index_run, panel_ids=args.panel)
            except (par.ParInputError, LookupError) as exc:
                return _fail(str(exc))
            _print_composition(comp)
            if args.out:
                with args.out.open("w", encoding="utf-8-sig", newline="") as fh:
                    w = csv.writer(fh)
                    w.writerow(["rank", "unit_code", "unit_name", "total", "appraisal", "appraisal_rank", "survey", "satisfaction", "bonus", "penalty", "class", "rank_change"])
                    for r in comp.results:
                        w.writerow([r.rank, r.unit_code, r.unit_name, f"{r.total:.2f}", f"{r.appraisal:.2f}", r.appraisal_rank, f"{r.survey:.2f}",
                                    f"{r.satisfaction:.2f}", f"{r.bonus:.2f}", f"{r.penalty:.2f}", r.unit_class, "" if r.rank_change is None else r.rank_change])
            print(f"composition {comp.id} stored (draft); publish it with `hailong par publish {comp.id}`")
            return 0
        if sub == "show":
            try:
                _print_composition(await par.get_composition(session, args.id))
            except LookupError as exc:
                return _fail(str(exc))
            return 0
        try:
            comp = await par.publish_composition(session, args.id, audit.cli_actor())
        except (par.ParInputError, LookupError) as exc:
            return _fail(str(exc))
        print(f"composition {comp.id} published")
        return 0

    return _run(settings, run)


@command("experts", "expert survey: panels, members, who-rates-whom, invitations, reminders, tracking (see `hailong experts -h`)", _experts_args)
def experts_command(args: argparse.Namespace, settings: Settings) -> int:
    sub = args.experts_command

    async def run(session) -> int:
        from survey.experts import services as ex
        from survey.imports.services import CsvImportError

        try:
            if sub == "create-panel":
                groups = ex.load_groups(args.groups) if args.groups else None
                pid = await ex.create_panel(session, year=args.year, name=args.name, methodology_ids=args.methodology,
                                            expires_on=args.expires, actor=audit.cli_actor(), groups=groups)
                print(f"panel {pid} created")
            elif sub == "import-members":
                result = await ex.import_members(session, args.panel, args.file.read_bytes(), audit.cli_actor())
                print(f"{result.created} members imported")
            elif sub == "matrix":
                print(f"{await ex.generate_matrix(session, args.panel, audit.cli_actor())} assignments written (never a member's own unit)")
            elif sub == "invite":
                n = await ex.create_invitations(session, args.panel, audit.cli_actor())
                rows = await ex.invitation_list(session, args.panel, settings, args.lang)
                print(f"{n} invitations created; {len(rows)} in all")
                if args.out:
                    _write_invitations(args.out, rows)
                    print(f"links and messages: {args.out}")
            elif sub == "remind":
                rows = await ex.invitation_list(session, args.panel, settings, args.lang, pending_only=True)
                if not args.dry_run:
                    await ex.mark_reminded(session, args.panel, audit.cli_actor())
                for r in rows:
                    print(f"{r['id']}\t{r['name']}\t{r['group']}\t{r['status']}\t{r['contact']}")
                print(f"{len(rows)} invitations not yet submitted")
                if args.out:
                    _write_invitations(args.out, rows)
            else:
                t = await ex.tracking(session, args.panel)
                for g in t["groups"]:
                    print(f"{g['code']}: {g['submitted']}/{g['invited']} submitted ({g['members']} members, {g['opened']} opened)")
                for u in t["units"]:
                    print(f"  {u['code']} {u['name']}: {u['submitted']}/{u['assigned']} raters submitted")
        except OSError as exc:
            return _fail(f"{exc.filename}: {exc.strerror}")
        except CsvImportError as exc:
            for e in exc.errors:
                print(f"error: {e}", file=sys.stderr)
            return _fail("the file was refused")
        except (LookupError, ValueError) as exc:
            return _fail(str(exc))
        return 0

    return _run(settings, run)
