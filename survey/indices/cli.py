"""``hailong indices run|list|show|publish`` and ``hailong export opendata|microdata``.

Thin wrappers over :mod:`survey.indices.services` and :mod:`survey.indices.exports`; state changes
(run, publish) and exports go to the audit log with the actor (``--actor``, default ``cli:$USER``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

from survey.cli import command
from survey.settings import Settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _actor(args: argparse.Namespace) -> str:
    from survey.audit import cli_actor

    return args.actor if getattr(args, "actor", None) else cli_actor()  # cli:<os user>, as every command


def _indices_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = sub.add_parser("run", help="compute and store an index run for a period", description="compute and store an index run for a period")
    run.add_argument("--from", dest="period_start", type=_date, required=True, help="first day of the period (YYYY-MM-DD, local)")
    run.add_argument("--to", dest="period_end", type=_date, required=True, help="last day of the period (YYYY-MM-DD, local, inclusive)")
    run.add_argument("--source", choices=["sample", "self_selected"], required=True, help="sample (a sampling campaign) or self_selected (QR and kiosk)")
    run.add_argument("--campaign", type=int, default=None, help="the sampling campaign id (with --source sample)")
    run.add_argument("--methodology", default=None, help="methodology version (default: the current one)")
    run.add_argument("--actor", default=None, help="who runs it, for the audit log (default cli:$USER)")
    run.add_argument("--json", action="store_true", help="print the computed run as JSON (hash, parameters, summary, cells)")
    lst = sub.add_parser("list", help="list index runs", description="list index runs")
    lst.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="show one run's figures", description="show one run's figures")
    show.add_argument("run_id", type=int)
    show.add_argument("--domain", choices=["province", "unit_group", "unit", "field", "channel"], default=None)
    show.add_argument("--measure", default=None, help="sipas | pillar | item | overall | mean_score | expectation | admin_766")
    show.add_argument("--json", action="store_true")
    pub = sub.add_parser("publish", help="publish a draft run (it never changes afterwards)", description="publish a draft run")
    pub.add_argument("run_id", type=int)
    pub.add_argument("--actor", default=None)


def _export_args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    od = sub.add_parser("opendata", help="open-data CSV of a published run", description="open-data CSV of a published run")
    od.add_argument("--run", dest="run_id", type=int, required=True)
    od.add_argument("--out", type=Path, required=True, help="the .csv file to write")
    od.add_argument("--actor", default=None)
    md = sub.add_parser("microdata", help="microdata of a run or a period (.sav, .dta, .xlsx, .csv) with a codebook",
                        description="microdata of a stored run (--run) or of a period (--from/--to/--source) with weights, strata, PSU and a codebook")
    md.add_argument("--run", dest="run_id", type=int, default=None, help="a stored run (its inputs are recomputed and checked against its hash)")
    md.add_argument("--from", dest="period_start", type=_date, default=None, help="or: first day of a period")
    md.add_argument("--to", dest="period_end", type=_date, default=None, help="last day of the period")
    md.add_argument("--source", choices=["sample", "self_selected"], default=None)
    md.add_argument("--campaign", type=int, default=None)
    md.add_argument("--format", choices=["sav", "dta", "xlsx", "csv"], default=None, help="default: from the --out suffix")
    md.add_argument("--out", type=Path, required=True)
    md.add_argument("--with-comments", action="store_true", help="include free-text comments (off by default: they may hold personal data)")
    md.add_argument("--actor", default=None)


def _out():
    """stdout console; wide tables when stdout is not a terminal (pipes, files, tests)."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=200)


def _fmt(x: float | None, pct: bool = True) -> str:
    if x is None:
        return "—"
    return f"{100 * x:.1f}" if pct else f"{x:.2f}"


def _session(settings: Settings):
    from survey.db.engine import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    return engine, make_sessionmaker(engine)


def _error(console, exc: Exception) -> int:
    errors = getattr(exc, "errors", None)
    if errors:
        for e in errors:
            console.print(f"[red]error[/red]: {e.field}: {e.message_en} / {e.message_vi} (nothing was written)")
    else:
        console.print(f"[red]error[/red]: {exc} (nothing was written)")
    return 2


def _label_line(run: Any) -> str:
    if run.is_self_selected:
        return f"!! {run.sample_label.upper()} (not a probability sample): self-selected QR/kiosk answers, raked to the receipts"
    return f"{run.sample_label} (probability sample), campaign #{run.campaign_id}"


def _print_run(run: Any, cells: list[Any], title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = _out()
    out.print(f"[bold]{title}[/bold]  {run.period_start:%d/%m/%Y}–{run.period_end:%d/%m/%Y}  {run.methodology_version}  " + escape(f"[{run.status}]"))
    out.print(_label_line(run))
    out.print(f"inputs hash {run.inputs_hash}")
    s = run.summary
    from survey.indices.services import EXCLUSION_RULES

    ex = s.get("exclusions") or {}
    excl = ", ".join(f"{k} {ex[k]}" for k in EXCLUSION_RULES if k in ex)
    out.print(f"respondents {s.get('n_respondents')}; excluded: {excl}")
    w = s.get("weighting") or {}
    if w:
        out.print(f"weights: n_eff {w.get('n_eff', 0):.0f}, deff {w.get('deff') or 0:.2f}, range {w.get('w_min', 0):.3g}–{w.get('w_max', 0):.3g}; {w.get('raking', '')}")
    rr = s.get("response_rates") or {}
    if rr:
        out.print(f"response rates: RR1 {100 * rr.get('rr1', 0):.1f}%, RR3 {100 * rr.get('rr3', 0):.1f}%")
    table = Table(title=f"{title} — {run.sample_label}")
    for col in ("domain", "code", "name", "measure", "estimate %", "SE", "95% CI", "n", "deff", "method"):
        table.add_column(col, justify="right" if col in ("estimate %", "SE", "n", "deff") else "left")
    for c in cells:
        pct = c.measure != "mean_score"
        ci = "—" if c.ci_low is None else f"{_fmt(c.ci_low, pct)}–{_fmt(c.ci_high, pct)}"
        table.add_row(c.domain, c.domain_code, c.domain_label[:40], f"{c.measure} {c.measure_code}".strip(), _fmt(c.estimate, pct),
                      _fmt(c.se, pct), ci, str(c.n), _fmt(c.deff, False), c.method)
    out.print(table)


def _run_json(run: Any, cells: list[Any], **extra: Any) -> str:
    import msgspec

    return json.dumps({
        "id": getattr(run, "id", None), "inputs_hash": run.inputs_hash, "source": run.source, "sample_label": run.sample_label,
        "is_self_selected": run.is_self_selected, "status": getattr(run, "status", "computed"),
        "summary": run.summary, "cells": [msgspec.to_builtins(c) for c in cells], **extra,
    }, ensure_ascii=False, default=str)


@command("indices", "index runs: run | list | show | publish", _indices_args)
def indices(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.migrate import upgrade

    upgrade(settings.database_url)
    return asyncio.run(_indices(args, settings))


class _Computed:
    """A computed (not yet stored) run shaped like RunRead for printing."""

    def __init__(self, c: Any, status: str, run_id: int | None):
        from survey.indices.schemas import SAMPLE_LABEL, SELF_SELECTED_LABEL

        self.id, self.status = run_id, status
        self.period_start, self.period_end, self.source = c.period_start, c.period_end, c.source
        self.campaign_id, self.methodology_version, self.inputs_hash = c.campaign_id, c.methodology_version, c.inputs_hash
        self.summary = c.summary
        self.is_self_selected = c.source == "self_selected"
        self.sample_label = SELF_SELECTED_LABEL if self.is_self_selected else SAMPLE_LABEL


async def _indices(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from survey.indices import services
    from survey.indices.methodology import DEFAULT_METHODOLOGY

    console = Console(stderr=True)
    engine, maker = _session(settings)
    try:
        async with maker() as session:
            if args.action == "run":
                with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                              console=console, transient=False) as bar:
                    tasks: dict[str, int] = {}
                    names = {"load": "reading responses", "weights": "weighting", "estimate": "estimating", "store": "storing cells"}

                    def progress(stage: str, done: int, total: int) -> None:
                        if stage not in tasks:
                            tasks[stage] = bar.add_task(names.get(stage, stage), total=max(total, 1))
                        bar.update(tasks[stage], completed=done, total=max(total, 1))

                    try:
                        computed = await services.compute_run(
                            session, settings, period_start=args.period_start, period_end=args.period_end, source=args.source,
                            campaign_id=args.campaign, methodology_version=args.methodology or DEFAULT_METHODOLOGY, progress=progress,
                        )
                        stored, created = await services.store_run_checked(session, computed, actor=_actor(args), progress=progress)
                    except services.IndexRunError as exc:
                        return _error(console, exc)
                fresh = [services.cell_read(c) for c in sorted(computed.cells, key=services.cell_sort_key)]
                identical = len(stored.cells) == len(fresh) and all(a == b for a, b in zip(stored.cells, fresh, strict=True))
                if args.json:
                    print(_run_json(_Computed(computed, stored.status, stored.id), fresh, stored_run=stored.id, created=created, identical_to_stored=identical))
                    return 0
                shown = [c for c in fresh if c.domain in ("province", "unit") and c.measure == "sipas"]
                _print_run(_Computed(computed, stored.status, stored.id), shown, f"index run #{stored.id}")
                if created:
                    print(f"run #{stored.id} stored as a draft (inputs hash {stored.inputs_hash}); publish it with: hailong indices publish {stored.id}")
                else:
                    print(f"same inputs as run #{stored.id} (inputs hash {stored.inputs_hash}): nothing new stored; "
                          f"recomputed numbers {'identical' if identical else 'DIFFER'} to the stored ones")
                return 0 if identical else 1
            if args.action == "list":
                runs = await services.list_runs(session)
                if args.json:
                    import msgspec

                    print(json.dumps([msgspec.to_builtins(r) for r in runs], ensure_ascii=False, default=str))
                    return 0
                from rich.table import Table

                t = Table(title="index runs")
                for col in ("id", "period", "source", "label", "campaign", "methodology", "status", "n", "SIPAS %", "hash"):
                    t.add_column(col)
                for r in runs:
                    t.add_row(str(r.id), f"{r.period_start}..{r.period_end}", r.source, r.sample_label, str(r.campaign_id or "—"), r.methodology_version,
                              r.status, str(r.n_respondents), _fmt(r.sipas), r.inputs_hash[:12])
                _out().print(t)
                return 0
            if args.action == "show":
                try:
                    run = await services.get_run(session, args.run_id)
                except services.RunNotFound as exc:
                    return _error(console, exc)
                cells = run.cells_for(domain=args.domain, measure=args.measure)
                if args.json:
                    print(_run_json(run, cells))
                    return 0
                _print_run(run, cells, f"index run #{run.id}")
                return 0
            if args.action == "publish":
                try:
                    run = await services.publish_run(session, args.run_id, _actor(args))
                except (services.RunNotFound, services.IndexRunError) as exc:
                    return _error(console, exc)
                print(f"run #{run.id} published by {run.published_by}; it will never change ({run.sample_label})")
                return 0
    finally:
        await engine.dispose()
    return 2


@command("export", "exports: opendata (CSV of a published run) | microdata (.sav .dta .xlsx .csv with codebook)", _export_args)
def export(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.migrate import upgrade

    upgrade(settings.database_url)
    return asyncio.run(_export(args, settings))


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from survey import audit
    from survey.indices import exports, services

    console = Console(stderr=True)
    engine, maker = _session(settings)
    try:
        async with maker() as session:
            try:
                if args.what == "opendata":
                    run = await services.get_run(session, args.run_id)
                    n = exports.write_open_data_csv(run, args.out)
                    audit.record(session, _actor(args), "export.opendata", "index_run", run.id, rows=n, file=args.out.name)
                    await session.commit()
                    print(f"open data: {args.out} ({n} rows, run #{run.id}, {run.sample_label})")
                    return 0
                fmt = args.format or args.out.suffix.lower().lstrip(".")
                if fmt not in exports.MICRODATA_FORMATS:
                    raise exports.ExportError(f"--format: use one of {', '.join(exports.MICRODATA_FORMATS)} (or an --out ending in one)")
                if args.run_id is not None:
                    run, computed = await services.recompute_run(session, settings, args.run_id)
                else:
                    if args.period_start is None or args.period_end is None or args.source is None:
                        raise exports.ExportError("give --run ID, or --from, --to and --source (and --campaign for a sample)")
                    computed = await services.compute_run(session, settings, period_start=args.period_start, period_end=args.period_end,
                                                          source=args.source, campaign_id=args.campaign)
                    run = services.computed_run_read(computed)
                comments = await services.response_comments(session, computed.respondents.response_ids) if args.with_comments else None
                md = exports.build_microdata(run, computed, with_comments=args.with_comments, comments=comments)
                paths = exports.write_microdata(md, args.out, fmt)
                audit.record(session, _actor(args), "export.microdata", "index_run", run.id or None, format=fmt, period=f"{run.period_start}..{run.period_end}", rows=len(computed.respondents),
                             comments=bool(args.with_comments), file=args.out.name)
                await session.commit()
                which = f"run #{run.id}" if run.id else "computed now, not a stored run"
                print(f"microdata: {', '.join(str(p) for p in paths)} ({len(computed.respondents)} respondents, {which}, {run.sample_label})")
                return 0
            except (services.RunNotFound, services.IndexRunError, exports.ExportError) as exc:
                return _error(console, exc)
    finally:
        await engine.dispose()
