"""Bad input gives a ValueError that names the offending argument."""

from __future__ import annotations

import re

import numpy as np
import pytest

import sampling

pytestmark = pytest.mark.pure

CASES = [
    ("n", lambda: sampling.srs(10, 11, seed=1)),
    ("n", lambda: sampling.systematic(10, 11, seed=1)),
    ("N", lambda: sampling.srs(0, 0, seed=1)),
    ("n", lambda: sampling.srs(10, -1, seed=1)),
    ("n", lambda: sampling.srs(10, 2.5, seed=1)),
    ("seed", lambda: sampling.srs(10, 2, seed=None)),
    ("sizes", lambda: sampling.pps_systematic([1.0, 0.0, 2.0], 1, seed=1)),
    ("sizes", lambda: sampling.pps_brewer([1.0, -3.0], 1, seed=1)),
    ("sizes", lambda: sampling.pps_brewer([1.0, np.nan], 1, seed=1)),
    ("sizes", lambda: sampling.inclusion_probabilities([], 0)),
    ("n", lambda: sampling.inclusion_probabilities([1, 2], 3)),
    ("sizes", lambda: sampling.allocate(5, [10, 0, 5])),
    ("sizes", lambda: sampling.allocate(5, [10, np.nan])),
    ("n", lambda: sampling.allocate(100, [10, 20])),
    ("minimum", lambda: sampling.allocate(5, [10, 10, 10], minimum=2)),
    ("minimum", lambda: sampling.allocate(5, [10, 10], minimum=[1, 2, 3])),
    ("sd", lambda: sampling.allocate(5, [10, 10], method="neyman")),
    ("sd", lambda: sampling.allocate(5, [10, 10], method="neyman", sd=[1, -1])),
    ("power", lambda: sampling.allocate(5, [10, 10], method="power", power=2)),
    ("method", lambda: sampling.allocate(5, [10, 10], method="optimal")),
    ("margin", lambda: sampling.slovin(100, 0)),
    ("margin", lambda: sampling.slovin(100, 1.5)),
    ("N", lambda: sampling.slovin(0)),
    ("margin", lambda: sampling.sample_size_proportion(0.5, 1.0)),
    ("p", lambda: sampling.sample_size_proportion(1.2, 0.05)),
    ("confidence", lambda: sampling.sample_size_proportion(0.5, 0.05, confidence=95)),
    ("response_rate", lambda: sampling.sample_size_proportion(0.5, 0.05, response_rate=0)),
    ("deff", lambda: sampling.sample_size_proportion(0.5, 0.05, deff=-1)),
    ("population", lambda: sampling.sample_size_proportion(0.5, 0.05, population=0)),
    ("method", lambda: sampling.sample_size_proportion(0.5, 0.05, method="exact")),
    ("sigma", lambda: sampling.sample_size_mean(0, 0.1)),
    ("population", lambda: sampling.sample_size_by_stratum([100, 0])),
    ("strata", lambda: sampling.stratified([], 1, seed=1)),
    ("strata", lambda: sampling.stratified(np.array([1.0, np.nan]), 1, seed=1)),
    ("n_per_stratum", lambda: sampling.stratified(["a", "a", "b"], {"a": 3}, seed=1)),
    ("n_per_stratum", lambda: sampling.stratified(["a", "a", "b"], {"zz": 1}, seed=1)),
    ("n_per_stratum", lambda: sampling.stratified(["a", "a", "b"], [1, 1, 1], seed=1)),
    ("method", lambda: sampling.stratified(["a"], 1, seed=1, method="pps")),
    ("sort_key", lambda: sampling.systematic(5, 2, seed=1, sort_key=[1, 2])),
    ("n_psu", lambda: sampling.two_stage([1, 1, 2], None, 3, 1, seed=1)),
    ("n_per_psu", lambda: sampling.two_stage([1, 1, 2], None, 1, 0, seed=1)),
    ("psu_sizes", lambda: sampling.two_stage([1, 1, 2], [1.0, 0.0], 1, 1, seed=1)),
    ("strata", lambda: sampling.two_stage([1, 1, 2], None, 1, 1, seed=1, strata=["a", "b", "b"])),
    ("frame_size", lambda: sampling.reserve(np.array([0, 1]), 2, seed=1)),
    ("n", lambda: sampling.draw_stratified_sample(["a", "b"], 3, seed=1)),
    ("reserve_fraction", lambda: sampling.draw_stratified_sample(["a", "b"], 1, seed=1, reserve_fraction=-1)),
    ("e", lambda: sampling.aapor_rates(1, 0, 0, 0, 0, 1, 0, e=1.5)),
    ("R", lambda: sampling.aapor_rates(1, 0, -2, 0, 0, 1, 0)),
    ("sample_X", lambda: sampling.standardized_mean_differences([[1.0, np.nan], [2, 3]], [[1.0, 2], [3, 4]])),
    ("sample", lambda: sampling.composition_test([], ["a"])),
]


@pytest.mark.parametrize(("name", "call"), CASES, ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_value_error_names_argument(name, call):
    with pytest.raises(ValueError) as info:
        call()
    assert re.search(rf"(^|\W){re.escape(name)}(\W|$)", str(info.value)), str(info.value)


def test_messages_start_with_argument_name():
    with pytest.raises(ValueError, match=r"^n \(11\) is larger than the frame"):
        sampling.srs(10, 11, seed=1)
    with pytest.raises(ValueError, match=r"^sizes must be > 0"):
        sampling.pps_brewer([0.0, 1.0], 1, seed=1)
    with pytest.raises(ValueError, match=r"^margin must lie in \(0, 1\)"):
        sampling.slovin(100, 2)
    with pytest.raises(ValueError, match=r"^minimum is infeasible"):
        sampling.allocate(5, [10, 10, 10], minimum=2)
