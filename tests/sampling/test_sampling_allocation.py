"""Allocation across strata: worked examples and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sampling

pytestmark = pytest.mark.pure


def test_proportional_exact():
    assert sampling.allocate(10, [50, 30, 20]).tolist() == [5, 3, 2]


def test_largest_remainder():
    # 7 * (1/3 each) = 2.333 -> floors 2,2,2 + 1 to the first (tie broken by order)
    assert sampling.allocate(7, [10, 10, 10]).tolist() == [3, 2, 2]
    # proportional 10 * [0.45, 0.35, 0.2] = 4.5, 3.5, 2 -> 5, 3, 2 (ties to lower index)
    assert sampling.allocate(10, [45, 35, 20]).tolist() == [5, 3, 2]


def test_minimum_and_cap_redistribute():
    # proportional would be 9, 0.9, 0.1; minimum 2 -> 6 remaining go to the first
    assert sampling.allocate(10, [900, 90, 10], minimum=2).tolist() == [6, 2, 2]
    # equal allocation capped at a tiny stratum: 5 + (95 split equally) 48/47
    assert sampling.allocate(100, [5, 1000, 1000], method="equal").tolist() == [5, 48, 47]
    # minimum above the stratum size is capped at the size (3), the rest shared
    assert sampling.allocate(25, [3, 100, 100], minimum=10).tolist() == [3, 11, 11]
    # a stratum whose proportional share exceeds its size is capped and the excess redistributed
    assert sampling.allocate(60, [10, 100], method="equal").tolist() == [10, 50]


def test_neyman_textbook():
    # Cochran (1977) Neyman: n_h = n N_h S_h / sum N_h S_h
    N = np.array([1000, 2000, 500])
    S = np.array([10.0, 5.0, 40.0])
    out = sampling.allocate(100, N, method="neyman", sd=S)
    w = N * S
    exact = 100 * w / w.sum()  # 25, 25, 50
    assert out.tolist() == exact.round().astype(int).tolist()
    # zero-sd stratum gets the minimum only
    assert sampling.allocate(10, [10, 10, 10], method="neyman", sd=[0, 1, 3]).tolist() == [0, 3, 7]


def test_power_allocation_bankier():
    N = np.array([1000, 100, 10])
    q1 = sampling.allocate(110, N, method="power", power=1.0)
    assert q1.tolist() == sampling.allocate(110, N).tolist()
    q0 = sampling.allocate(30, N, method="power", power=0.0)
    assert q0.tolist() == [10, 10, 10]
    half = sampling.allocate(100, N, method="power", power=0.5)
    # sqrt sizes 31.6, 10, 3.16 -> 70.9, 22.4, 7.1 (+ rounding)
    assert half.tolist() == [71, 22, 7]


sizes_st = st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    sizes=sizes_st,
    frac=st.floats(min_value=0, max_value=1),
    method=st.sampled_from(["proportional", "equal", "neyman", "power"]),
    minimum=st.integers(min_value=0, max_value=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_allocation_properties(sizes, frac, method, minimum, seed):
    N = np.array(sizes)
    n = int(round(frac * N.sum()))
    lo = np.minimum(minimum, N)
    sd = np.random.default_rng(seed).uniform(0, 5, N.size) if method in ("neyman", "power") else None
    if lo.sum() > n:
        with pytest.raises(ValueError, match="minimum"):
            sampling.allocate(n, N, method=method, sd=sd, minimum=minimum)
        return
    out = sampling.allocate(n, N, method=method, sd=sd, minimum=minimum)
    assert out.dtype == np.int64
    assert out.sum() == n
    assert np.all(out >= lo)
    assert np.all(out <= N)


@settings(max_examples=100, deadline=None)
@given(sizes=sizes_st, frac=st.floats(min_value=0, max_value=1))
def test_proportional_within_one_of_exact_share_when_uncapped(sizes, frac):
    N = np.array(sizes)
    n = int(round(frac * N.sum()))
    out = sampling.allocate(n, N)
    exact = n * N / N.sum()
    assert np.all(np.abs(out - exact) < 1 + 1e-9)
