"""Selection: sizes, probabilities, labels, reproducibility (properties with hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sampling
from sampling import Selection

pytestmark = pytest.mark.pure

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _same(a: Selection, b: Selection) -> bool:
    return np.array_equal(a.indices, b.indices) and np.array_equal(a.probs, b.probs)


@settings(max_examples=60, deadline=None)
@given(N=st.integers(1, 2000), data=st.data(), seed=seeds)
def test_srs_and_systematic_exact_n(N, data, seed):
    n = data.draw(st.integers(0, N))
    for sel in (sampling.srs(N, n, seed), sampling.systematic(N, n, seed)):
        assert sel.n == n
        assert np.unique(sel.indices).size == n
        assert sel.indices.min(initial=0) >= 0 and sel.indices.max(initial=0) < N
        assert np.allclose(sel.probs, n / N)
        assert sel.order.tolist() == list(range(1, n + 1))
        if n:
            # inclusion probabilities over the frame sum to n; weights of the sample sum to N
            assert np.full(N, sel.probs[0]).sum() == pytest.approx(n)
            assert sel.weights.sum() == pytest.approx(N)


def test_srs_with_replacement():
    sel = sampling.srs(5, 20, seed=1, replace=True)
    assert sel.n == 20 and sel.replace
    assert np.allclose(sel.probs, 4.0)  # expected hits n/N


def test_systematic_sort_key_is_implicit_stratification():
    key = np.repeat([3, 1, 2], 10)  # three blocks of 10 rows
    sel = sampling.systematic(30, 6, seed=3, sort_key=key)
    # 2 per block whatever the start
    assert np.bincount(key[sel.indices], minlength=4)[1:].tolist() == [2, 2, 2]


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.integers(1, 300), min_size=1, max_size=10),
    data=st.data(),
    seed=seeds,
    method=st.sampled_from(["srs", "systematic"]),
)
def test_stratified_exact_per_stratum(counts, data, seed, method):
    labels = np.repeat(np.arange(len(counts)) * 7, counts)  # labels 0, 7, 14, ...
    labels = np.random.default_rng(seed).permutation(labels)
    n_h = np.array([data.draw(st.integers(0, c)) for c in counts])
    sel = sampling.stratified(labels, n_h, seed, method=method)
    assert sel.n == n_h.sum()
    assert np.unique(sel.indices).size == sel.n
    # each selected row is in the stratum the result says
    assert np.array_equal(labels[sel.indices], sel.strata)
    got = np.array([np.sum(sel.strata == k * 7) for k in range(len(counts))])
    assert got.tolist() == n_h.tolist()
    # pi = n_h / N_h; sum of pi over the frame equals n
    expect = (n_h / np.array(counts))[sel.strata // 7]
    assert np.allclose(sel.probs, expect)
    # frame-level pi sums to n; sample weights reproduce each stratum size
    pi_frame = (n_h / np.array(counts))[labels // 7]
    assert pi_frame.sum() == pytest.approx(sel.n)
    for k in np.flatnonzero(n_h):
        assert sel.weights[sel.strata == k * 7].sum() == pytest.approx(counts[k])
    assert _same(sel, sampling.stratified(labels, n_h, seed, method=method))


def test_stratified_mapping_and_string_labels():
    labels = np.array(["b", "a", "b", "c", "a", "b"])
    sel = sampling.stratified(labels, {"a": 1, "b": 2}, seed=0)
    assert sorted(sel.strata.tolist()) == ["a", "b", "b"]
    assert sel.order.tolist() == [1, 1, 2]


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.floats(0.01, 1000, allow_nan=False), min_size=1, max_size=40),
    data=st.data(),
    seed=seeds,
)
def test_pps_probabilities_and_certainty(sizes, data, seed):
    x = np.array(sizes)
    n = data.draw(st.integers(0, x.size))
    pi = sampling.inclusion_probabilities(x, n)
    assert pi.sum() == pytest.approx(n)
    assert np.all(pi <= 1.0) and np.all(pi > 0 if n else pi == 0)
    cert = pi >= 1
    rest = ~cert
    if rest.any() and n:
        # proportional to size among non-certainty units, and every certainty unit is at least
        # as large as any non-certainty unit
        ratio = pi[rest] / x[rest]
        assert np.allclose(ratio, ratio[0])
        if cert.any():
            assert x[cert].min() >= x[rest].max() * (1 - 1e-12)
    for fn in (sampling.pps_systematic, sampling.pps_brewer):
        sel = fn(x, n, seed)
        assert sel.n == n
        assert np.unique(sel.indices).size == n
        assert np.allclose(sel.probs, pi[sel.indices])
        assert set(np.flatnonzero(cert)) <= set(sel.indices.tolist())  # certainty units taken
        assert _same(sel, fn(x, n, seed))


def test_pps_certainty_iterates():
    # 100 >= 111/2 -> certain; then 10 >= 11/1 is false -> pi = 10/11, 1/11
    x = np.array([100.0, 10.0, 1.0])
    assert np.allclose(sampling.inclusion_probabilities(x, 2), [1, 10 / 11, 1 / 11])
    # second round: 50 certain, then 40 >= (40+5+5)/1 ... no; shows iteration over two rounds
    x = np.array([1000.0, 50.0, 40.0, 5.0, 5.0])
    pi = sampling.inclusion_probabilities(x, 3)
    assert pi[0] == 1 and pi[1] == 1 and pi[2:].sum() == pytest.approx(1)


def test_pps_sampford_small():
    x = np.array([1, 2, 3, 4, 5, 6, 7, 8.0])
    sel = sampling.pps_sampford(x, 3, seed=4)
    assert sel.n == 3 and np.unique(sel.indices).size == 3
    assert _same(sel, sampling.pps_sampford(x, 3, seed=4))


def test_two_stage_product_and_self_weighting():
    rng = np.random.default_rng(0)
    M = rng.integers(20, 400, size=30)
    psu_ids = rng.permutation(np.repeat(np.arange(100, 130), M))
    sel = sampling.two_stage(psu_ids, None, n_psu=8, n_per_psu=10, seed=5)
    assert np.array_equal(psu_ids[sel.indices], sel.psu)
    assert np.unique(sel.psu).size == 8
    p1, p2 = sel.stage_probs
    assert np.allclose(sel.probs, p1 * p2)
    pi_psu = sampling.inclusion_probabilities(M, 8)
    assert np.allclose(p1, pi_psu[sel.psu - 100])
    assert np.allclose(p2, 10 / M[sel.psu - 100])
    if not (pi_psu >= 1).any():
        assert np.allclose(sel.probs, 8 * 10 / M.sum())  # self-weighting
    assert sel.design_arguments()["psu"][0] is sel.psu
    assert _same(sel, sampling.two_stage(psu_ids, None, 8, 10, seed=5))


def test_two_stage_stratified_and_small_psu():
    psu = np.repeat(np.arange(6), [3, 50, 50, 50, 50, 50])
    strata = np.repeat(["x", "y"], [103, 150])
    sel = sampling.two_stage(psu, None, {"x": 2, "y": 1}, 5, seed=1, first_stage="pps_brewer", strata=strata)
    assert np.array_equal(strata[sel.indices], sel.strata)
    assert sorted(np.unique(sel.strata).tolist()) == ["x", "y"]
    # a PSU with 3 rows contributes all 3 (conditional probability 1)
    small = sel.psu == 0
    if small.any():
        assert small.sum() == 3 and np.allclose(sel.stage_probs[1][small], 1.0)


def test_reserve_disjoint_and_ordered():
    strata = np.repeat(["a", "b"], [20, 30])
    main = sampling.stratified(strata, {"a": 5, "b": 5}, seed=1)
    res = sampling.reserve(main, 3, seed=2, strata=strata)
    assert not set(res.indices.tolist()) & set(main.indices.tolist())
    assert res.order.tolist() == [1, 2, 3, 1, 2, 3]
    assert np.array_equal(strata[res.indices], res.strata)
    assert np.allclose(res.probs, 3 / np.where(res.strata == "a", 15, 25))
    flat = sampling.reserve(main.indices, 100, seed=2, frame_size=50)
    assert flat.n == 40  # capped at the rows left


def test_draw_stratified_sample_convenience():
    rng = np.random.default_rng(1)
    frame = rng.choice(np.array(["c01", "c02", "c03", "c04"]), size=5000, p=[0.7, 0.2, 0.07, 0.03])
    s = sampling.draw_stratified_sample(
        frame, 400, seed=9, allocation="power", minimum=40, reserve_fraction=0.25
    )
    assert s.allocation.sum() == 400 and np.all(s.allocation >= 40)
    assert np.array_equal(frame[s.indices], s.strata)
    assert s.reserve_allocation.tolist() == np.ceil(0.25 * s.allocation).astype(int).tolist()
    assert not set(s.indices.tolist()) & set(s.reserve.indices.tolist())
    assert np.allclose(s.probs, (s.allocation / s.population)[np.searchsorted(s.labels, s.strata)])
    assert [r["sample"] for r in s.table()] == s.allocation.tolist()
    again = sampling.draw_stratified_sample(
        frame, 400, seed=9, allocation="power", minimum=40, reserve_fraction=0.25
    )
    assert np.array_equal(s.indices, again.indices) and np.array_equal(
        s.reserve.indices, again.reserve.indices
    )
    other = sampling.draw_stratified_sample(frame, 400, seed=10, allocation="power", minimum=40)
    assert not np.array_equal(s.indices, other.indices)


def test_selection_is_frozen_and_readonly():
    sel = sampling.srs(10, 3, seed=1)
    with pytest.raises(AttributeError):
        sel.probs = np.ones(3)  # type: ignore[misc]
    with pytest.raises(ValueError):
        sel.indices[0] = 5
    assert np.allclose(sel.weights, 10 / 3)
    assert sel.mask().sum() == 3


def test_ten_million_rows_under_five_seconds():
    import time

    strata = np.random.default_rng(0).integers(0, 100, size=10_000_000, dtype=np.int32)
    t0 = time.perf_counter()
    s = sampling.draw_stratified_sample(strata, 20_000, seed=1, minimum=50, reserve_fraction=0.3)
    elapsed = time.perf_counter() - t0
    assert s.sample.n == 20_000
    assert elapsed < 5.0


def test_library_is_pure():
    import subprocess
    import sys

    code = (
        "import sys, sampling; bad = [m for m in ('litestar', 'sqlalchemy', 'jinja2', 'msgspec', 'survey', "
        "'kiosk', 'pandas', 'statsmodels') if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
