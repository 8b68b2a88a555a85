"""Fay-Herriot EBLUP (against R, saved by r_oracle/fay_herriot.R), nonresponse adjustment from
AAPOR dispositions, and raking alternated with trimming."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis as an

pytestmark = pytest.mark.pure

ORACLE = Path(__file__).resolve().parent / "r_oracle" / "fay_herriot.json"
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def fh_ref() -> dict:
    return json.loads(ORACLE.read_text())


def _fh_inputs():
    r = fh_ref()
    X = np.column_stack([np.ones(len(r["meals"])), r["meals"]])
    return np.array(r["direct"]), np.array(r["direct_var"]), X


# ------------------------------------------------------------------------------ Fay-Herriot
def test_fay_herriot_matches_r_reml():
    y, psi, X = _fh_inputs()
    r = fh_ref()
    fit = an.fay_herriot(y, psi, X)
    assert fit.method == "REML"
    assert fit.sigma2_v == pytest.approx(r["sigma2_v"], rel=1e-7)
    np.testing.assert_allclose(fit.beta, r["beta"], rtol=1e-7)
    np.testing.assert_allclose(fit.beta_se, r["beta_se"], rtol=1e-7)
    np.testing.assert_allclose(fit.eblup, r["eblup"], rtol=1e-8)
    np.testing.assert_allclose(fit.gamma, r["gamma"], rtol=1e-7)
    np.testing.assert_allclose(fit.mse, r["mse"], rtol=1e-7)
    np.testing.assert_allclose(fit.rmse, np.sqrt(r["mse"]), rtol=1e-7)
    # nlme's REML fit of the same mixed model (a flat likelihood: within 2 % / 0.01)
    assert fit.sigma2_v == pytest.approx(r["nlme"]["sigma2_v"], rel=0.02)
    np.testing.assert_allclose(fit.eblup, r["nlme"]["eblup"], atol=0.01)
    # shrinkage always reduces the MSE below the direct variance here
    assert np.all(fit.mse < psi)


def test_fay_herriot_limits_synthetic_and_direct():
    y, psi, X = _fh_inputs()
    syn = an.fay_herriot(y, psi, X, sigma2_v=0.0)
    Vi = 1.0 / psi
    beta = np.linalg.solve(X.T @ (X * Vi[:, None]), X.T @ (Vi * y))
    np.testing.assert_allclose(syn.beta, beta, rtol=1e-10)
    np.testing.assert_allclose(syn.eblup, X @ beta, rtol=1e-12)
    np.testing.assert_allclose(syn.eblup, syn.synthetic, rtol=0)
    assert np.all(syn.gamma == 0)
    direct = an.fay_herriot(y, psi, X, sigma2_v=np.inf)
    np.testing.assert_array_equal(direct.eblup, y)
    np.testing.assert_array_equal(direct.mse, psi)
    assert np.all(direct.gamma == 1)
    big = an.fay_herriot(y, psi, X, sigma2_v=1e9)
    np.testing.assert_allclose(big.eblup, y, atol=1e-6)
    np.testing.assert_allclose(big.mse, psi, rtol=1e-6)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(8, 60))
def test_fay_herriot_eblup_between_direct_and_synthetic(seed, D):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(D), rng.normal(size=D)])
    psi = rng.uniform(0.01, 0.2, D)
    y = X @ [1.0, 0.5] + rng.normal(0, 0.3, D) + rng.normal(0, np.sqrt(psi))
    fit = an.fay_herriot(y, psi, X)
    assert fit.sigma2_v >= 0
    lo, hi = np.minimum(y, fit.synthetic), np.maximum(y, fit.synthetic)
    assert np.all((fit.eblup >= lo - 1e-12) & (fit.eblup <= hi + 1e-12))
    assert np.all((fit.gamma >= 0) & (fit.gamma <= 1)) and np.all(fit.mse > 0)


def test_fay_herriot_bad_input_names_the_argument():
    y, psi, X = _fh_inputs()
    with pytest.raises(ValueError, match="X must have shape"):
        an.fay_herriot(y, psi, X[:-1])
    with pytest.raises(ValueError, match="X must have shape"):
        an.fay_herriot(y, psi, X[None])
    with pytest.raises(ValueError, match="X"):
        an.fay_herriot(y[:2], psi[:2], X[:2])
    with pytest.raises(ValueError, match="X does not have full column rank"):
        an.fay_herriot(y, psi, np.column_stack([X, X[:, 1] * 2]))
    with pytest.raises(ValueError, match="direct_var"):
        an.fay_herriot(y, np.r_[psi[:-1], 0.0], X)
    with pytest.raises(ValueError, match="direct_var must have shape"):
        an.fay_herriot(y, psi[:-1], X)
    with pytest.raises(ValueError, match="direct"):
        an.fay_herriot(np.r_[y[:-1], np.nan], psi, X)
    with pytest.raises(ValueError, match="method"):
        an.fay_herriot(y, psi, X, method="ML")
    with pytest.raises(ValueError, match="sigma2_v"):
        an.fay_herriot(y, psi, X, sigma2_v=-1.0)


# ------------------------------------------------------------------------------ nonresponse
STATUSES = ("I", "P", "R", "NC", "O", "UH", "UO", "NE")


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(20, 200))
def test_adjusted_weights_sum_to_the_eligible_total(seed, n):
    rng = np.random.default_rng(seed)
    w = rng.uniform(1.0, 20.0, n)
    classes = rng.integers(0, 4, n)
    status = rng.choice(STATUSES, n)
    status[:8] = "I"
    classes[:8] = [0, 1, 2, 3, 0, 1, 2, 3]
    adj = an.nonresponse_adjust(w, status, classes)
    resp = np.isin(status, ("I", "P"))
    assert np.all(adj[~resp] == 0) and np.all(adj[resp] > 0)
    for c in range(4):
        m = classes == c
        known = m & ~np.isin(status, ("UH", "UO"))
        elig = m & np.isin(status, ("I", "P", "R", "NC", "O"))
        unknown = m & np.isin(status, ("UH", "UO"))
        e = w[elig].sum() / w[known].sum()
        assert adj[m].sum() == pytest.approx(w[elig].sum() + e * w[unknown].sum(), rel=1e-12)
    # respondents' weights keep their ratios within a class (one factor per class)
    for c in range(4):
        r = resp & (classes == c)
        np.testing.assert_allclose(adj[r] / w[r], (adj[r] / w[r])[0], rtol=1e-12)


def test_nonresponse_worked_example():
    # class A: 2 complete (w 10), 1 refusal (10), 1 unknown (10), 1 ineligible (10)
    w = np.full(5, 10.0)
    status = ["I", "I", "R", "UH", "NE"]
    adj = an.nonresponse_adjust(w, status)
    # e = 3/4; eligible total = 30 + 0.75 * 10 = 37.5, shared by the two completes
    np.testing.assert_allclose(adj, [18.75, 18.75, 0, 0, 0])
    # partials as nonrespondents
    adj2 = an.nonresponse_adjust(w, ["I", "P", "R", "UH", "NE"], respondents=("I",))
    np.testing.assert_allclose(adj2, [37.5, 0, 0, 0, 0])
    np.testing.assert_array_equal(
        an.response_groups(["I", "P", "R", "NC", "O", "UH", "UO", "NE", "pending"]),
        [0, 0, 1, 1, 1, 2, 2, 3, 2],
    )


def test_nonresponse_bad_input():
    w = np.full(4, 2.0)
    with pytest.raises(ValueError, match="status"):
        an.nonresponse_adjust(w, ["I", "X", "R", "NE"])
    with pytest.raises(ValueError, match="status has length"):
        an.nonresponse_adjust(w, ["I", "R"])
    with pytest.raises(ValueError, match="classes: class 'b' has eligible members but no respondent"):
        an.nonresponse_adjust(w, ["I", "R", "R", "NC"], ["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="classes: class 'b' has only members of unknown"):
        an.nonresponse_adjust(w, ["I", "R", "UH", "UO"], ["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="weights"):
        an.nonresponse_adjust(-w, ["I", "R", "R", "NC"])
    with pytest.raises(ValueError, match="respondents"):
        an.nonresponse_adjust(w, ["I", "R", "R", "NC"], respondents=("R",))


# ------------------------------------------------------------------------------ rake + trim
def test_rake_trim_holds_margins_and_caps():
    rng = np.random.default_rng(7)
    n = 2000
    w = rng.lognormal(3.0, 0.9, n)
    age = rng.integers(0, 4, n)
    sex = rng.integers(0, 2, n)
    d = an.Design(weights=w)
    age_tot = {0: 20000.0, 1: 30000.0, 2: 25000.0, 3: 15000.0}
    sex_tot = {0: 46000.0, 1: 44000.0}
    margins = [(age, age_tot), (sex, sex_tot)]
    plain = an.rake(d, margins)
    assert plain.weights.max() > 3.5 * np.median(plain.weights)  # trimming has work to do
    out = an.rake_trim(d, margins, k_median=3.5, upper_quantile=0.99)
    wt = out.weights
    cap = min(3.5 * np.median(wt), np.quantile(wt, 0.99))
    assert wt.max() <= cap * (1 + 1e-4)
    for groups, totals in margins:
        for lev, tot in totals.items():
            assert wt[groups == lev].sum() == pytest.approx(tot, rel=1e-7)
    assert wt.sum() == pytest.approx(90000.0, rel=1e-9)
    assert out.calibrations  # SEs account for the final raking
    assert an.mean(rng.normal(size=n), out).se > 0
    with pytest.raises(ValueError, match="k_median"):
        an.rake_trim(d, margins, k_median=0.5)
    with pytest.raises(ValueError, match="give k_median"):
        an.rake_trim(d, margins)
