"""Index tables (sipas_index, mean_scores, expectation_shares) and contrasts.

SEs are checked against R survey 4.1.1 (``svycontrast`` of the item ``svyratio``s with
``covmat=TRUE``; ``svyby`` for mean scores and expectation shares), saved by
``tests/analysis/r_oracle/indices.R`` in ``indices.json``; properties with hypothesis.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from refdata_analysis import load_csv

import analysis as an

pytestmark = pytest.mark.pure

ORACLE = Path(__file__).resolve().parent / "r_oracle" / "indices.json"
PILLARS = {"P1": ["q1", "q2"], "P2": ["q3", "q4", "q5"]}
ITEMS = ["q1", "q2", "q3", "q4", "q5"]
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}


@cache
def oracle() -> dict:
    return json.loads(ORACLE.read_text())


def answers(a) -> np.ndarray:
    """The five 0..5 answers of indices.R, from the same integer columns."""
    q = [
        a["snum"] % 6,
        (a["api00"] + a["dnum"]) % 6,
        a["meals"] % 6,
        (a["ell"] + 2 * a["mobility"]) % 6,
        (a["full"] + a["emer"]) % 6,
    ]
    return np.column_stack(q).astype(int)


def expectations(a) -> np.ndarray:
    return np.column_stack([a["api99"] % 3 == 0, a["emer"] % 2 == 1])


@cache
def designs():
    s, c = load_csv("apistrat"), load_csv("apiclus1")
    dstrat = an.Design(weights=s["pw"], strata=s["stype"], fpc=s["fpc"])
    dclus1 = an.Design(weights=c["pw"], psu=c["dnum"], fpc=c["fpc"])
    base = an.Design(weights=s["pw"], strata=s["stype"])
    n = s["pw"].shape[0]
    X = np.column_stack([np.ones(n), s["stype"] == "H", s["stype"] == "M", s["sch.wide"] == "Yes"])
    dcal = an.calibrate(base, X.astype(float), [6194, 755, 1018, 5122], method="raking")
    dps = an.poststratify(dclus1, c["stype"], POP_TYPES)
    return {
        "stratified": (s, dstrat),
        "cluster": (c, dclus1),
        "raked": (s, dcal),
        "poststratified_cluster": (c, dps),
        "jk1_cluster": (c, dclus1.jackknife(mse=False)),  # R as.svrepdesign: mse=FALSE
    }


DESIGNS = ["stratified", "cluster", "raked", "poststratified_cluster", "jk1_cluster"]


@pytest.mark.parametrize("name", DESIGNS)
def test_index_table_matches_r(name):
    data, design = designs()[name]
    ref = oracle()[name]
    A = answers(data)
    whole = an.sipas_index(A, design, PILLARS, items=ITEMS)
    assert whole.codes == ("q1", "q2", "q3", "q4", "q5", "P1", "P2", "sipas")
    assert whole.kinds == ("item",) * 5 + ("pillar",) * 2 + ("sipas",)
    assert list(ref["all"]["codes"]) == list(whole.codes)
    np.testing.assert_allclose(whole.estimate[0], ref["all"]["estimate"], rtol=1e-9)
    np.testing.assert_allclose(whole.se[0], ref["all"]["se"], rtol=1e-7)
    np.testing.assert_allclose(whole.covariance(0), ref["all"]["cov"], rtol=1e-6, atol=1e-12)
    table = an.sipas_index(A, design, PILLARS, items=ITEMS, groups=data["stype"])
    assert list(table.groups) == ["E", "H", "M"]
    for g, label in enumerate(table.groups):
        r = ref[label]
        np.testing.assert_allclose(table.estimate[g], r["estimate"], rtol=1e-9)
        np.testing.assert_allclose(table.se[g], r["se"], rtol=1e-7)
        np.testing.assert_allclose(table.covariance(g), r["cov"], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", DESIGNS)
def test_mean_scores_and_expectations_match_r(name):
    data, design = designs()[name]
    ref = oracle()[name]
    ms = an.mean_scores(answers(data), design, items=ITEMS, groups=data["stype"])
    assert ms.kinds == ("mean",) * 5
    for j, item in enumerate(ITEMS):
        np.testing.assert_allclose(ms.estimate[:, j], ref["mean_scores"][item]["estimate"], rtol=1e-9)
        np.testing.assert_allclose(ms.se[:, j], ref["mean_scores"][item]["se"], rtol=1e-7)
    ex = an.expectation_shares(expectations(data), design, areas=["a1", "a2"], groups=data["stype"])
    np.testing.assert_allclose(ex.estimate, ref["expectation"]["estimate"], rtol=1e-9)
    np.testing.assert_allclose(ex.se, ref["expectation"]["se"], rtol=1e-7)
    lo, hi = ex.confint()
    assert np.all((lo >= 0) & (lo <= ex.estimate) & (ex.estimate <= hi) & (hi <= 1))


def test_logit_interval_and_domain_df_match_svyciprop():
    """R ``svyciprop(~I(q1>=4), subset(d, stype=="E" & q1>0), method="logit")``: R's df there
    is degf of the subset = the domain df (PSUs holding the domain minus strata)."""
    data, design = designs()["stratified"]
    ref = oracle()["stratified"]["ciprop_q1_E"]
    t = an.sipas_index(answers(data), design, PILLARS, items=ITEMS, groups=data["stype"], domain_df=True)
    g, j = t.row("E"), t.column("q1")
    assert t.df[g, j] == ref["df"] == ref["domain_df"]
    assert t.estimate[g, j] == pytest.approx(ref["estimate"], rel=1e-9)
    lo, hi = t.confint(method="logit")
    assert (lo[g, j], hi[g, j]) == pytest.approx(tuple(ref["ci"]), rel=1e-7)
    design_df = an.sipas_index(answers(data), design, PILLARS, items=ITEMS, groups=data["stype"])
    assert np.all(design_df.df == design.df)


# ------------------------------------------------------------------------------ properties
@st.composite
def index_surveys(draw):
    n = draw(st.integers(60, 200))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(2, 6))
    strata = np.arange(n) % 2
    psu = strata * 50 + (np.arange(n) // 2) % 6
    w = rng.uniform(0.5, 4.0, n)
    A = rng.integers(0, 6, (n, k))
    A[: 6 * k, :] = np.tile(np.arange(6)[:, None], (k, k))[: 6 * k, :k]  # every code present
    groups = rng.integers(0, 3, n)
    groups[:3] = [0, 1, 2]
    split = draw(st.integers(1, k - 1))
    names = [f"i{j}" for j in range(k)]
    pillars = {"A": names[:split], "B": names[split:]}
    d = an.Design(weights=w, strata=strata, psu=psu)
    calibrated = draw(st.booleans())
    if calibrated:
        d = an.rake(d, [(groups, {0: 300.0, 1: 250.0, 2: 200.0})])
    return A, d, pillars, names, groups


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(index_surveys())
def test_pillar_and_sipas_are_means_of_their_parts(s):
    A, d, pillars, names, groups = s
    t = an.sipas_index(A, d, pillars, items=names, groups=groups, empty="nan")
    ok = ~np.isnan(t.estimate).any(axis=1)
    est = t.estimate[ok]
    col = {c: j for j, c in enumerate(t.codes)}
    for p, its in pillars.items():
        np.testing.assert_allclose(est[:, col[p]], est[:, [col[i] for i in its]].mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(
        est[:, col["sipas"]], est[:, [col[p] for p in pillars]].mean(axis=1), rtol=1e-12
    )
    # each item equals the domain proportion of the substantive answers (R svyby on a subset)
    for j, item in enumerate(names):
        b = an.by((A[:, j] >= 4).astype(float), groups, d.subset(A[:, j] > 0))
        np.testing.assert_allclose(t.estimate[ok, col[item]], b.estimate[ok], rtol=1e-10)
        np.testing.assert_allclose(t.se[ok, col[item]], b.se[ok], rtol=1e-8, atol=1e-14)


@SETTINGS
@given(index_surveys())
def test_contrast_of_an_estimate_with_itself_is_zero(s):
    A, d, pillars, names, groups = s
    t = an.sipas_index(A, d, pillars, items=names, empty="nan")
    K = len(t.codes)
    for j in range(K):
        c = np.zeros(K)
        c[j] = 1.0
        same = an.contrast(np.r_[t.estimate[0], t.estimate[0, j]], _dup(t.covariance(0), j), np.r_[c, -1.0])
        assert same.estimate == 0.0
        assert same.se == pytest.approx(0.0, abs=1e-12)
    # a contrast picking one measure has that measure's SE
    pick = an.contrast(t.estimate[0], t.covariance(0), np.eye(K)[-1])
    assert pick.se == pytest.approx(t.se[0, -1], rel=1e-12)


def _dup(cov: np.ndarray, j: int) -> np.ndarray:
    """Covariance of (theta, theta_j): theta_j appended as a copy of column j."""
    K = cov.shape[0]
    out = np.empty((K + 1, K + 1))
    out[:K, :K] = cov
    out[K, :K] = out[:K, K] = cov[j]
    out[K, K] = cov[j, j]
    return out


def test_unit_against_province_uses_covariance():
    """A pillar minus its item via the covariance equals the SE of the combined linear statistic."""
    data, design = designs()["cluster"]
    t = an.sipas_index(answers(data), design, PILLARS, items=ITEMS)
    K = len(t.codes)
    c = np.zeros(K)
    c[t.column("P1")], c[t.column("q1")] = 1.0, -1.0
    res = an.contrast(t.estimate[0], t.covariance(0), c, df=design.df)
    # P1 - q1 = (q2 - q1)/2
    c2 = np.zeros(K)
    c2[t.column("q2")], c2[t.column("q1")] = 0.5, -0.5
    res2 = an.contrast(t.estimate[0], t.covariance(0), c2, df=design.df)
    assert res.estimate == pytest.approx(res2.estimate, rel=1e-12)
    assert res.se == pytest.approx(res2.se, rel=1e-10)
    assert 0.0 <= res.p_value <= 1.0
    both = an.contrast(t.estimate[0], t.covariance(0), np.vstack([c, c2]))
    np.testing.assert_allclose(both.se, [res.se, res2.se], rtol=1e-12)


def test_difference_independent():
    d = an.difference_independent(0.8, 0.03, 0.75, 0.04, df1=30, df2=40)
    assert d.estimate == pytest.approx(0.05)
    assert d.se == pytest.approx(0.05)
    v1, v2 = 0.03**2, 0.04**2
    assert d.df == pytest.approx((v1 + v2) ** 2 / (v1**2 / 30 + v2**2 / 40))
    assert d.statistic == pytest.approx(1.0)
    from scipy import stats

    assert d.p_value == pytest.approx(2 * stats.t.sf(1.0, d.df))
    vec = an.difference_independent([0.8, 0.6], [0.03, 0.02], [0.7, 0.6], [0.04, 0.02])
    np.testing.assert_allclose(vec.estimate, [0.1, 0.0])
    assert np.all(np.isinf(vec.df))
    lo, hi = vec.confint()
    assert lo[0] == pytest.approx(0.1 - 1.959963984540054 * 0.05)
    with pytest.raises(ValueError, match="se2"):
        an.difference_independent(0.1, 0.1, 0.2, -0.1)


def test_all_satisfied_small_office_gets_a_finite_valid_interval():
    """12 respondents, all satisfied: p = 1, se = 0; Korn-Graubard with n_eff = n."""
    n = 40
    w = np.r_[np.full(12, 3.0), np.linspace(1, 2, n - 12)]
    groups = np.r_[np.zeros(12, int), np.ones(n - 12, int)]
    A = np.r_[np.full((12, 2), 5), np.tile([[1, 4], [2, 5], [4, 3], [5, 0]], (7, 1))]
    d = an.Design(weights=w)
    t = an.sipas_index(A, d, {"P": ["a", "b"]}, items=["a", "b"], groups=groups)
    assert t.estimate[0, 0] == 1.0 and t.se[0, 0] == 0.0
    for method in ("logit", "beta", "wilson", "wald"):
        lo, hi = t.confint(method=method)
        assert np.all(np.isfinite(lo) & np.isfinite(hi))
        assert np.all((lo >= 0) & (lo <= t.estimate) & (t.estimate <= hi) & (hi <= 1))
        # Clopper-Pearson lower bound for 12 of 12 with n* = 12 (t-adjusted: n* = 12 (t_11/t_df)^2 capped at 12)
        assert lo[0, 0] == pytest.approx(0.025 ** (1 / 12), rel=1e-9)
        assert hi[0, 0] == 1.0
    assert t.n[0, 0] == 12 and t.n_eff[0, 0] == 12


def test_korn_graubard_matches_clopper_pearson():
    from scipy import stats

    lo, hi = an.results.korn_graubard(np.array([0.3]), np.array([20.0]))
    assert lo[0] == pytest.approx(stats.beta.ppf(0.025, 6, 15))
    assert hi[0] == pytest.approx(stats.beta.ppf(0.975, 7, 14))


# ------------------------------------------------------------------------------ bad input
def test_bad_input_names_the_argument():
    d = an.Design(weights=np.ones(6))
    A = np.array([[1, 4], [5, 0], [4, 4], [2, 3], [0, 5], [3, 1]])
    with pytest.raises(ValueError, match="items_by_pillar"):
        an.sipas_index(A, d, {"P": ["a", "zz"]}, items=["a", "b"])
    with pytest.raises(ValueError, match="items"):
        an.sipas_index(A, d, {"P": ["a"]})
    with pytest.raises(ValueError, match="answers"):
        an.sipas_index(np.c_[A[:, :1], np.full(6, 9)], d, {"P": ["a", "b"]}, items=["a", "b"])
    with pytest.raises(ValueError, match="answers"):
        an.sipas_index(A[:5], d, {"P": ["a", "b"]}, items=["a", "b"])
    g = np.array([0, 0, 0, 1, 1, 1])
    B = A.copy()
    B[3:, 1] = 0  # item b has no substantive answer in group 1
    with pytest.raises(ValueError, match="answers: item 'b' has no substantive answer in group 1"):
        an.sipas_index(B, d, {"P": ["a", "b"]}, items=["a", "b"], groups=g)
    t = an.sipas_index(B, d, {"P": ["a", "b"]}, items=["a", "b"], groups=g, empty="nan")
    assert np.isnan(t.estimate[1, 1]) and np.isnan(t.estimate[1, 2]) and not np.isnan(t.estimate[1, 0])
    with pytest.raises(ValueError, match="satisfied"):
        an.sipas_index(A, d, {"P": ["a", "b"]}, items=["a", "b"], satisfied=(6,))
    with pytest.raises(ValueError, match="groups"):
        an.sipas_index(A, d, {"P": ["a", "b"]}, items=["a", "b"], groups=g[:4])
    with pytest.raises(ValueError, match="chosen"):
        an.expectation_shares(np.full((6, 2), 2), d, areas=["x", "y"])
    with pytest.raises(ValueError, match="areas"):
        an.expectation_shares(np.zeros((6, 2), bool), d, areas=["x"])
    with pytest.raises(ValueError, match="covariance"):
        an.contrast([1.0, 2.0], np.eye(3), [1, -1])
    with pytest.raises(ValueError, match="coefficients"):
        an.contrast([1.0, 2.0], np.eye(2), [1, -1, 0])
    t = an.sipas_index(A, d, {"P": ["a", "b"]}, items=["a", "b"])
    with pytest.raises(ValueError, match="method"):
        t.confint(method="exact")
    with pytest.raises(ValueError, match="g must be"):
        t.covariance(3)


def test_answers_as_mapping_and_group_codes_reuse():
    data, design = designs()["stratified"]
    A = answers(data)
    cols = {name: A[:, j] for j, name in enumerate(ITEMS)}
    gc = an.GroupCodes(data["stype"])
    t1 = an.sipas_index(cols, design, PILLARS, groups=gc)
    t2 = an.sipas_index(A, design, PILLARS, items=ITEMS, groups=data["stype"])
    np.testing.assert_array_equal(t1.estimate, t2.estimate)
    np.testing.assert_array_equal(t1.se, t2.se)
    assert np.all(
        t1.n[:, :5] == [[int(((A[:, j] > 0) & (data["stype"] == g)).sum()) for j in range(5)] for g in "EHM"]
    )


@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=60), st.integers(-3, 3), st.sampled_from(["int8", "int32", "int64", "uint16"]))
@settings(max_examples=60, deadline=None)
def test_group_codes_of_integers_agree_with_numpy_unique(values, shift, dtype):
    """Integer groups (negative ones too, such as a "no group" -1) are coded without a sort; levels and codes
    are what ``np.unique`` gives."""
    info = np.iinfo(dtype)
    labels = np.clip(np.asarray(values, dtype=np.int64) // (2**34) + shift, info.min, info.max).astype(dtype)
    gc = an.GroupCodes(labels)
    levels, codes = np.unique(labels, return_inverse=True)
    np.testing.assert_array_equal(gc.levels, levels)
    np.testing.assert_array_equal(gc.codes, codes.reshape(-1))
    assert gc.levels.dtype == labels.dtype


# ------------------------------------------------------------------------------ scale
def test_jackknife_structure_equals_the_dense_replicate_weights():
    from analysis.design import JackknifeStructure

    rng = np.random.default_rng(5)
    n = 300
    strata = np.arange(n) % 3
    psu = strata * 10 + rng.integers(0, 5, n)
    w = rng.uniform(1, 3, n)
    for d in (an.Design(weights=w, strata=strata, psu=psu), an.Design(weights=w, psu=psu)):
        j = d.jackknife()
        js = j.replicates.structure
        assert isinstance(js, JackknifeStructure) and j.replicates.weights is None
        dense = js.dense(j.weights)
        Y = rng.normal(size=(n, 3))
        np.testing.assert_allclose(js.totals(j.weights, Y), dense.T @ Y, rtol=1e-12)
        g = rng.integers(0, 4, n)
        onehot = np.eye(4)[g]
        np.testing.assert_allclose(js.group_totals(j.weights * Y[:, 0], g, 4), dense.T @ (onehot * Y[:, :1]))
        # a domain: the structure follows the zeroed weights
        sub = j.subset(g == 1)
        np.testing.assert_allclose(js.totals(sub.weights, Y), (dense * (g == 1)[:, None]).T @ Y, rtol=1e-12)


def test_jk1_with_one_replicate_per_respondent_never_builds_n_by_n():
    """30,000 respondents: an n x n replicate matrix would need 7 GB."""
    rng = np.random.default_rng(6)
    n = 30_000
    w = rng.gamma(4.0, 25.0, n)
    y = rng.normal(size=n)
    g = rng.integers(0, 10, n)
    d = an.Design(weights=w)
    j = d.jackknife()
    assert j.replicates.weights is None
    assert an.mean(y, j).se == pytest.approx(an.mean(y, d).se, rel=1e-3)
    np.testing.assert_allclose(an.by(y, g, j).se, an.by(y, g, d).se, rtol=2e-3)
    A = rng.integers(0, 6, (n, 4))
    t_j = an.sipas_index(A, j, {"P": ["a", "b"], "Q": ["c", "d"]}, items=list("abcd"), groups=g)
    t_d = an.sipas_index(A, d, {"P": ["a", "b"], "Q": ["c", "d"]}, items=list("abcd"), groups=g)
    np.testing.assert_allclose(t_j.se, t_d.se, rtol=2e-3)
    with pytest.raises(ValueError, match="too large to materialise"):
        an.poststratify(j, g, dict(enumerate(np.bincount(g, weights=w))))


def test_grouped_engine_sparse_equals_dense(monkeypatch):
    """The cell-wise (sparse) path of grouped_covariance against the dense path, calibrated designs."""
    import importlib

    va = importlib.import_module("analysis.variance")
    data, _ = designs()["stratified"]
    c = load_csv("apiclus2")
    two_stage = an.Design(psu=[c["dnum"], c["snum"]], fpc=[c["fpc1"], c["fpc2"]])
    s_raked = an.rake(
        an.Design(weights=data["pw"], strata=data["stype"]),
        [(data["stype"], POP_TYPES), (data["sch.wide"], {"No": 1072, "Yes": 5122})],
    )
    s_chain = an.poststratify(s_raked, data["awards"], {"No": 2500, "Yes": 3694})
    cases = [(data, s_raked), (data, s_chain), (c, two_stage), (data, an.Design(weights=data["pw"]))]
    for a, d in cases:
        A = answers(a)
        dense = an.sipas_index(A, d, PILLARS, items=ITEMS, groups=a["stype"])
        monkeypatch.setattr(va, "_GROUPED_DENSE_CELLS", 0)
        monkeypatch.setattr(va, "_ROW_CELLS_MIN", 0)
        sparse = an.sipas_index(A, d, PILLARS, items=ITEMS, groups=a["stype"])
        monkeypatch.undo()
        np.testing.assert_allclose(sparse.cov, dense.cov, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("mse", [True, False])
@pytest.mark.parametrize("stratified", [True, False])
def test_index_table_jackknife_structure_equals_dense_replicates(mse, stratified):
    from analysis.design import ReplicateWeights

    c = load_csv("apiclus1")
    if stratified:
        s = load_csv("apistrat")
        base = an.Design(weights=s["pw"], strata=s["stype"], psu=s["dnum"], nest=True, lonely_psu="remove")
        a = s
    else:
        base = an.Design(weights=c["pw"], psu=c["dnum"])
        a = c
    j = base.jackknife(mse=mse)
    rep = j.replicates
    dense = j._evolve(
        rep=ReplicateWeights(rep.structure.dense(j.weights), rep.rscales, rep.scale, rep.mse, rep.kind)
    )
    A = answers(a)
    t1 = an.sipas_index(A, j, PILLARS, items=ITEMS, groups=a["stype"])
    t2 = an.sipas_index(A, dense, PILLARS, items=ITEMS, groups=a["stype"])
    np.testing.assert_allclose(t1.cov, t2.cov, rtol=1e-9, atol=1e-15)
    assert t1.se.min() > 0


@pytest.mark.parametrize("name", ["stratified", "cluster", "raked", "poststratified_cluster"])
def test_unit_against_province_matches_r(name, monkeypatch):
    """R: one svyratio over domain-indicator and overall numerators (covmat=TRUE) + svycontrast."""
    data, design = designs()[name]
    ref = oracle()[name]["versus_total"]
    tab = an.sipas_index(
        answers(data), design, PILLARS, items=ITEMS, groups=data["stype"], compare_total=True
    )
    whole = an.sipas_index(answers(data), design, PILLARS, items=ITEMS)
    np.testing.assert_allclose(tab.total, whole.estimate[0], rtol=1e-12)
    v = tab.versus_total()
    for g, label in enumerate(tab.groups):
        np.testing.assert_allclose(v.estimate[g], ref[label]["estimate"], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(v.se[g], ref[label]["se"], rtol=1e-9)
    assert np.all((v.p_value >= 0) & (v.p_value <= 1))
    import importlib

    va = importlib.import_module("analysis.variance")
    monkeypatch.setattr(va, "_GROUPED_DENSE_CELLS", 0)
    sparse = an.sipas_index(
        answers(data), design, PILLARS, items=ITEMS, groups=data["stype"], compare_total=True
    )
    np.testing.assert_allclose(sparse.diff_cov, tab.diff_cov, rtol=1e-9, atol=1e-15)
    with pytest.raises(ValueError, match="no total"):
        whole.versus_total()
