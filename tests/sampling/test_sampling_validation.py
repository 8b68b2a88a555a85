"""Representativeness checks and AAPOR outcome rates (worked examples by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sampling

pytestmark = pytest.mark.pure


def test_aapor_worked_example():
    # I=400 P=50 R=200 NC=150 O=50 UH=100 UO=50, e=0.6
    # E = 450 + 400 = 850; U = 150; E+U = 1000; E+eU = 850 + 90 = 940
    r = sampling.aapor_rates(I=400, P=50, R=200, NC=150, O=50, UH=100, UO=50, e=0.6)
    assert r.rr1 == pytest.approx(400 / 1000)  # 0.400
    assert r.rr2 == pytest.approx(450 / 1000)  # 0.450
    assert r.rr3 == pytest.approx(400 / 940)  # 0.42553
    assert r.rr4 == pytest.approx(450 / 940)  # 0.47872
    assert r.rr5 == pytest.approx(400 / 850)  # 0.47059
    assert r.rr6 == pytest.approx(450 / 850)  # 0.52941
    assert r.coop1 == pytest.approx(400 / 700)  # (I+P)+R+O = 450+200+50
    assert r.coop2 == pytest.approx(450 / 700)
    assert r.coop3 == pytest.approx(400 / 650)  # (I+P)+R
    assert r.coop4 == pytest.approx(450 / 650)
    assert r.ref1 == pytest.approx(200 / 1000)
    assert r.ref2 == pytest.approx(200 / 940)
    assert r.ref3 == pytest.approx(200 / 850)
    assert r.con1 == pytest.approx(700 / 1000)
    assert r.con2 == pytest.approx(700 / 940)
    assert r.con3 == pytest.approx(700 / 850)
    d = r.as_dict()
    assert d["counts"]["UH"] == 100 and d["e"] == 0.6
    assert "RR1 40.0%" in r.to_text()


def test_aapor_e_default_and_from_ne():
    r = sampling.aapor_rates(10, 0, 5, 5, 0, 10, 0)
    assert r.e == 1.0 and r.rr3 == r.rr1
    # e from known eligibility: E = 20 eligible, NE = 20 -> e = 0.5
    r = sampling.aapor_rates(10, 0, 5, 5, 0, 10, 0, NE=20)
    assert r.e == pytest.approx(0.5) and r.rr3 == pytest.approx(10 / 25)
    z = sampling.aapor_rates(0, 0, 0, 0, 0, 0, 0)
    assert math.isnan(z.rr1)


def test_disposition_counts():
    codes = ["1.1", "1.1", "1.2", "2.11", "2.12", "2.21", "2.33", "3.11", "3.21", "4.7", "1.0"]
    with pytest.raises(ValueError, match="codes"):
        sampling.disposition_counts(codes)
    c = sampling.disposition_counts(codes[:-1])
    assert c == {"I": 2, "P": 1, "R": 2, "NC": 1, "O": 1, "UH": 1, "UO": 1, "NE": 1}
    assert sampling.aapor_rates(**c).rr1 == pytest.approx(2 / 9)


def test_composition_by_hand():
    # frame 50/30/20 %, sample of 100 with 40/35/25: X2 = 100/50 + 25/30 + 25/20 = 4.0833
    frame = np.repeat(["a", "b", "c"], [500, 300, 200])
    sample = np.repeat(["a", "b", "c"], [40, 35, 25])
    t = sampling.composition_test(sample, frame)
    assert t.statistic == pytest.approx(2 + 25 / 30 + 1.25)
    assert t.df == 2
    assert t.pvalue == pytest.approx(math.exp(-t.statistic / 2))  # chi2 with 2 df
    assert t.max_abs_share_difference == pytest.approx(0.10)
    same = sampling.composition_test([40, 35, 25], [500, 300, 200], counts=True)
    assert same.statistic == pytest.approx(t.statistic)
    assert sampling.composition_test(sample, frame, fpc=True).statistic == pytest.approx(t.statistic / 0.9)
    with pytest.raises(ValueError, match="sample"):
        sampling.composition_test(["z"], frame)


def test_standardized_mean_differences_by_hand():
    s = np.array([[1.0, 0], [3, 1]])  # means 2, 0.5 ; var (ddof 1) 2, 0.5
    f = np.array([[0.0, 0], [2, 1], [4, 0], [2, 1]])  # means 2, 0.5 ; var 8/3, 1/3
    d = sampling.standardized_mean_differences(s, f)
    assert np.allclose(d, [0, 0])
    s2 = np.array([[3.0], [5.0]])  # mean 4, var 2 ; frame mean 2, var 8/3
    assert sampling.standardized_mean_differences(s2, f[:, :1])[0] == pytest.approx(
        2 / math.sqrt((2 + 8 / 3) / 2)
    )
    w = sampling.standardized_mean_differences(s2, f[:, :1], sample_weights=[1, 1])
    assert w[0] == pytest.approx(2 / math.sqrt((2 + 8 / 3) / 2))


def test_representativeness_summary_reads_well():
    rng = np.random.default_rng(3)
    frame = rng.choice(np.array(["land", "civil", "business"]), size=20_000, p=[0.5, 0.3, 0.2])
    X = np.column_stack((rng.normal(40, 12, frame.size), rng.random(frame.size) < 0.4))
    sel = sampling.srs(frame.size, 800, seed=1)
    rates = sampling.aapor_rates(600, 20, 100, 60, 20, 0, 0)
    s = sampling.representativeness_summary(
        frame[sel.indices], frame, X[sel.indices], X, variable_names=["age", "female"], rates=rates
    )
    text = s.to_text()
    assert s.ok
    assert "chi-square" in text and "age" in text and "Response rate RR1" in text
    assert "no evidence" in text
    # a sample of only 'land' rows is flagged
    bad = np.flatnonzero(frame == "land")[:800]
    s2 = sampling.representativeness_summary(frame[bad], frame)
    assert not s2.ok and "significantly different" in s2.to_text()


def test_stratified_proportional_sample_passes_composition():
    frame = np.repeat(np.arange(20), np.arange(1, 21) * 100)
    s = sampling.draw_stratified_sample(frame, 2100, seed=4)
    t = sampling.composition_test(s.strata, frame)
    assert t.pvalue > 0.99  # proportional allocation reproduces shares up to rounding
