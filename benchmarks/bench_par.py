"""Benchmark the PAR Index composition and ranking (``make bench``).

Composes and ranks 3,000 units (the largest province's communes times a few years, in 12 blocks) on
the 27 criteria of the shipped commune methodology, with NaN gaps and rescaling, with
:func:`survey.par.ranking.compose`; the baselines, measured in the same run, are a plain ``np.argsort``
of 3,000 totals (the least any ranking costs) and a straightforward pure-Python composition (dicts,
a sort per block, the rank loop).  Fails (exit 1) if composing takes 1 s or more.

Run: ``.venv/bin/python benchmarks/bench_par.py``  (a few seconds).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from survey.par import methodology as meth  # noqa: E402
from survey.par import ranking  # noqa: E402

N_UNITS = 3_000
N_BLOCKS = 12
LIMIT_S = 1.0


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def python_compose(points, applicable, component, max_points, blocks, class_min):
    """The spreadsheet way in Python: per unit sums, rescale, a sort per block, ranks with ties shared."""
    n, k = len(points), len(max_points)
    totals, app = [], []
    for i in range(n):
        sums = [0.0] * 5
        avail = 0.0
        for j in range(k):
            v = points[i][j]
            if applicable[i][j] and v == v:
                sums[component[j]] += v
                if component[j] < 3:
                    avail += max_points[j]
        f = 100.0 / avail if avail else 1.0
        totals.append(round((sums[0] + sums[1] + sums[2]) * f + sums[3] - sums[4], 2))
        app.append(round(sums[0], 2))
    by_block: dict = {}
    for i, b in enumerate(blocks):
        by_block.setdefault(b, []).append(i)
    rank = [0] * n
    for members in by_block.values():
        members.sort(key=lambda i: -totals[i])
        for pos, i in enumerate(members):
            rank[i] = rank[members[pos - 1]] if pos and totals[i] == totals[members[pos - 1]] else pos + 1
    classes = [next((c for c, lo in enumerate(class_min) if t >= lo), -1) for t in totals]
    return totals, rank, classes


def main() -> int:
    m = meth.get("par-commune-2025-v1")
    rng = np.random.default_rng(20251201)
    kinds = rng.choice(["commune", "ward", "special_zone"], size=N_UNITS, p=[0.6, 0.38, 0.02])
    crits = m.criteria
    k = len(crits)
    max_points = np.array([c.max_points for c in crits])
    component = np.array([ranking.COMPONENTS.index(c.component) for c in crits])
    applicable = np.array([[m.applies(c, kind) for c in crits] for kind in kinds])
    points = np.round(rng.uniform(0.5, 1.0, size=(N_UNITS, k)) * max_points, 2)
    points[rng.random((N_UNITS, k)) < 0.03] = np.nan  # missing survey / satisfaction values
    blocks = rng.integers(0, N_BLOCKS, size=N_UNITS)
    previous = rng.permutation(N_UNITS).astype(float)
    class_min = np.array([c.min for c in m.classes])
    print(f"PAR Index: {N_UNITS:,} units x {k} criteria in {N_BLOCKS} blocks")

    def ours():
        return ranking.compose(points, applicable, component, max_points, blocks, previous_rank=previous, class_min=class_min)

    r = ours()
    pts_l, app_l = points.tolist(), applicable.tolist()
    py_totals, py_rank, py_classes = python_compose(pts_l, app_l, component.tolist(), max_points.tolist(), blocks.tolist(), class_min.tolist())
    assert np.array_equal(r.rank, py_rank), "vectorised ranks differ from the pure-Python ranks"
    assert np.allclose(r.total, py_totals) and np.array_equal(r.class_index, py_classes)

    t_ours = best_of(ours)
    t_sort = best_of(lambda: np.argsort(-r.total, kind="stable"))
    t_py = best_of(lambda: python_compose(pts_l, app_l, component.tolist(), max_points.tolist(), blocks.tolist(), class_min.tolist()), repeat=3)
    print(f"  compose + rank (survey.par.ranking)        {t_ours * 1000:8.2f} ms   {t_ours / t_sort:7.1f} x np.argsort of the totals   {t_ours / t_py:6.3f} x pure Python ({t_py * 1000:.0f} ms)")
    ok = t_ours < LIMIT_S
    print(f"  3,000 units composed and ranked in {t_ours:.4f} s ({'<' if ok else '>='} {LIMIT_S:g} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
