"""Pure screening rules (kiosk/integrity.py) and the seeded synthetic day: precision and recall of the flags."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk import integrity
from kiosk.integrity import (
    BIT,
    RULES,
    Thresholds,
    parse_closed_dates,
    parse_closed_weekdays,
    parse_opening_hours,
    screen,
)
from kiosk.synthetic import DAY0, synthetic_day

H = 3600


def _t(*seconds):
    return np.array([DAY0 + 9 * H + s for s in seconds], dtype=np.int64)


def test_burst_needs_more_than_n_within_m_seconds():
    th = Thresholds(burst_count=3, burst_seconds=10, identical_run=99)
    four_in_9s = screen(device=np.zeros(4), local_t=_t(0, 3, 6, 9), overall=np.array([5, 4, 5, 3]), thresholds=th)
    assert (four_in_9s & BIT["burst"]).all()
    three = screen(device=np.zeros(3), local_t=_t(0, 3, 6), overall=np.array([5, 4, 5]), thresholds=th)
    assert not (three & BIT["burst"]).any()
    spread = screen(device=np.zeros(4), local_t=_t(0, 11, 22, 33), overall=np.array([5, 5, 5, 5]), thresholds=th)
    assert not (spread & BIT["burst"]).any()
    # two devices, each with 2 ratings in the window: no burst (the rule is per device)
    two_devices = screen(device=np.array([1, 2, 1, 2]), local_t=_t(0, 1, 2, 3), overall=np.array([5, 5, 5, 5]), thresholds=th)
    assert not (two_devices & BIT["burst"]).any()


def test_identical_sequence_and_outside_hours():
    th = Thresholds(identical_run=3, identical_seconds=60, burst_count=100)
    same = screen(device=np.zeros(4), local_t=_t(0, 50, 100, 1000), overall=np.array([5, 5, 5, 5]), thresholds=th)
    assert [bool(x & BIT["identical_sequence"]) for x in same] == [True, True, True, False]
    sig = integrity.answer_signature(np.array([5, 5, 5]), np.array([[0, 4], [0, 3], [0, 4]]))
    differ = screen(device=np.zeros(3), local_t=_t(0, 10, 20), overall=np.array([5, 5, 5]), signature=sig, thresholds=th)
    assert not (differ & BIT["identical_sequence"]).any()
    hours = Thresholds(opening=parse_opening_hours("07:30-11:30,13:30-17:00"))
    t = np.array([DAY0 + 7 * H, DAY0 + 8 * H, DAY0 + 12 * H, DAY0 + 16 * H + 59 * 60, DAY0 + 17 * H], dtype=np.int64)
    out = screen(device=np.arange(5), local_t=t, overall=np.full(5, 4), thresholds=hours)
    assert [bool(x & BIT["outside_hours"]) for x in out] == [True, False, True, False, True]


def test_closed_weekdays_and_dates_count_as_outside_hours():
    # DAY0 is Saturday 2025-11-22; the next days are Sunday 23 and Monday 24
    t = np.array([DAY0 + 9 * H, DAY0 + 86400 + 9 * H, DAY0 + 2 * 86400 + 9 * H, DAY0 + 3 * 86400 + 9 * H], dtype=np.int64)
    th = Thresholds(closed_weekdays=parse_closed_weekdays("Sun"), closed_days=parse_closed_dates("2025-11-25"), burst_count=100)
    out = screen(device=np.arange(4), local_t=t, overall=np.full(4, 4), thresholds=th)
    assert [bool(x & BIT["outside_hours"]) for x in out] == [False, True, False, True]
    assert parse_closed_weekdays("sat, sunday") == {5, 6} and parse_closed_weekdays("") == frozenset()
    with pytest.raises(ValueError, match="kiosk_closed_weekdays"):
        parse_closed_weekdays("chủ nhật")
    with pytest.raises(ValueError, match="kiosk_closed_dates"):
        parse_closed_dates("02/09/2026")


def test_over_receipts_flags_only_the_excess_most_clustered():
    th = Thresholds(receipt_ratio=1.0, receipt_slack=1, burst_count=100, identical_run=99)
    t = _t(0, 600, 1200, 1800, 1801, 1802)
    out = screen(device=np.zeros(6), local_t=t, overall=np.array([4, 3, 5, 5, 5, 5]), receipts_that_day=np.full(6, 3), thresholds=th)
    flagged = (out & BIT["over_receipts"]) > 0
    assert flagged.sum() == 2 and not flagged[:3].any()
    unknown = screen(device=np.zeros(6), local_t=t, overall=np.full(6, 5), receipts_that_day=np.full(6, -1), thresholds=th)
    assert not (unknown & BIT["over_receipts"]).any()


def test_skewed_distribution_compares_with_the_rest_of_the_unit():
    rng = np.random.default_rng(1)
    honest = rng.choice(5, size=60, p=[0.05, 0.1, 0.25, 0.4, 0.2]) + 1
    gamed = np.r_[rng.choice(5, size=10, p=[0.05, 0.1, 0.25, 0.4, 0.2]) + 1, np.full(30, 5)]
    device = np.r_[np.full(60, -1), np.full(40, 7)]  # reference rows (-1) are never flagged
    t = np.r_[DAY0 + 9 * H + np.arange(60) * 400, DAY0 + 9 * H + np.arange(40) * 600]
    th = Thresholds(burst_count=100, identical_run=99)
    out = screen(device=device, local_t=t, overall=np.r_[honest, gamed], thresholds=th)
    skew = (out & BIT["skewed_distribution"]) > 0
    assert not skew[:60].any() and skew[60:].sum() >= 15
    assert (np.r_[honest, gamed][skew] == 5).all()
    # the honest device is not flagged even though it differs from a gamed reference: only extremes count
    swapped = screen(device=np.r_[np.full(60, 3), np.full(40, -1)], local_t=t, overall=np.r_[honest, gamed], thresholds=th)
    assert not (swapped & BIT["skewed_distribution"]).any()


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="local_t"):
        screen(device=np.zeros(3), local_t=np.zeros(2), overall=np.zeros(3))
    with pytest.raises(ValueError, match="kiosk_opening_hours"):
        parse_opening_hours("7-17")
    with pytest.raises(ValueError, match="burst_count"):
        Thresholds(burst_count=0)
    assert screen(device=np.zeros(0), local_t=np.zeros(0), overall=np.zeros(0)).shape == (0,)


def test_to_local_seconds_uses_the_zone_offset():
    utc = np.array([1_790_000_000, 1_800_000_000], dtype=np.int64)  # 2026, 2027
    assert (integrity.to_local_seconds(utc, "Asia/Ho_Chi_Minh") - utc == 7 * H).all()
    # the offset is looked up per day: Saigon was UTC+8 in 1970
    assert int(integrity.to_local_seconds(np.array([0]), "Asia/Ho_Chi_Minh")[0]) == 8 * H


#: floors the synthetic day must beat with the default thresholds (the measured values are printed)
PRECISION_FLOOR, RECALL_FLOOR = 0.8, 0.9


@pytest.mark.parametrize("seed", [2026, 7, 11])
def test_synthetic_day_precision_and_recall(seed, capsys):
    from kiosk.screening import thresholds_from
    from survey.settings import Settings

    day = synthetic_day(seed)
    th = thresholds_from(Settings())
    flags = screen(device=day.device, local_t=day.local_t, overall=day.overall, signature=day.signature, unit=day.unit,
                   counter=day.counter, receipts_that_day=day.receipts_that_day, thresholds=th)
    total = integrity.score(flags > 0, day.fake)
    with capsys.disabled():
        print(f"\nsynthetic day seed={seed}: {len(day)} ratings, {day.fake.sum()} staff presses; thresholds {th}")
        print(f"  any rule: flagged {total.flagged}, precision {total.precision:.3f}, recall {total.recall:.3f}")
        for rule in RULES:
            s = integrity.score((flags & BIT[rule]) > 0, day.fake)
            print(f"  {rule:20s} flagged {s.flagged:3d}  precision {s.precision:.3f}  recall {s.recall:.3f}")
    assert total.precision >= PRECISION_FLOOR and total.recall >= RECALL_FLOOR
    # the honest counter B (device 2) is almost untouched
    assert ((flags > 0) & (day.device == 2)).sum() <= 2
