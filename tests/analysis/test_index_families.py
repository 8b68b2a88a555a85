"""Several domain families at once (``sipas_index_by``, ``mean_scores_by``, ``expectation_shares_by``).

The cell-moment form (:mod:`analysis.moments`) is checked against R survey 4.1.1 (the stratified
``id = ~1`` design of ``tests/analysis/r_oracle/indices.R``, saved in ``indices.json``) and, on
random designs, against the row-level :func:`analysis.sipas_index` family, which is itself checked
against R in ``test_indices.py``; designs outside its scope (clusters, calibration, replicates) must
give exactly what the one-family functions give.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indices import ITEMS, PILLARS, answers, designs, expectations, oracle

import analysis as an
from analysis.moments import moments_apply

pytestmark = pytest.mark.pure

FIELDS = ("estimate", "se", "deff", "n", "df", "cov", "n_eff")


def assert_same_table(fast: an.IndexTable, slow: an.IndexTable) -> None:
    assert fast.codes == slow.codes and fast.kinds == slow.kinds
    if slow.groups is None:
        assert fast.groups is None
    else:
        assert list(fast.groups) == list(slow.groups)
    # a measure whose influence values cancel exactly (all answers in a group equal; two rows with
    # opposite answers in a pillar) has a true SE of 0; each form leaves its own rounding noise
    # (an SE below ~1e-8: the square root of a variance of ~1e-17), and a design effect of noise
    # over noise.  SEs are compared to 1e-7, design effects and n_eff only above that.
    noise = (slow.se < 1e-7) & (fast.se < 1e-7)
    for name in FIELDS:
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.shape == b.shape, name
        if name in ("deff", "n_eff"):
            a, b = np.where(noise, 0.0, a), np.where(noise, 0.0, b)
        atol = 1e-7 if name == "se" else 1e-12
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=atol, equal_nan=True, err_msg=name)


def test_stratified_design_matches_r_in_one_pass():
    data, design = designs()["stratified"]
    assert moments_apply(design)
    ref = oracle()["stratified"]
    A = answers(data)
    tabs = an.sipas_index_by(A, design, PILLARS, items=ITEMS, by={"all": None, "stype": data["stype"]})
    np.testing.assert_allclose(tabs["all"].estimate[0], ref["all"]["estimate"], rtol=1e-9)
    np.testing.assert_allclose(tabs["all"].se[0], ref["all"]["se"], rtol=1e-7)
    np.testing.assert_allclose(tabs["all"].covariance(0), ref["all"]["cov"], rtol=1e-6, atol=1e-12)
    t = tabs["stype"]
    assert list(t.groups) == ["E", "H", "M"]
    for g, label in enumerate(t.groups):
        np.testing.assert_allclose(t.estimate[g], ref[label]["estimate"], rtol=1e-9)
        np.testing.assert_allclose(t.se[g], ref[label]["se"], rtol=1e-7)
        np.testing.assert_allclose(t.covariance(g), ref[label]["cov"], rtol=1e-6, atol=1e-12)
    ms = an.mean_scores_by(A, design, items=ITEMS, by={"stype": data["stype"]})["stype"]
    for j, item in enumerate(ITEMS):
        np.testing.assert_allclose(ms.estimate[:, j], ref["mean_scores"][item]["estimate"], rtol=1e-9)
        np.testing.assert_allclose(ms.se[:, j], ref["mean_scores"][item]["se"], rtol=1e-7)
    ex = an.expectation_shares_by(expectations(data), design, areas=["a1", "a2"], by={"stype": data["stype"]})["stype"]
    np.testing.assert_allclose(ex.estimate, ref["expectation"]["estimate"], rtol=1e-9)
    np.testing.assert_allclose(ex.se, ref["expectation"]["se"], rtol=1e-7)


@pytest.mark.parametrize("name", ["stratified", "cluster", "raked", "poststratified_cluster", "jk1_cluster"])
def test_every_design_gives_the_one_family_tables(name):
    data, design = designs()[name]
    A = answers(data)
    by = {"all": None, "stype": data["stype"], "sch": data["sch.wide"]}
    fast = an.sipas_index_by(A, design, PILLARS, items=ITEMS, by=by)
    means = an.mean_scores_by(A, design, items=ITEMS, by=by)
    exp = an.expectation_shares_by(expectations(data), design, areas=["a1", "a2"], by=by)
    for fam, groups in by.items():
        assert_same_table(fast[fam], an.sipas_index(A, design, PILLARS, items=ITEMS, groups=groups))
        assert_same_table(means[fam], an.mean_scores(A, design, items=ITEMS, groups=groups))
        assert_same_table(exp[fam], an.expectation_shares(expectations(data), design, areas=["a1", "a2"], groups=groups))


@st.composite
def element_surveys(draw):
    """Designs with one unit per row: strata (some with one row), fpc, zero weights, empty cells."""
    n = draw(st.integers(40, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(1, 6))
    H = draw(st.integers(1, 5))
    strata = rng.integers(0, H, n)
    lonely = draw(st.sampled_from(["remove", "certainty", "average", "fail"]))
    if lonely != "fail" and draw(st.booleans()):
        strata[0] = H  # a stratum with a single row
    w = rng.uniform(0.2, 5.0, n)
    if draw(st.booleans()):
        w[rng.random(n) < 0.2] = 0.0  # rows outside a domain (design.subset)
        w[1] = 1.0
    fpc = None
    if draw(st.booleans()):
        sizes = np.bincount(strata) * rng.integers(2, 40, size=strata.max() + 1)
        fpc = sizes[strata].astype(float)
    A = rng.integers(0, 6, (n, k))
    if draw(st.booleans()):
        A[rng.random((n, k)) < 0.5] = 0
    A = A.astype(draw(st.sampled_from([np.int64, np.uint8, np.int8])))  # one-byte codes take the table lookups
    g1 = rng.integers(0, draw(st.integers(1, 12)), n)
    g2 = rng.integers(-1, 3, n)
    names = [f"i{j}" for j in range(k)]
    split = draw(st.integers(0, k - 1))
    pillars = {"A": names[: split + 1]} if split + 1 == k else {"A": names[: split + 1], "B": names[split + 1 :]}
    design = an.Design(weights=w, strata=strata, fpc=fpc, lonely_psu=lonely)
    chosen = rng.random((n, 3)) < draw(st.floats(0.0, 1.0))
    return A, design, pillars, names, {"all": None, "g1": g1, "g2": an.GroupCodes(g2)}, chosen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(element_surveys())
def test_cell_moments_equal_row_level_tables(s):
    A, design, pillars, names, by, chosen = s
    assert moments_apply(design)
    fast = an.sipas_index_by(A, design, pillars, items=names, by=by, empty="nan")
    means = an.mean_scores_by(A, design, items=names, by=by, empty="nan")
    for fam, groups in by.items():
        assert_same_table(fast[fam], an.sipas_index(A, design, pillars, items=names, groups=groups, empty="nan"))
        assert_same_table(means[fam], an.mean_scores(A, design, items=names, groups=groups, empty="nan"))
    try:
        slow_exp = {fam: an.expectation_shares(chosen, design, areas=["x", "y", "z"], groups=g) for fam, g in by.items()}
    except ValueError as exc:  # a group with zero weight: both forms refuse it the same way
        with pytest.raises(ValueError, match="no respondent with positive weight"):
            an.expectation_shares_by(chosen, design, areas=["x", "y", "z"], by=by)
        assert "no respondent with positive weight" in str(exc)
        return
    fast_exp = an.expectation_shares_by(chosen, design, areas=["x", "y", "z"], by=by)
    for fam in by:
        assert_same_table(fast_exp[fam], slow_exp[fam])


def test_empty_item_in_a_group_raises_like_the_one_family_form():
    A = np.array([[4, 5], [3, 0], [5, 2], [1, 0]])
    groups = np.array(["a", "b", "a", "b"])
    d = an.Design(weights=np.ones(4))
    with pytest.raises(ValueError, match=r"item 'i1' has no substantive answer in group 'b'"):
        an.sipas_index(A, d, {"P": ["i0", "i1"]}, items=["i0", "i1"], groups=groups)
    with pytest.raises(ValueError, match=r"item 'i1' has no substantive answer in group 'b'"):
        an.sipas_index_by(A, d, {"P": ["i0", "i1"]}, items=["i0", "i1"], by={"g": groups})
    t = an.sipas_index_by(A, d, {"P": ["i0", "i1"]}, items=["i0", "i1"], by={"g": groups}, empty="nan")["g"]
    assert np.isnan(t.estimate[1, 1]) and np.isnan(t.estimate[1, 2]) and t.estimate[1, 0] == 0.0


def test_bad_by_and_answers_are_refused():
    d = an.Design(weights=np.ones(3))
    A = np.array([[1], [2], [7]])
    with pytest.raises(ValueError, match="by must be a non-empty mapping"):
        an.sipas_index_by(A, d, {"P": ["q"]}, items=["q"], by={})
    with pytest.raises(ValueError, match=r"value .*7.* at row 2, column 0"):
        an.sipas_index_by(A, d, {"P": ["q"]}, items=["q"], by={"all": None})
    with pytest.raises(ValueError, match="groups has length 3, expected 2"):
        an.mean_scores_by(A[:2], an.Design(weights=np.ones(2)), items=["q"], by={"g": [1, 2, 3]})


@pytest.mark.parametrize("name", ["stratified", "cluster"])
def test_mean_scores_without_covariances_between_items(name):
    data, design = designs()[name]
    A = answers(data)
    by = {"all": None, "stype": data["stype"]}
    diag = an.mean_scores_by(A, design, items=ITEMS, by=by, covariance="diagonal")
    for fam, groups in by.items():
        full = an.mean_scores(A, design, items=ITEMS, groups=groups)
        t = diag[fam]
        for attr in ("estimate", "se", "deff", "n", "df", "n_eff"):
            np.testing.assert_allclose(getattr(t, attr), getattr(full, attr), rtol=1e-9, atol=1e-13)
        k = len(ITEMS)
        np.testing.assert_allclose(t.cov[:, np.arange(k), np.arange(k)], full.cov[:, np.arange(k), np.arange(k)], rtol=1e-9)
        off = ~np.eye(k, dtype=bool)
        assert np.isnan(t.cov[:, off]).all()
    with pytest.raises(ValueError, match="covariance must be 'full' or 'diagonal'"):
        an.mean_scores_by(A, design, items=ITEMS, by=by, covariance="none")


def test_rake_weights_equal_the_raked_design():
    rng = np.random.default_rng(3)
    u, f = rng.integers(0, 12, 3000), rng.integers(0, 4, 3000)
    base = rng.uniform(0.5, 2.0, 3000)
    margins = [(u, {i: 50.0 + 3 * i for i in range(12)}), (f, {i: (600 + 198) / 4 for i in range(4)})]
    raked = an.rake(an.Design(weights=base), margins, epsilon=1e-10, max_iter=300)
    np.testing.assert_array_equal(an.rake_weights(base, margins, epsilon=1e-10, max_iter=300), raked.weights)
    with pytest.raises(ValueError, match="population totals differ"):
        an.rake_weights(base, [margins[0], (f, {i: 1.0 for i in range(4)})])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64])
def test_one_byte_codes_are_checked_and_coded_like_wider_ones(dtype):
    """Answer codes of one byte take table lookups; values outside 1..5 and ``missing`` are refused the same way."""
    d = an.Design(weights=np.ones(4))
    with pytest.raises(ValueError, match=r"value .*7.* at row 2, column 0"):
        an.mean_scores_by(np.array([[1], [2], [7], [0]], dtype=dtype), d, items=["q"], by={"all": None})
    A = np.array([[1, 5], [-1 if dtype != np.uint8 else 9, 4], [3, 3], [5, -1 if dtype != np.uint8 else 9]], dtype=dtype)
    miss = -1 if dtype != np.uint8 else 9
    wide = A.astype(np.int64)
    for fn, kw in ((an.sipas_index_by, {"items_by_pillar": {"P": ["a", "b"]}}), (an.mean_scores_by, {})):
        got = fn(A, d, items=["a", "b"], by={"all": None}, missing=miss, **kw)["all"]
        want = fn(wide, d, items=["a", "b"], by={"all": None}, missing=miss, **kw)["all"]
        np.testing.assert_array_equal(got.estimate, want.estimate)
        np.testing.assert_array_equal(got.n, want.n)
    assert an.mean_scores_by(A, d, items=["a", "b"], by={"all": None}, missing=miss)["all"].n.tolist() == [[3, 3]]
