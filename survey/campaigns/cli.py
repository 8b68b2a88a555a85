"""``hailong sample``: build a frame (database or CSV), draw a stratified sample, write the call list."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from survey.cli import command
from survey.settings import Settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _strata(text: str) -> tuple[str, ...]:
    text = text.strip().lower()
    if text in ("", "none"):
        return ()
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="campaign name")
    p.add_argument("--from", dest="period_from", type=_date, help="first day of the period (YYYY-MM-DD)")
    p.add_argument("--to", dest="period_to", type=_date, help="last day of the period (YYYY-MM-DD)")
    p.add_argument("--unit", action="append", default=[], metavar="CODE", help="restrict to this unit (repeatable)")
    p.add_argument("--field", action="append", default=[], help="restrict to this procedure field (repeatable)")
    p.add_argument("--channel", action="append", default=[], choices=["direct", "online", "postal"], help="restrict to this channel (repeatable)")
    p.add_argument("--all-receipts", action="store_true", help="include dossiers whose result was not returned yet")
    p.add_argument("--strata", type=_strata, default=("unit",), help="unit | field | unit,field | none (default unit)")
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--n", type=int, help="total sample size")
    size.add_argument("--margin", type=float, help="margin of error, e.g. 0.05 (sample size from Slovin or Cochran)")
    p.add_argument("--size-method", choices=["slovin", "cochran"], default=None, help="with --margin: slovin (default, as SIPAS guidance) or cochran (uses --confidence)")
    p.add_argument("--confidence", type=float, default=None, help="confidence level for --margin (implies cochran), e.g. 0.95")
    p.add_argument("--deff", type=float, default=1.0, help="anticipated design effect (with --margin)")
    p.add_argument("--response-rate", type=float, default=1.0, help="expected response rate in (0, 1] (with --margin)")
    p.add_argument("--allocation", choices=["proportional", "equal", "neyman", "power"], default="proportional")
    p.add_argument("--power", type=float, default=0.5, help="exponent of the power allocation")
    p.add_argument("--minimum", type=int, default=0, help="minimum sample size per stratum")
    p.add_argument("--reserve", type=float, default=0.0, help="reserve sample as a fraction of each stratum's sample, e.g. 0.3")
    p.add_argument("--seed", type=int, help="random seed (recorded; the same seed and frame give the same sample)")
    p.add_argument("--questionnaire", default="sipas-full", help="questionnaire for the invitations (default sipas-full)")
    p.add_argument("--frame-csv", type=Path, help="read the frame from this CSV instead of the database")
    p.add_argument("--out", type=Path, help="write the call list to this .csv or .xlsx file")
    p.add_argument("--dry-run", action="store_true", help="show sizes per stratum only; draw nothing")


@command("sample", "draw a stratified sample of receipts into a survey campaign and write its call list", _arguments)
def sample(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.migrate import upgrade

    if args.out is not None and args.out.suffix.lower() not in (".csv", ".xlsx"):
        print("error: --out: the file name must end in .csv or .xlsx", file=sys.stderr)
        return 2
    upgrade(settings.database_url)
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from survey import audit
    from survey.campaigns import services
    from survey.campaigns.frame_csv import FrameCsvError, parse_frame_csv
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.stats import FrameFilter, frame_from_csv_rows, load_frame

    console = Console(stderr=True)
    size_method = "fixed" if args.n is not None else (args.size_method or ("cochran" if args.confidence is not None else "slovin"))
    design = services.SampleDesign(
        name=args.name, strata=args.strata, size_method=size_method, n=args.n, margin=args.margin,
        confidence=args.confidence if args.confidence is not None else 0.95, deff=args.deff,
        response_rate=args.response_rate, allocation=args.allocation, power=args.power, minimum=args.minimum,
        seed=args.seed, reserve_fraction=args.reserve, questionnaire_id=args.questionnaire,
        invitation_days=settings.token_ttl_days,
    )
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            flt = None
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False) as bar:
                t_frame = bar.add_task("frame", total=1)
                if args.frame_csv is not None:
                    try:
                        data = args.frame_csv.read_bytes()
                    except OSError as exc:
                        console.print(f"[red]error[/red]: --frame-csv: {exc.strerror}: {args.frame_csv}")
                        return 2
                    try:
                        frame = await frame_from_csv_rows(session, parse_frame_csv(data))
                    except FrameCsvError as exc:
                        console.print(f"[red]error[/red]: {args.frame_csv.name}: {exc} (nothing was written)")
                        return 2
                    description = {"csv": args.frame_csv.name, "rows": len(frame)}
                else:
                    flt = FrameFilter(
                        period_from=args.period_from, period_to=args.period_to, unit_codes=tuple(args.unit),
                        fields=tuple(args.field), channels=tuple(args.channel), completed_only=not args.all_receipts,
                        timezone=settings.timezone,
                    )
                    frame = await load_frame(session, flt)
                    description = flt.as_dict()
                bar.update(t_frame, completed=1, description=f"frame: {len(frame)} receipts")
                try:
                    if args.dry_run:
                        result = None
                        pv = await services.preview(session, frame, design, flt)
                    else:
                        tasks: dict[str, int] = {}

                        def progress(stage: str, done: int, total: int) -> None:
                            if stage not in tasks:
                                tasks[stage] = bar.add_task("drawing" if stage == "draw" else "storing members", total=max(total, 1))
                            bar.update(tasks[stage], completed=done, total=max(total, 1))

                        result = await services.draw(
                            session, frame, design, actor=audit.cli_actor(), frame_description=description, flt=flt, progress=progress
                        )
                        pv = result.preview
                except services.SamplingInputError as exc:
                    for e in exc.errors:
                        console.print(f"[red]error[/red]: {e.field}: {e.message_en} (nothing was written)")
                    return 2
            table = Table(title=f"{args.name}: n = {pv.n} from a frame of {pv.frame_size}")
            for col in ("stratum", "N_h", "n_h", "reserve", "fraction"):
                table.add_column(col, justify="left" if col == "stratum" else "right")
            for r in pv.rows:
                table.add_row(r["stratum"], str(r["population"]), str(r["sample"]), str(r["reserve"]), f"{r['fraction']:.4f}")
            Console().print(table)
            for w in pv.warnings:
                console.print(f"[yellow]warning[/yellow]: {w}")
            if result is None:
                print("dry run: nothing was drawn")
                return 0
            print(f"campaign {result.campaign_id} drawn (seed {result.seed}): {pv.n} members, {pv.reserve_size} in reserve")
            if args.out is not None:
                rows = await services.call_list(session, result.campaign_id, settings)
                if args.out.suffix.lower() == ".xlsx":
                    args.out.write_bytes(services.call_list_xlsx(rows, args.name))
                else:
                    args.out.write_bytes(services.call_list_csv(rows))
                print(f"call list: {args.out} ({len(rows)} rows)")
    finally:
        await engine.dispose()
    return 0
