"""``hailong screen-kiosk``: re-run the kiosk integrity screening over a period (the batch job)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, timedelta

import kiosk.demo  # noqa: F401  (registers the demo's kiosk fleet as a step of ``hailong demo``)
from survey.cli import command
from survey.settings import Settings


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="first", type=date.fromisoformat, help="first local day YYYY-MM-DD (default: yesterday)")
    p.add_argument("--to", dest="last", type=date.fromisoformat, help="last local day YYYY-MM-DD (default: --from)")


@command("screen-kiosk", "run the kiosk integrity screening over a period (flags are kept for review)", _args)
def screen_kiosk(args: argparse.Namespace, settings: Settings) -> int:
    from kiosk.screening import screen_period
    from survey import audit
    from survey.db.engine import make_engine, make_sessionmaker

    first = args.first or (date.today() - timedelta(days=1))
    last = args.last or first
    if last < first:
        print("--to must not be before --from")
        return 2

    async def run():
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                summary = await screen_period(session, settings, first, last)
                audit.record(session, audit.cli_actor(), "kiosk.screen", "kiosk", None, first=first.isoformat(), last=last.isoformat(), flagged=summary.flagged, changed=summary.changed)
                await session.commit()
                return summary
        finally:
            await engine.dispose()

    s = asyncio.run(run())
    print(f"screened {s.screened} kiosk ratings from {first} to {last}: {s.flagged} flagged, {s.changed} changed")
    for rule, n in s.by_rule.items():
        print(f"  {rule:20s} {n}")
    return 0
