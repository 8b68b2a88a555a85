"""Bad input raises ValueError naming the argument; never a silent NaN."""

from __future__ import annotations

import numpy as np
import pytest

import analysis as an

pytestmark = pytest.mark.pure


@pytest.fixture()
def small():
    rng = np.random.default_rng(3)
    n = 40
    strata = np.repeat([0, 1], n // 2)
    psu = strata * 10 + np.tile(np.arange(4), n // 4)
    w = rng.uniform(1, 3, n)
    return {"n": n, "strata": strata, "psu": psu, "w": w, "y": rng.normal(size=n), "g": np.arange(n) % 2}


def test_mismatched_lengths(small):
    with pytest.raises(ValueError, match="strata"):
        an.Design(weights=small["w"], strata=small["strata"][:-1])
    with pytest.raises(ValueError, match="psu"):
        an.Design(weights=small["w"], psu=small["psu"][:5])
    d = an.Design(weights=small["w"])
    with pytest.raises(ValueError, match="y"):
        an.mean(small["y"][:-1], d)
    with pytest.raises(ValueError, match="x"):
        an.ratio(small["y"], small["y"][:-2], d)
    with pytest.raises(ValueError, match="groups"):
        an.by(small["y"], small["g"][:-1], d)
    with pytest.raises(ValueError, match="mask"):
        d.subset(np.ones(3, dtype=bool))


def test_negative_or_missing_weights(small):
    w = small["w"].copy()
    w[0] = -1
    with pytest.raises(ValueError, match="weights"):
        an.Design(weights=w)
    w[0] = np.nan
    with pytest.raises(ValueError, match="weights"):
        an.Design(weights=w)
    with pytest.raises(ValueError, match="probs"):
        an.Design(probs=np.full(4, 1.5))
    with pytest.raises(ValueError, match="weights or probs"):
        an.Design(weights=[1.0, 2.0], probs=[0.5, 0.5])


def test_lonely_psu_fail_and_bad_option():
    strata = np.array([1, 1, 2, 3, 3])
    with pytest.raises(ValueError, match="lonely_psu"):
        an.Design(weights=np.ones(5), strata=strata)
    with pytest.raises(ValueError, match="lonely_psu"):
        an.Design(weights=np.ones(5), strata=strata, lonely_psu="drop")
    d = an.Design(weights=np.ones(5), strata=strata, lonely_psu="remove")
    assert np.isfinite(an.mean(np.arange(5.0), d).se)


def test_fpc_and_nesting_errors():
    with pytest.raises(ValueError, match="fpc"):
        an.Design(psu=np.arange(6), fpc=np.full(6, 4.0))  # population 4 < 6 sampled
    with pytest.raises(ValueError, match="fpc"):
        an.Design(strata=[0, 0, 1, 1], fpc=[10.0, 11.0, 10.0, 10.0])
    with pytest.raises(ValueError, match="nest"):
        an.Design(strata=[0, 0, 1, 1], psu=[1, 2, 1, 2])
    assert an.Design(strata=[0, 0, 1, 1], psu=[1, 2, 1, 2], nest=True).df == 2


def test_missing_values_need_na_rm(small):
    d = an.Design(weights=small["w"])
    y = small["y"].copy()
    y[3] = np.nan
    for f in (an.mean, an.total, an.variance, an.proportion):
        with pytest.raises(ValueError, match="na_rm"):
            f(np.where(np.isnan(y), np.nan, (y > 0).astype(float)) if f is an.proportion else y, d)
    with pytest.raises(ValueError, match="na_rm"):
        an.quantile(y, d, 0.5)
    with pytest.raises(ValueError, match="na_rm"):
        an.by(y, small["g"], d)


def test_totals_for_levels_not_in_data(small):
    d = an.Design(weights=small["w"])
    with pytest.raises(ValueError, match="not in the data"):
        an.poststratify(d, small["g"], {0: 10, 1: 10, 2: 5})
    with pytest.raises(ValueError, match="no population total"):
        an.poststratify(d, small["g"], {0: 10})
    with pytest.raises(ValueError, match="not in the data"):
        an.rake(d, [(small["g"], {0: 10, 1: 10, 7: 1})])
    with pytest.raises(ValueError, match="non-negative"):
        an.poststratify(d, small["g"], {0: -1, 1: 10})


def test_rake_and_calibrate_non_convergence(small):
    d = an.Design(weights=small["w"])
    g, h = small["g"], (np.arange(small["n"]) // 2) % 2
    with pytest.raises(ValueError, match="margins: the population totals differ"):
        an.rake(d, [(g, {0: 10, 1: 10}), (h, {0: 30, 1: 30})], max_iter=50)
    with pytest.raises(ValueError, match="did not converge"):
        an.rake(d, [(g, {0: 12, 1: 8}), (h, {0: 5, 1: 15})], epsilon=1e-12, max_iter=1)
    with pytest.warns(RuntimeWarning, match="did not converge"):  # R: a warning, last sweep kept
        an.rake(d, [(g, {0: 12, 1: 8}), (h, {0: 5, 1: 15})], epsilon=1e-12, max_iter=1, strict=False)
    X = np.column_stack([np.ones(small["n"]), g]).astype(float)
    with pytest.raises(ValueError, match="did not converge"):
        an.calibrate(
            d, X, [X[:, 0] @ small["w"], 3 * (X[:, 1] @ small["w"])], method="logit", bounds=(0.9, 1.1)
        )
    with pytest.raises(ValueError, match="bounds"):
        an.calibrate(d, X, [1.0, 1.0], method="logit")
    with pytest.raises(ValueError, match="totals"):
        an.calibrate(d, X, [1.0])
    with pytest.raises(ValueError, match="method"):
        an.calibrate(d, X, [1.0, 1.0], method="cubic")


def test_option_validation(small):
    d = an.Design(weights=small["w"])
    e = an.mean(small["y"], d)
    with pytest.raises(ValueError, match="level"):
        e.confint(level=1.5)
    with pytest.raises(ValueError, match="dist"):
        e.confint(dist="cauchy")
    p = an.proportion(small["g"], d)
    with pytest.raises(ValueError, match="method"):
        p.confint(method="exact")
    with pytest.raises(ValueError, match="p must"):
        an.quantile(small["y"], d, 1.5)
    with pytest.raises(ValueError, match="qrule"):
        an.quantile(small["y"], d, 0.5, qrule="hf7")
    with pytest.raises(ValueError, match="deff"):
        an.mean(small["y"], d, deff="yes")
    with pytest.raises(ValueError, match="design"):
        an.mean(small["y"], object())
    with pytest.raises(ValueError, match="replicate"):
        d.jackknife().jackknife()
    with pytest.raises(ValueError, match="lower"):
        an.trim_weights(d, lower=3, upper=2)


def test_zero_weight_domain_raises(small):
    d = an.Design(weights=small["w"])
    with pytest.raises(ValueError, match="zero total weight"):
        an.mean(small["y"], d.subset(np.zeros(small["n"], dtype=bool)))
