"""Benchmark analysis/ against samplics (TaylorEstimator) on the same synthetic survey.

Run: ``.venv/bin/python benchmarks/bench_analysis.py`` (a few minutes at most).

Data: 1,000,000 rows, 50 strata, 1,000 PSUs (20 per stratum), gamma weights, a numeric
variable, a 5-level categorical variable, and group variables with 10 and 3,000 levels.
Compared: the mean, the 5-level proportion, and domain means over 10 groups (samplics
``domain=``, which is domain estimation like R ``svyby``; samplics ``by=`` subsets the
design instead and gives different standard errors). samplics' domain estimation loops
over domains, so the 3,000-group comparison is run on a smaller sample (printed below);
our by() over 3,000 groups is also timed on the full 1M rows against the 2 s goal.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import analysis as an  # noqa: E402

warnings.filterwarnings("ignore", category=FutureWarning)
from samplics.estimation import TaylorEstimator  # noqa: E402
from samplics.utils.types import PopParam  # noqa: E402

N_ROWS = 1_000_000
N_STRATA = 50
PSU_PER_STRATUM = 20
SMALL_ROWS = 50_000  # size at which samplics is timed for 3,000 domains
TOL = 1e-9


def make_data(n: int, seed: int = 20240601) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    strata = np.sort(rng.integers(0, N_STRATA, n))
    psu = strata * PSU_PER_STRATUM + rng.integers(0, PSU_PER_STRATUM, n)
    w = rng.gamma(4.0, 25.0, n)
    y = rng.normal(3.5, 0.8, n) + (psu % 7) * 0.05
    cat5 = rng.integers(1, 6, n)
    g10 = rng.integers(0, 10, n)
    g3000 = rng.integers(0, 3000, n)
    return {"strata": strata, "psu": psu, "w": w, "y": y, "cat5": cat5, "g10": g10, "g3000": g3000}


def best_of(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def samplics_est(param, y, data, domain=None):
    est = TaylorEstimator(param)
    kw = {"domain": domain} if domain is not None else {}
    est.estimate(y=y, samp_weight=data["w"], stratum=data["strata"], psu=data["psu"], **kw)
    return est


def dict_values(d, keys):
    return np.array([d[k] for k in keys], dtype=float)


def report(label, t_ours, t_theirs, diffs, size_note=""):
    ratio = t_theirs / t_ours if t_ours > 0 else np.inf
    print(
        f"{label:<34} ours {t_ours:8.4f} s   samplics {t_theirs:8.3f} s   ratio {ratio:8.1f}x   "
        f"max|diff| est {diffs[0]:.2e} se {diffs[1]:.2e}{size_note}"
    )
    for name, dv in zip(("estimate", "se"), diffs, strict=True):
        if not dv <= TOL:
            raise SystemExit(f"FAIL: {label} {name} differs from samplics by {dv:.3e} > {TOL}")
    return ratio


def main() -> None:
    print(f"analysis vs samplics: {N_ROWS:,} rows, {N_STRATA} strata, {N_STRATA * PSU_PER_STRATUM} PSUs")
    data = make_data(N_ROWS)
    t_design, d = best_of(lambda: an.Design(weights=data["w"], strata=data["strata"], psu=data["psu"]), 3)
    print(f"Design construction (one-off, not in the ratios): {t_design:.3f} s")
    ratios = []

    # mean
    t_o, ours = best_of(lambda: an.mean(data["y"], d), 5)
    t_s, theirs = best_of(lambda: samplics_est(PopParam.mean, data["y"], data), 1)
    ratios.append(
        report("mean", t_o, t_s, (abs(ours.estimate - theirs.point_est), abs(ours.se - theirs.stderror)))
    )

    # proportion of a 5-level variable
    t_o, ours = best_of(lambda: an.proportion(data["cat5"], d), 5)
    t_s, theirs = best_of(lambda: samplics_est(PopParam.prop, data["cat5"], data), 1)
    keys = list(ours.levels)
    ratios.append(
        report(
            "proportion (5 levels)",
            t_o,
            t_s,
            (
                np.max(np.abs(ours.estimate - dict_values(theirs.point_est, keys))),
                np.max(np.abs(ours.se - np.sqrt(dict_values(theirs.variance, keys)))),
            ),
        )
    )

    # by() over 10 groups (samplics domain estimation)
    t_o, ours = best_of(lambda: an.by(data["y"], data["g10"], d, an.mean), 5)
    t_s, theirs = best_of(lambda: samplics_est(PopParam.mean, data["y"], data, data["g10"]), 1)
    keys = list(ours.groups)
    ratios.append(
        report(
            "by() mean over 10 groups",
            t_o,
            t_s,
            (
                np.max(np.abs(ours.estimate - dict_values(theirs.point_est, keys))),
                np.max(np.abs(ours.se - dict_values(theirs.stderror, keys))),
            ),
        )
    )

    # by() over 3,000 groups: full size for us, smaller size for the comparison
    t_full, ours_full = best_of(lambda: an.by(data["y"], data["g3000"], d, an.mean), 3)
    small = make_data(SMALL_ROWS, seed=7)
    ds = an.Design(weights=small["w"], strata=small["strata"], psu=small["psu"])
    t_o, ours = best_of(lambda: an.by(small["y"], small["g3000"], ds, an.mean), 5)
    t_s, theirs = best_of(lambda: samplics_est(PopParam.mean, small["y"], small, small["g3000"]), 1)
    keys = list(ours.groups)
    ratios.append(
        report(
            "by() mean over 3,000 groups",
            t_o,
            t_s,
            (
                np.max(np.abs(ours.estimate - dict_values(theirs.point_est, keys))),
                np.max(np.abs(ours.se - dict_values(theirs.stderror, keys))),
            ),
            f"   [both on {SMALL_ROWS:,} rows: samplics too slow on 1M]",
        )
    )
    print(f"by() mean over 3,000 groups on {N_ROWS:,} rows (ours only): {t_full:.3f} s  (goal < 2 s)")
    t_p, _ = best_of(lambda: an.by(data["cat5"], data["g3000"], d, an.proportion), 2)
    print(f"by() proportion (5 levels) over 3,000 groups on {N_ROWS:,} rows (ours only): {t_p:.3f} s")
    print(
        f"speed ratio samplics/ours: min {min(ratios):.1f}x, geometric mean {np.exp(np.mean(np.log(ratios))):.1f}x (goal >= 20x)"
    )
    if t_full >= 2.0:
        print("WARNING: by() over 3,000 groups took longer than 2 s on this machine")


if __name__ == "__main__":
    main()
