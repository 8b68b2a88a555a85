"""Monte Carlo: selection frequencies over repeated draws match the stated inclusion probabilities.

The same chi-square check (``sampling.selection_frequency_test``) is shown to reject
deliberately biased samplers, so it has teeth.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

import sampling
from sampling.pps import brewer_step_weights

pytestmark = pytest.mark.pure

REPS = 3000
SIZES = np.array([1.0, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 60])  # 60 is a certainty unit for n=4
PI = 3 * SIZES / SIZES[:-1].sum()
PI[-1] = 1.0


def _counts(draw, pi_frame: np.ndarray, reps: int = REPS) -> tuple[np.ndarray, np.ndarray]:
    """Selection counts per frame unit over ``reps`` draws.

    ``pi_frame`` is the inclusion probability the design claims for every frame unit; each
    draw's reported ``probs`` must agree with it.
    """
    counts = np.zeros(pi_frame.size, np.int64)
    for r in range(reps):
        sel = draw(r)
        np.add.at(counts, sel.indices, 1)
        np.testing.assert_allclose(sel.probs, pi_frame[sel.indices])
    return counts, pi_frame


def _passes(counts: np.ndarray, pi: np.ndarray, reps: int = REPS) -> float:
    return sampling.selection_frequency_test(counts, reps, pi).pvalue


def _binomial_max_z_pvalue(counts: np.ndarray, pi: np.ndarray, reps: int) -> float:
    """Bonferroni-corrected per-unit binomial check (valid whatever the joint probabilities)."""
    keep = (pi > 0) & (pi < 1)
    z = (counts[keep] - reps * pi[keep]) / np.sqrt(reps * pi[keep] * (1 - pi[keep]))
    return min(1.0, float(2 * stats.norm.sf(np.abs(z).max()) * keep.sum()))


def test_srs_frequencies():
    counts, pi = _counts(lambda r: sampling.srs(30, 7, seed=r), np.full(30, 7 / 30))
    assert np.allclose(pi, 7 / 30)
    assert _passes(counts, pi) > 1e-3


def test_stratified_frequencies():
    labels = np.repeat(["a", "b", "c"], [10, 25, 5])
    n_h = {"a": 3, "b": 4, "c": 5}
    pi_frame = np.repeat([0.3, 0.16, 1.0], [10, 25, 5])
    counts, pi = _counts(lambda r: sampling.stratified(labels, n_h, seed=r), pi_frame)
    assert np.all(counts[-5:] == REPS)  # take-all stratum
    assert _passes(counts, pi) > 1e-3


def test_systematic_frequencies():
    # fixed frame order: joint probabilities are degenerate, so use the per-unit binomial check
    counts, pi = _counts(lambda r: sampling.systematic(30, 7, seed=r), np.full(30, 7 / 30))
    assert _binomial_max_z_pvalue(counts, pi, REPS) > 1e-3
    # randomised frame order (random sort key per draw): the chi-square check applies
    counts, pi = _counts(
        lambda r: sampling.systematic(30, 7, seed=r, sort_key=np.random.default_rng(10_000 + r).random(30)),
        np.full(30, 7 / 30),
    )
    assert _passes(counts, pi) > 1e-3


def test_pps_brewer_frequencies():
    counts, pi = _counts(lambda r: sampling.pps_brewer(SIZES, 4, seed=r), PI)
    assert counts[-1] == REPS  # certainty unit always taken
    assert _passes(counts, pi) > 1e-3


def test_pps_sampford_frequencies():
    counts, pi = _counts(lambda r: sampling.pps_sampford(SIZES, 4, seed=r), PI)
    assert _passes(counts, pi) > 1e-3


def test_pps_systematic_frequencies():
    counts, pi = _counts(lambda r: sampling.pps_systematic(SIZES, 4, seed=r), PI)
    assert counts[-1] == REPS
    assert _binomial_max_z_pvalue(counts, pi, REPS) > 1e-3
    counts, pi = _counts(
        lambda r: sampling.pps_systematic(SIZES, 4, seed=r, sort_key=np.random.default_rng(r + 7).random(12)),
        PI,
    )
    assert _passes(counts, pi) > 1e-3


def test_two_stage_frequencies():
    psu = np.repeat(np.arange(8), [5, 8, 10, 12, 15, 20, 25, 40])
    M = np.bincount(psu)
    pi_frame = (3 * M / M.sum() * np.minimum(4, M) / M)[psu]  # no certainty PSU here
    counts, pi = _counts(
        lambda r: sampling.two_stage(psu, None, 3, 4, seed=r, first_stage="pps_brewer"), pi_frame
    )
    # every row's stated overall probability pi_psu * m/M
    assert _passes(counts, pi) > 1e-3


def test_brewer_is_exact_by_enumeration():
    """Sum the probability of every ordered draw sequence: Brewer's inclusion probabilities are exact."""
    x = np.array([1.0, 2.0, 3.0, 5.0, 8.0, 9.0])
    n = 3
    pi = sampling.inclusion_probabilities(x, n)
    assert pi.max() < 1
    incl = np.zeros(x.size)
    for seq in itertools.permutations(range(x.size), n):
        avail = np.ones(x.size, bool)
        prob = 1.0
        for i, k in enumerate(seq, start=1):
            w = brewer_step_weights(pi, avail, pi[avail].sum(), n - i + 1)
            prob *= w[k] / w.sum()
            avail[k] = False
        incl[list(seq)] += prob
    np.testing.assert_allclose(incl, pi, rtol=1e-12)


# ---- the check has teeth ------------------------------------------------------------------


def _naive_pps(sizes: np.ndarray, n: int, seed: int) -> sampling.Selection:
    """A common mistake: sequential draws without replacement with p proportional to size.

    Its inclusion probabilities are *not* n x_i / sum(x), yet it claims they are.
    """
    rng = np.random.default_rng(seed)
    idx = rng.choice(sizes.size, size=n, replace=False, p=sizes / sizes.sum())
    pi = n * sizes / sizes.sum()
    return sampling.Selection(
        indices=idx, probs=pi[idx], order=np.arange(1, n + 1), method="naive", frame_size=sizes.size
    )


def _floor_step_systematic(N: int, n: int, seed: int) -> sampling.Selection:
    """Another classic bug: integer step k = N // n, so the last N - n k units are never selected."""
    rng = np.random.default_rng(seed)
    k = N // n
    idx = rng.integers(k) + k * np.arange(n)
    return sampling.Selection(
        indices=idx, probs=np.full(n, n / N), order=np.arange(1, n + 1), method="bug", frame_size=N
    )


def test_biased_naive_pps_is_rejected():
    x = np.array([1.0, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25])
    pi_frame = 4 * x / x.sum()
    counts, pi = _counts(lambda r: _naive_pps(x, 4, r), pi_frame)
    assert _passes(counts, pi) < 1e-6
    # while Brewer on the same sizes passes
    counts, pi = _counts(lambda r: sampling.pps_brewer(x, 4, seed=r), pi_frame)
    assert _passes(counts, pi) > 1e-3


def test_biased_systematic_is_rejected():
    counts, pi = _counts(lambda r: _floor_step_systematic(30, 7, r), np.full(30, 7 / 30))
    assert _binomial_max_z_pvalue(counts, pi, REPS) < 1e-6
    assert _passes(counts, pi) < 1e-6


def test_slightly_biased_srs_is_rejected():
    """SRS that drops unit 0 a fifth of the time (replacing it by unit 1): a 20 % bias on one unit."""

    def draw(r: int) -> sampling.Selection:
        sel = sampling.srs(30, 7, seed=r)
        idx = sel.indices.copy()
        if 0 in idx and 1 not in idx and np.random.default_rng(r + 99).random() < 0.2:
            idx[idx == 0] = 1
        return sampling.Selection(indices=idx, probs=sel.probs, order=sel.order, method="bug", frame_size=30)

    counts, pi = _counts(draw, np.full(30, 7 / 30), reps=20_000)
    assert _passes(counts, pi, reps=20_000) < 1e-3
