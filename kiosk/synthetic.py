"""Seeded synthetic kiosk data: an honest day at the counters plus a staff member gaming one kiosk.

Used by the screening tests (precision and recall of the flags) and by ``benchmarks/bench_kiosk.py``.
Pure numpy; times are local wall-clock epoch seconds (see :mod:`kiosk.integrity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Honest citizens' overall satisfaction, levels 1..5 (roughly the shape of published SIPAS results).
HONEST_P = np.array([0.03, 0.06, 0.16, 0.45, 0.30])
DAY0 = 20_414 * 86400  # 2025-11-22 00:00 local, a Saturday (no weekday is closed by default)


@dataclass(frozen=True, slots=True)
class SyntheticDay:
    device: np.ndarray
    counter: np.ndarray
    unit: np.ndarray
    local_t: np.ndarray
    overall: np.ndarray
    signature: np.ndarray
    receipts_that_day: np.ndarray
    #: True for the staff member's presses (the ground truth of the screening)
    fake: np.ndarray

    def __len__(self) -> int:
        return int(self.device.shape[0])


def _honest_counter(rng: np.random.Generator, device: int, receipts: int, rate: float, day0: int):
    """Citizens served between 07:30 and 17:00 (lighter over lunch); ``rate`` of them rate at the kiosk."""
    morning = rng.uniform(7.5 * 3600, 11.5 * 3600, int(receipts * 0.55))
    afternoon = rng.uniform(13.5 * 3600, 17.0 * 3600, receipts - morning.size)
    served = np.sort(np.r_[morning, afternoon])
    raters = served[rng.random(served.size) < rate]
    # rating a minute or two after the receipt; a few families/groups rate in quick succession
    t = raters + rng.uniform(30, 150, raters.size)
    overall = rng.choice(5, size=t.size, p=HONEST_P) + 1
    taps = np.where(rng.random((t.size, 5)) < 0.25, rng.choice(5, size=(t.size, 5), p=HONEST_P) + 1, 0)
    # one honest late rater just after closing (a true false-positive risk for outside_hours)
    t = np.r_[t, 17 * 3600 + 25 * 60 + rng.uniform(0, 600)]
    overall = np.r_[overall, 4]
    taps = np.r_[taps, np.zeros((1, 5), dtype=taps.dtype)]
    return day0 + t.astype(np.int64), overall, taps


def synthetic_day(seed: int = 2026, *, receipts_a: int = 110, receipts_b: int = 90, bursts: int = 9) -> SyntheticDay:
    """Two kiosks of one unit: counter A (device 1) is gamed by staff, counter B (device 2) is honest.

    The staff member presses "Rất hài lòng" in ``bursts`` bursts of 3–12 presses, 1.5–4 s apart, at
    random moments of the working day (one of them during the lunch break, one after closing).
    """
    rng = np.random.default_rng(seed)
    ta, oa, pa = _honest_counter(rng, 1, receipts_a, 0.6, DAY0)
    tb, ob, pb = _honest_counter(rng, 2, receipts_b, 0.6, DAY0)
    starts = np.r_[rng.uniform(7.6 * 3600, 16.8 * 3600, bursts - 2), 12.2 * 3600, 17.8 * 3600]
    ft, fo = [], []
    for s in starts:
        k = int(rng.integers(3, 13))
        ft.append(DAY0 + (s + np.cumsum(rng.uniform(1.5, 4.0, k))).astype(np.int64))
        fo.append(np.full(k, 5))
    ft_all = np.concatenate(ft)
    fo_all = np.concatenate(fo)
    n_a, n_b, n_f = ta.size, tb.size, ft_all.size
    device = np.r_[np.full(n_a, 1), np.full(n_b, 2), np.full(n_f, 1)].astype(np.int64)
    overall = np.r_[oa, ob, fo_all].astype(np.int64)
    taps = np.r_[pa, pb, np.zeros((n_f, 5), dtype=pa.dtype)]
    from kiosk.integrity import answer_signature

    return SyntheticDay(
        device=device,
        counter=device.copy(),
        unit=np.zeros(device.size, dtype=np.int64),
        local_t=np.r_[ta, tb, ft_all].astype(np.int64),
        overall=overall,
        signature=answer_signature(overall, taps),
        receipts_that_day=np.r_[np.full(n_a, receipts_a), np.full(n_b, receipts_b), np.full(n_f, receipts_a)].astype(np.int64),
        fake=np.r_[np.zeros(n_a + n_b, dtype=bool), np.ones(n_f, dtype=bool)],
    )


def synthetic_population(n: int, seed: int = 7, devices: int = 2000, days: int = 30) -> dict[str, np.ndarray]:
    """``n`` ratings over ``devices`` kiosks and ``days`` days, ~2 % of them staff bursts (for the benchmark)."""
    rng = np.random.default_rng(seed)
    device = rng.integers(0, devices, n).astype(np.int64)
    day = rng.integers(0, days, n).astype(np.int64)
    t = DAY0 + day * 86400 + rng.integers(int(7.5 * 3600), 17 * 3600, n)
    overall = (rng.choice(5, size=n, p=HONEST_P) + 1).astype(np.int64)
    fake = rng.random(n) < 0.02
    overall[fake] = 5
    # squeeze the fakes into bursts: snap their times to a few moments per device-day
    t[fake] = (t[fake] // 600) * 600 + rng.integers(0, 20, int(fake.sum()))
    unit = device // 4
    receipts = rng.integers(40, 160, n).astype(np.int64)
    return {"device": device, "local_t": t.astype(np.int64), "overall": overall, "signature": overall.copy(),
            "unit": unit, "counter": device.copy(), "receipts_that_day": receipts, "fake": fake}
