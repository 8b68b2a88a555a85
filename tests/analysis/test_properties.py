"""Property tests (hypothesis): calibration margins, raking = calibrate(raking), domains, scale invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis as an

pytestmark = pytest.mark.pure

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def surveys(draw, min_n=30, max_n=120):
    """A stratified cluster sample with two categorical variables and a numeric one."""
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_strata = draw(st.integers(1, 3))
    strata = np.arange(n) % n_strata
    psu = strata * 100 + rng.integers(0, 4, n)  # up to 4 PSUs per stratum
    psu[: 2 * n_strata * 4] = strata[: 2 * n_strata * 4] * 100 + (np.arange(2 * n_strata * 4) // n_strata) % 4
    w = rng.uniform(0.5, 5.0, n)
    a = np.arange(n) % 3  # every level present
    rng.shuffle(a)
    b = np.arange(n) % 2
    rng.shuffle(b)
    y = rng.normal(10, 3, n)
    return {"w": w, "strata": strata, "psu": psu, "a": a, "b": b, "y": y, "rng": rng}


def _design(s):
    return an.Design(weights=s["w"], strata=s["strata"], psu=s["psu"], lonely_psu="remove")


def _dummies(s):
    n = s["w"].shape[0]
    return np.column_stack([np.ones(n), s["a"] == 1, s["a"] == 2, s["b"] == 1]).astype(float)


@SETTINGS
@given(surveys(), st.sampled_from(["linear", "raking"]), st.floats(0.85, 1.15), st.floats(0.85, 1.15))
def test_calibrated_weights_reproduce_margins(s, method, f1, f2):
    d = _design(s)
    X = np.column_stack([_dummies(s), s["y"]])
    current = X.T @ s["w"]
    target = current * np.array([1.0, f1, f2, f1 * f2, (f1 + f2) / 2])
    c = an.calibrate(d, X, target, method=method)
    np.testing.assert_allclose(X.T @ c.weights, target, rtol=1e-6)


@SETTINGS
@given(surveys(), st.floats(0.8, 1.25), st.floats(0.8, 1.25))
def test_rake_equals_calibrate_raking(s, fa, fb):
    """Same weights; the SEs differ only by R rake()'s unweighted projections (weights vary in cells)."""
    d = _design(s)
    w = s["w"]
    ta = np.bincount(s["a"], weights=w) * np.array([1.0, fa, 1.0 / fa])
    tb = np.bincount(s["b"], weights=w) * np.array([1.0, fb])
    tb = tb * ta.sum() / tb.sum()  # consistent population size
    raked = an.rake(
        d, [(s["a"], dict(enumerate(ta))), (s["b"], dict(enumerate(tb)))], epsilon=1e-12, max_iter=2000
    )
    X = _dummies(s)
    totals = np.array([ta.sum(), ta[1], ta[2], tb[1]])
    cal = an.calibrate(d, X, totals, method="raking", epsilon=1e-12)
    np.testing.assert_allclose(raked.weights, cal.weights, rtol=1e-7)
    e1, e2 = an.mean(s["y"], raked), an.mean(s["y"], cal)
    assert e1.estimate == pytest.approx(e2.estimate, rel=1e-9)
    assert e1.se > 0 and e2.se > 0  # R rake() vs GREG residuals: see test_r_differences.py


@SETTINGS
@given(surveys(), st.floats(0.8, 1.25))
def test_rake_on_one_margin_with_constant_cell_weights_is_poststratification(s, fa):
    """Weights constant within the margin's cells: R's projection is the exact regression residual."""
    w = 1.0 + s["a"].astype(float)
    d = an.Design(weights=w, strata=s["strata"], psu=s["psu"], lonely_psu="remove")
    ta = np.bincount(s["a"], weights=w) * np.array([1.0, fa, 1.0 / fa])
    raked = an.rake(d, [(s["a"], dict(enumerate(ta)))], epsilon=1e-12)
    post = an.poststratify(d, s["a"], dict(enumerate(ta)))
    X = np.column_stack([s["a"] == k for k in range(3)]).astype(float)
    cal = an.calibrate(d, X, ta, method="raking", epsilon=1e-12)
    e = [an.mean(s["y"], x) for x in (raked, post, cal)]
    assert e[0].se == pytest.approx(e[1].se, rel=1e-9)
    assert e[0].se == pytest.approx(e[2].se, rel=1e-9)
    b = [an.by(s["y"], s["b"], x) for x in (raked, post)]
    np.testing.assert_allclose(b[0].se, b[1].se, rtol=1e-9)


@SETTINGS
@given(surveys(), st.sampled_from(["mean", "total", "proportion"]), st.booleans())
def test_subset_domain_equals_by(s, stat_name, jackknife):
    d = _design(s)
    if jackknife:
        d = d.jackknife(mse=False)
    stat = getattr(an, stat_name)
    y = (s["y"] > 10).astype(float) if stat_name == "proportion" else s["y"]
    table = an.by(y, s["a"], d, stat)
    for i, g in enumerate(table.groups):
        e = stat(y, d.subset(s["a"] == g))
        assert table.estimate[i] == pytest.approx(e.estimate, rel=1e-10, abs=1e-12)
        assert table.se[i] == pytest.approx(e.se, rel=1e-8, abs=1e-12)


@SETTINGS
@given(surveys(), st.floats(1e-3, 1e3))
def test_scaling_weights_leaves_means_and_proportions(s, c):
    d1 = _design(s)
    d2 = an.Design(weights=s["w"] * c, strata=s["strata"], psu=s["psu"], lonely_psu="remove")
    m1, m2 = an.mean(s["y"], d1), an.mean(s["y"], d2)
    assert m2.estimate == pytest.approx(m1.estimate, rel=1e-10)
    assert m2.se == pytest.approx(m1.se, rel=1e-8)
    p1, p2 = an.proportion(s["a"], d1), an.proportion(s["a"], d2)
    np.testing.assert_allclose(p2.estimate, p1.estimate, rtol=1e-10)
    np.testing.assert_allclose(p2.se, p1.se, rtol=1e-8)
