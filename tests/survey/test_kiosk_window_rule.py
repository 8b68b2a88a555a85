"""The kiosk rolling-window rule against its day-by-day definition (pure numpy, no database).

``kiosk_window_excess`` tests every window of a device at once until the first one that flags and only
then walks day by day; the reference below walks every day of every device.  Both must flag the same
rows and report the same devices, on honest and on gamed devices.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import bdtrc

from survey.indices.integrity import CATEGORIES, kiosk_window_excess

pytestmark = pytest.mark.pure


def reference_rule(dev, unit, day, rating, kiosk, ref, window, alpha, min_device, min_reference):
    """The rule as the module docstring defines it, one device and one day at a time."""
    dayi = day.astype("datetime64[D]").astype(np.int64)
    valid = (rating >= 1) & (rating <= CATEGORIES)
    kiosk, ref = kiosk & valid & (dev > 0), ref & valid
    flagged = np.zeros(rating.size, dtype=bool)
    devices = []
    for d in np.unique(dev[kiosk]):
        rows = np.flatnonzero(kiosk & (dev == d))
        rows = rows[np.lexsort((rows, dayi[rows]))]
        units, counts = np.unique(unit[rows], return_counts=True)
        u = int(units[np.argmax(counts)])
        rrows = np.flatnonzero(ref & (unit == u))
        if not rrows.size:
            continue
        dflag = np.zeros(rows.size, dtype=bool)
        windows, cats = 0, set()
        for today in np.unique(dayi[rows]):
            inside = (dayi[rows] > today - window) & (dayi[rows] <= today)
            live = inside & ~dflag
            n_dev = int(live.sum())
            rin = (dayi[rrows] > today - window) & (dayi[rrows] <= today)
            ref_counts = np.bincount(rating[rrows][rin] - 1, minlength=CATEGORIES)
            n_ref = int(ref_counts.sum())
            if n_dev < min_device or n_ref < min_reference:
                continue
            obs = np.bincount(rating[rows][live] - 1, minlength=CATEGORIES)
            p = (ref_counts + 0.5) / (n_ref + 0.5 * CATEGORIES)
            for c in range(CATEGORIES):
                if obs[c] == 0 or bdtrc(obs[c] - 1, obs[c] + ref_counts[c], n_dev / (n_dev + n_ref)) >= alpha / CATEGORIES:
                    continue
                excess = int(np.floor(obs[c] - p[c] * (n_dev - obs[c]) / (1.0 - p[c])))
                if excess < 1:
                    continue
                cand = np.flatnonzero(inside & (rating[rows] == c + 1) & ~dflag)
                dflag[cand[::-1][:excess]] = True
                windows += 1
                cats.add(c + 1)
        if dflag.any():
            flagged[rows[dflag]] = True
            devices.append({"device_id": int(d), "unit_id": u, "flagged": int(dflag.sum()), "ratings": int(rows.size),
                            "windows": windows, "categories": sorted(cats)})
    return flagged, devices


@pytest.mark.parametrize("seed", range(8))
def test_windows_tested_at_once_equal_the_day_by_day_rule(seed):
    rng = np.random.default_rng(seed)
    n = 6000
    unit = rng.integers(1, 8, n)
    dev = np.where(rng.random(n) < 0.35, unit + 100, 0)
    day = np.datetime64("2026-09-01") + rng.integers(0, 40, n).astype("timedelta64[D]")
    rating = rng.integers(1, 6, n)
    gamed_units = rng.choice(np.arange(1, 8), size=2, replace=False)
    extra = (dev > 0) & np.isin(unit, gamed_units) & (day >= np.datetime64("2026-09-15")) & (rng.random(n) < 0.5)
    rating[extra] = 5  # scattered extra "Rất hài lòng" presses from the middle of the period on
    rating[rng.random(n) < 0.03] = 0  # no overall rating: ignored
    kiosk, ref = dev > 0, dev == 0
    settings = {"window_days": 7, "alpha": 0.001, "min_device": 10, "min_reference": 20}
    got = kiosk_window_excess(dev, unit, day, rating, is_kiosk=kiosk, is_reference=ref, **settings)
    want_flags, want_devices = reference_rule(dev, unit, day, rating, kiosk, ref, 7, 0.001, 10, 20)
    assert np.array_equal(got.flagged, want_flags)
    assert got.devices == want_devices
    assert got.count > 0 and {d["unit_id"] for d in got.devices} <= set(gamed_units.tolist())
