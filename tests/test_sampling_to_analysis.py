"""A sample drawn by sampling/ plugs into analysis/: weights reproduce the frame, intervals cover."""

from __future__ import annotations

import numpy as np
import pytest

import analysis as an
import sampling

pytestmark = pytest.mark.pure


def _frame(seed: int = 7, n: int = 20_000):
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, 12, size=n)
    # satisfaction differs by stratum (unit), as in the demo province
    p = np.linspace(0.55, 0.95, 12)[strata]
    satisfied = (rng.random(n) < p).astype(float)
    return strata, satisfied


def test_stratified_weights_reproduce_stratum_sizes():
    strata, _ = _frame()
    s = sampling.draw_stratified_sample(strata, 600, seed=11, allocation="proportional", minimum=20)
    d = an.Design(**s.sample.design_arguments())
    totals = an.by(np.ones(s.indices.size), s.strata, d, an.total)
    expected = np.bincount(strata)
    assert np.allclose(totals.estimate, expected[np.asarray(totals.groups, dtype=int)])


def test_confidence_intervals_cover_the_frame_share_at_their_nominal_rate():
    strata, satisfied = _frame()
    truth = satisfied.mean()
    reps, hits = 300, 0
    for seed in range(reps):
        s = sampling.draw_stratified_sample(strata, 400, seed=seed, allocation="neyman", sd=np.full(12, 0.4), minimum=10)
        d = an.Design(**s.sample.design_arguments())
        lo, hi = an.proportion(satisfied[s.indices], d).confint(0.95, method="logit")
        hits += bool(lo <= truth <= hi)
    coverage = hits / reps
    # binomial(300, 0.95): 0.92..0.98 holds with probability > 0.99
    assert 0.92 <= coverage <= 0.98, coverage


def test_two_stage_sample_estimates_the_frame_total_without_bias():
    rng = np.random.default_rng(3)
    psu_sizes = rng.integers(20, 400, size=60)
    psu_ids = np.repeat(np.arange(60), psu_sizes)
    satisfied = (rng.random(psu_ids.size) < rng.uniform(0.4, 0.95, size=60)[psu_ids]).astype(float)
    estimates = []
    for seed in range(300):
        sel = sampling.two_stage(psu_ids, psu_sizes, n_psu=12, n_per_psu=10, seed=seed)
        # PPS on size with a fixed take per PSU is self-weighting: the count total is exact every time
        d = an.Design(**sel.design_arguments())
        assert an.total(np.ones(sel.indices.size), d).estimate == pytest.approx(psu_ids.size)
        estimates.append(an.total(satisfied[sel.indices], d).estimate)
    estimates = np.asarray(estimates)
    se_of_mean = estimates.std(ddof=1) / np.sqrt(estimates.size)
    assert se_of_mean > 0
    assert abs(estimates.mean() - satisfied.sum()) < 4 * se_of_mean
