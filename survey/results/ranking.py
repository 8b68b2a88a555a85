"""League tables from stored cells (pure): order by the index, honest rank ranges, overlap with the median.

A unit is placed above another only when their confidence intervals do not overlap: its best rank is
1 + the number of units whose interval lies wholly above its own, its worst rank is the number of
units whose interval does not lie wholly below its own.  Units whose ranks cannot be told apart share
a range ("1–4") instead of being called 1st, 2nd, 3rd.  Non-overlap of two 95% intervals is a
conservative test of a difference (Schenker & Gentleman 2001, *The American Statistician* 55:182-186),
so a range is, if anything, too wide.  Cells without an estimate (suppressed) go last, unranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True, slots=True)
class Ranked:
    key: str
    estimate: float | None
    low: float | None
    high: float | None
    best: int | None = None
    worst: int | None = None
    #: the interval contains the group's median estimate: not distinguishable from the middle of the group
    overlaps_median: bool = False

    @property
    def rank_label(self) -> str:
        if self.best is None:
            return "–"
        return str(self.best) if self.best == self.worst else f"{self.best}–{self.worst}"

    @property
    def tied(self) -> bool:
        return self.best is not None and self.best != self.worst


def rank(entries: Sequence[tuple[str, float | None, float | None, float | None]]) -> tuple[list[Ranked], float | None]:
    """``entries`` = (key, estimate, ci_low, ci_high); returns rows sorted by estimate (highest first) and the median.

    An entry without an interval counts as a point (its estimate at both ends).
    """
    scored = [(k, e, lo if lo is not None else e, hi if hi is not None else e) for k, e, lo, hi in entries if e is not None]
    unscored = [Ranked(k, None, None, None) for k, e, _lo, _hi in entries if e is None]
    scored.sort(key=lambda r: (-r[1], r[0]))
    med = median([r[1] for r in scored]) if scored else None
    out = []
    for key, est, lo, hi in scored:
        above = sum(1 for _k, _e, lo2, _h in scored if lo2 > hi)
        below = sum(1 for _k, _e, _l, hi2 in scored if hi2 < lo)
        out.append(Ranked(key, est, lo, hi, best=1 + above, worst=len(scored) - below, overlaps_median=med is not None and lo <= med <= hi))
    return out + sorted(unscored, key=lambda r: r.key), med
