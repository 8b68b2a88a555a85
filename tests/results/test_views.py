"""Shaping stored cells for the pages (pure): display rules, rank ranges, median marks, Vietnamese formats."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from survey import i18n
from survey.results import ranking, views
from survey.stats import change_between
from tests.results.helpers import cell, kg_interval


def as_cell(**kw):
    return SimpleNamespace(**kw)


def test_twelve_of_twelve_satisfied_has_a_finite_interval_never_plus_minus_zero():
    c = views.cell_view(as_cell(**cell("unit", "D04", "Sở Y tế", "sipas", "", 1.0, 12)))
    assert c.shown and c.estimate == 1.0
    lo, hi = kg_interval(1.0, 12)
    assert c.low == lo and 0.70 < lo < 0.76 and c.high == 1.0  # Clopper-Pearson: (0.025)^(1/12) = 0.7354
    assert abs(lo - 0.025 ** (1 / 12)) < 1e-9
    assert c.asymmetric  # printed as an interval, not as "± margin"
    assert c.margin > 0.1


def test_a_degenerate_interval_is_not_shown_as_a_result():
    c = views.cell_view(as_cell(**{**cell("unit", "X", "X", "sipas", "", 1.0, 12), "ci_low": 1.0, "ci_high": 1.0}))
    assert not c.shown and c.reason == "no_interval" and c.estimate is None


def test_suppressed_and_administrative_cells():
    s = views.cell_view(as_cell(**cell("unit", "Z", "Z", "sipas", "", 0.8, 5, suppressed=True)))
    assert not s.shown and s.reason == "suppressed"
    a = views.cell_view(as_cell(**cell("unit", "Z", "Z", "admin_766", "", 0.97, 400, method="administrative")))
    assert a.shown and a.estimate == 0.97 and a.margin is None


def test_rank_ranges_when_intervals_overlap():
    rows, med = ranking.rank([
        ("A", 0.93, 0.90, 0.96), ("B", 0.91, 0.88, 0.94), ("C", 0.80, 0.76, 0.84), ("D", 0.70, 0.66, 0.74), ("E", None, None, None),
    ])
    by = {r.key: r for r in rows}
    assert [r.key for r in rows] == ["A", "B", "C", "D", "E"]
    assert by["A"].rank_label == "1–2" and by["B"].rank_label == "1–2"  # overlapping: cannot be told apart
    assert by["C"].rank_label == "3" and by["D"].rank_label == "4"
    assert by["E"].rank_label == "–"  # suppressed: unranked, last
    assert med == (0.91 + 0.80) / 2
    assert not by["A"].overlaps_median and not by["C"].overlaps_median
    rows, med = ranking.rank([("A", 0.9, 0.8, 0.99), ("B", 0.85, 0.8, 0.9), ("C", 0.7, 0.6, 0.8)])
    assert med == 0.85 and all(r.overlaps_median for r in rows[:2]) and rows[2].overlaps_median is False


def test_vietnamese_formats():
    assert i18n.fmt_percent(0.863, "vi") == "86,3%"
    assert i18n.fmt_margin(0.021, "vi") == "±2,1 điểm %"
    assert i18n.fmt_margin(0.021, "en") == "±2.1 pp"
    assert i18n.fmt_points(-0.034, "vi") == "−3,4 điểm %"
    assert i18n.fmt_points(0.05, "vi") == "+5,0 điểm %"
    assert i18n.fmt_date(date(2026, 12, 1), "vi") == "01/12/2026"


def test_change_between_two_periods_matches_a_hand_computation():
    before = SimpleNamespace(estimate=0.80, se=0.02, df=100.0)
    after = SimpleNamespace(estimate=0.86, se=0.02, df=120.0)
    d = change_between(before, after)
    # se = sqrt(0.02² + 0.02²); Welch-Satterthwaite df = (v1 + v2)² / (v1²/100 + v2²/120) = 218.18
    se = (0.02**2 * 2) ** 0.5
    df = (2 * 0.0004) ** 2 / (0.0004**2 / 100 + 0.0004**2 / 120)
    assert abs(df - 218.18) < 0.01
    assert abs(d["estimate"] - 0.06) < 1e-12
    assert abs(d["low"] - (0.06 - stats.t.ppf(0.975, df) * se)) < 1e-9
    assert abs(d["p_value"] - 2 * stats.t.sf(0.06 / se, df)) < 1e-9
    assert d["significant"] is True
    same = change_between(before, SimpleNamespace(estimate=0.81, se=0.02, df=100.0))
    assert same["significant"] is False and same["low"] < 0 < same["high"]
    assert change_between(before, SimpleNamespace(estimate=None, se=None, df=None)) is None


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False), st.integers(0, 3), st.sampled_from(["vi", "en"]))
@settings(max_examples=300, deadline=None)
def test_fast_formatting_is_babels(value, digits, lang):
    from survey.results.present import fast_number, helpers

    assert fast_number(value, lang, digits) == i18n.fmt_number(value, lang, digits)
    h = helpers(lang)
    share = value / 1e7
    assert h["fmt_percent"](share, digits) == i18n.fmt_percent(share, lang, digits)
    assert h["fmt_margin"](abs(share), digits) == i18n.fmt_margin(abs(share), lang, digits)
