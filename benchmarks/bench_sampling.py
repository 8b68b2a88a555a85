"""Benchmark the sampling library (``make bench``).

Prints absolute seconds and ratios against baselines measured in the same run:

* stratified SRS / systematic from a 10,000,000-row frame with 100 strata, against
  ``rng.permutation`` of the same 10M rows and a naive per-stratum mask loop;
* the one-call ``draw_stratified_sample`` (allocation + sample + reserve);
* PPS from 100,000 units (systematic, Brewer), against numpy's
  ``rng.choice(p=..., replace=False)`` (fast but *not* πps).

Run: ``.venv/bin/python benchmarks/bench_sampling.py``  (about a minute on 2 cores).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sampling  # noqa: E402

N_ROWS = 10_000_000
N_STRATA = 100
N_PPS = 100_000
LIMIT_STRATIFIED_S = 5.0


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def row(label: str, seconds: float, baseline: float, baseline_name: str) -> None:
    print(f"  {label:<44s} {seconds:8.3f} s   {seconds / baseline:6.2f} x {baseline_name}")


def main() -> int:
    rng = np.random.default_rng(20250701)
    strata = rng.integers(0, N_STRATA, size=N_ROWS, dtype=np.int64)
    sizes_h = np.bincount(strata, minlength=N_STRATA)
    n_h = sampling.allocate(20_000, sizes_h, minimum=50)
    print(f"Frame: {N_ROWS:,} rows, {N_STRATA} strata; sample n = {int(n_h.sum()):,}")

    base_perm = best_of(lambda: np.random.default_rng(1).permutation(N_ROWS))

    def naive_loop() -> None:
        r = np.random.default_rng(1)
        out = []
        for h in range(N_STRATA):
            rows = np.flatnonzero(strata == h)
            out.append(rows[r.permutation(rows.size)[: n_h[h]]])
        np.concatenate(out)

    base_naive = best_of(naive_loop, repeat=1)
    t_srs = best_of(lambda: sampling.stratified(strata, n_h, seed=1))
    t_sys = best_of(lambda: sampling.stratified(strata, n_h, seed=1, method="systematic"))
    t_conv = best_of(
        lambda: sampling.draw_stratified_sample(strata, 20_000, seed=1, minimum=50, reserve_fraction=0.3)
    )
    t_srs_flat = best_of(lambda: sampling.srs(N_ROWS, 20_000, seed=1))

    print("Baselines:")
    print(f"  rng.permutation(10M)                         {base_perm:8.3f} s")
    print(f"  naive per-stratum mask loop                  {base_naive:8.3f} s")
    print("Stratified selection (10M rows):")
    row("stratified(method='srs')", t_srs, base_perm, "permutation")
    row("stratified(method='systematic')", t_sys, base_perm, "permutation")
    row("draw_stratified_sample(+allocation, reserve)", t_conv, base_perm, "permutation")
    print(f"  stratified srs vs naive loop: {t_srs / base_naive:.2f} x")
    row("srs(10M, 20000) (unstratified)", t_srs_flat, base_perm, "permutation")

    x = rng.lognormal(3.0, 1.2, size=N_PPS)
    n_pps = 1_000
    base_choice = best_of(lambda: np.random.default_rng(1).choice(N_PPS, n_pps, replace=False, p=x / x.sum()))
    t_pi = best_of(lambda: sampling.inclusion_probabilities(x, n_pps))
    t_ppss = best_of(lambda: sampling.pps_systematic(x, n_pps, seed=1))
    t_brewer = best_of(lambda: sampling.pps_brewer(x, n_pps, seed=1), repeat=1)
    cert = int((sampling.inclusion_probabilities(x, n_pps) >= 1).sum())
    print(f"PPS from {N_PPS:,} units, n = {n_pps} ({cert} certainty units):")
    print(f"  baseline rng.choice(p=..., replace=False)    {base_choice:8.3f} s   (not exact pi-ps)")
    row("inclusion_probabilities", t_pi, base_choice, "rng.choice")
    row("pps_systematic", t_ppss, base_choice, "rng.choice")
    row("pps_brewer (exact pi-ps, O(nN))", t_brewer, base_choice, "rng.choice")

    ok = t_srs < LIMIT_STRATIFIED_S and t_sys < LIMIT_STRATIFIED_S and t_conv < LIMIT_STRATIFIED_S
    print(f"Stratified 10M under {LIMIT_STRATIFIED_S:.0f} s: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
