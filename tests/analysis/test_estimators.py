"""Behaviour of estimators, intervals, replicates, trimming and diagnostics beyond the R cases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from refdata_analysis import load_csv
from scipy import stats

import analysis as an

pytestmark = pytest.mark.pure


@pytest.fixture(scope="module")
def clus1():
    a = load_csv("apiclus1")
    return a, an.Design(weights=a["pw"], psu=a["dnum"], fpc=a["fpc"])


@pytest.fixture(scope="module")
def strat():
    a = load_csv("apistrat")
    return a, an.Design(weights=a["pw"], strata=a["stype"], fpc=a["fpc"])


def test_estimate_is_frozen_and_confint_uses_t_df(clus1):
    a, d = clus1
    e = an.mean(a["api00"], d)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.estimate = 0.0
    assert e.df == 14
    lo, hi = e.confint(0.95)
    t = stats.t.ppf(0.975, 14)
    assert lo == pytest.approx(e.estimate - t * e.se)
    lo_n, _ = e.confint(0.95, dist="normal")
    assert lo_n == pytest.approx(e.estimate - stats.norm.ppf(0.975) * e.se)


def test_proportion_intervals_follow_formulas(clus1):
    a, d = clus1
    p = an.proportion(a["sch.wide"] == "Yes", d)
    est, se, df = p.estimate, p.se, p.df
    t = stats.t.ppf(0.975, df)
    assert p.confint(method="mean") == pytest.approx((est - t * se, est + t * se))
    assert p.confint(method="logit") == pytest.approx(p.confint(method="xlogit"))
    nstar = est * (1 - est) / se**2
    centre = est + t**2 / (2 * nstar)
    half = t / (2 * nstar) * np.sqrt(4 * nstar * est * (1 - est) + t**2)
    den = 1 + t**2 / nstar
    assert p.confint(method="wilson") == pytest.approx(((centre - half) / den, (centre + half) / den))
    nkg = nstar * (stats.t.ppf(0.025, d.n - 1) / stats.t.ppf(0.025, df)) ** 2
    lo = stats.beta.ppf(0.025, nkg * est, nkg * (1 - est) + 1)
    hi = stats.beta.ppf(0.975, nkg * est + 1, nkg * (1 - est))
    assert p.confint(method="beta") == pytest.approx((lo, hi))
    for m in ("logit", "wilson", "beta", "asin", "mean"):
        lo, hi = p.confint(method=m)
        assert 0 <= lo < est < hi <= 1


def test_categorical_proportion_vector(clus1):
    a, d = clus1
    p = an.proportion(a["stype"], d)
    assert list(p.levels) == ["E", "H", "M"]
    assert p.estimate.sum() == pytest.approx(1.0)
    lo, hi = p.confint(method="logit")
    assert lo.shape == (3,) and np.all(lo < p.estimate) and np.all(hi > p.estimate)
    # matches the binary proportion level by level
    pe = an.proportion(a["stype"] == "H", d)
    assert p.estimate[1] == pytest.approx(pe.estimate) and p.se[1] == pytest.approx(pe.se)


def test_na_rm_is_a_domain_with_full_design_df(strat):
    a, d = strat
    y = a["api00"].copy()
    y[:10] = np.nan
    e = an.mean(y, d, na_rm=True)
    sub = an.mean(np.nan_to_num(y), d.subset(~np.isnan(y)))
    assert e.estimate == pytest.approx(sub.estimate) and e.se == pytest.approx(sub.se)
    assert e.df == d.df == 197


def test_subset_df_counts_psus_with_weight(clus1):
    a, d = clus1
    dom = d.subset(a["dnum"] != 637)
    assert dom.df == 13 and d.df == 14


def test_by_categorical_proportion_and_confint(clus1):
    a, d = clus1
    t = an.by(a["stype"], a["sch.wide"], d, an.proportion)
    assert t.estimate.shape == (2, 3) and list(t.levels) == ["E", "H", "M"]
    np.testing.assert_allclose(t.estimate.sum(axis=1), 1.0)
    lo, hi = t.confint()
    assert np.all(lo <= t.estimate) and np.all(hi >= t.estimate)
    yes = an.proportion(a["stype"], d.subset(a["sch.wide"] == "Yes"))
    np.testing.assert_allclose(t.estimate[1], yes.estimate)
    np.testing.assert_allclose(t.se[1], yes.se)
    row = an.by(a["api00"], a["stype"], d).row("H")
    assert row.estimate == pytest.approx(an.mean(a["api00"], d.subset(a["stype"] == "H")).estimate)


def test_by_generic_statistic_falls_back_to_domains(clus1):
    a, d = clus1
    t = an.by(a["api00"], a["stype"], d, an.quantile, p=0.5)
    q = an.quantile(a["api00"], d.subset(a["stype"] == "E"), 0.5)
    assert t.estimate[0] == q.estimate


def test_jkn_equals_taylor_for_a_total_without_fpc(strat):
    a, _ = strat
    d = an.Design(weights=a["pw"], strata=a["stype"])
    r = d.jackknife()
    e_t, e_r = an.total(a["enroll"], d), an.total(a["enroll"], r)
    assert e_r.estimate == pytest.approx(e_t.estimate)
    assert e_r.se == pytest.approx(e_t.se, rel=1e-10)


def test_quantile_rules_and_intervals(clus1):
    a, d = clus1
    y = a["api00"]
    lin = an.quantile(y, d, 0.5, qrule="linear")
    assert min(y) <= lin.estimate <= max(y)
    wald = an.quantile(y, d, 0.5, interval_type="wald", qrule="linear")
    t = stats.t.ppf(0.975, d.df)
    # R oldsvyquantile "Wald": the interval p -/+ t se(F) inverted through the CDF, se = width / (2t)
    assert wald.ci[0] <= wald.estimate <= wald.ci[1]
    assert wald.se == pytest.approx((wald.ci[1] - wald.ci[0]) / (2 * t))
    lo, hi = an.quantile(y, d, [0.5 - t * wald.cdf_se, 0.5 + t * wald.cdf_se], qrule="linear", ci=False)
    assert wald.ci == pytest.approx((lo.estimate, hi.estimate))
    qs = an.quantile(y, d, [0.25, 0.75])
    assert qs[0].estimate < qs[1].estimate
    q = an.quantile(y, d, 0.5)
    lo90, hi90 = q.confint(0.90)
    assert q.ci[0] <= lo90 <= hi90 <= q.ci[1]
    rq = an.quantile(y, d.jackknife(), 0.5)
    assert rq.estimate == q.estimate and rq.se > 0


def test_trim_weights_redistributes_additively():
    d = an.Design(weights=np.array([1.0, 1.0, 1.0, 10.0]))
    t = an.trim_weights(d, upper=5.0)
    np.testing.assert_allclose(t.weights, [1 + 5 / 3, 1 + 5 / 3, 1 + 5 / 3, 5.0])
    assert t.weights.sum() == pytest.approx(13.0)
    diag = an.weight_diagnostics(t)
    assert diag.share_trimmed == pytest.approx(0.25)
    assert an.weight_diagnostics(d).share_trimmed == 0.0


def test_weight_diagnostics_kish():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    d = an.Design(weights=w)
    diag = an.weight_diagnostics(d)
    kish = 4 * (w**2).sum() / w.sum() ** 2
    assert diag.kish_deff == pytest.approx(kish) == an.kish_deff(w)
    assert diag.effective_n == pytest.approx(4 / kish) == an.effective_sample_size(w)
    assert diag.ratio == 4.0 and diag.min == 1.0 and diag.max == 4.0
    assert diag.cv == pytest.approx(w.std() / w.mean())


def test_calibration_on_domain_and_variance_estimator(clus1):
    a, d = clus1
    g = an.poststratify(d, a["stype"], {"E": 4421, "H": 755, "M": 1018})
    v = an.variance(a["api00"], g)
    assert v.estimate > 0 and v.se > 0
    dom = an.mean(a["api00"], g.subset(a["stype"] == "E"))
    assert np.isfinite(dom.se) and dom.se > 0


def test_design_weights_from_fpc_and_probs():
    d = an.Design(psu=np.arange(4), fpc=np.full(4, 40.0))
    np.testing.assert_allclose(d.weights, 10.0)
    d = an.Design(probs=np.full(4, 0.25))
    np.testing.assert_allclose(d.weights, 4.0)
    with pytest.raises(ValueError):
        d.weights[0] = 1.0  # read-only
