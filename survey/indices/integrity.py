"""Kiosk rolling-window rule, run inside an index run (pure numpy/scipy: arrays in, flags out).

Scattered extra presses (one or two an hour, all "Rất hài lòng") escape the per-day kiosk screening
(``kiosk/screening.py``): no burst, no identical run, and fewer than the 20 ratings a device-day needs
for the skew test.  Over a rolling window of ``window_days`` they add up.  For every device and every
day it rated, this rule compares the device's ratings in the trailing window with its unit's reference
ratings (QR and sample answers) in the same window:

* expected share of category c: ``p_c`` from the reference (add-½ smoothing);
* a category is inflated when its count is improbably high against the reference: the exact
  conditional test of two proportions (as Fisher's), ``P(X >= x_c) < alpha / 5`` for
  ``X ~ Binomial(x_c + r_c, n / (n + m))`` (x_c, r_c the device's and the reference's counts of c,
  n and m their totals; Bonferroni over the 5 categories);
* its excess is the count beyond what the other categories imply, ``x_c - p_c (n - x_c) / (1 - p_c)``
  (if only c was inflated, ``(n - x_c) / (1 - p_c)`` estimates the genuine ratings);
* that many of the device's unflagged ratings of category c in the window are flagged, in a
  deterministic order; later windows no longer count them.

It lives here, not in ``kiosk/``, because ``survey`` must not import ``kiosk`` (import-linter) and
the rule belongs to the run: it changes no stored response, it only decides what the run leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import bdtrc

from analysis import GroupCodes

CATEGORIES = 5


@dataclass(frozen=True, slots=True)
class WindowRuleResult:
    flagged: np.ndarray  # bool (n,): rows the rule removes
    devices: list[dict]  # per device that had flags: device_id, unit_id, flagged, windows, categories

    @property
    def count(self) -> int:
        return int(self.flagged.sum())


def _reference_by_unit(units: np.ndarray, days: np.ndarray, ratings: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per unit with reference ratings: every day of the span and the cumulative category counts before each
    day (days + 1, 5), so that ``cum[searchsorted(days, d, "right")] - cum[searchsorted(days, lo, "left")]`` counts
    the window lo..d; one ``bincount`` over all units' ratings, not a sort per unit."""
    if not units.size:
        return {}
    gc = GroupCodes(units)  # integer ids coded by one bincount, not a sort
    levels, ucode = gc.levels, gc.codes
    d0 = int(days.min())
    span = int(days.max()) - d0 + 1
    key = (ucode.reshape(-1).astype(np.int64) * span + (days - d0)) * CATEGORIES + (ratings - 1)
    counts = np.bincount(key, minlength=levels.size * span * CATEGORIES).reshape(levels.size, span, CATEGORIES)
    cum = np.zeros((levels.size, span + 1, CATEGORIES), dtype=np.int64)
    np.cumsum(counts, axis=1, out=cum[:, 1:])
    all_days = np.arange(d0, d0 + span, dtype=np.int64)
    return {int(u): (all_days, cum[i]) for i, u in enumerate(levels.tolist())}


def _groups(idx: np.ndarray, keys: np.ndarray):
    """(key, rows) for each distinct key of ``keys[idx]``, rows in index order (one sort, not a scan per key)."""
    k = keys[idx]
    order = np.argsort(k, kind="stable")
    k, idx = k[order], idx[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if k.size else np.zeros(0, dtype=np.intp)
    for a, b in zip(starts, np.r_[starts[1:], k.size], strict=True):
        yield k[a], idx[a:b]


def _pvalues(obs: np.ndarray, ref_counts: np.ndarray, n_dev, n_ref) -> np.ndarray:
    """P(X >= x_c) of the exact conditional test (as Fisher's): given category c's count on device and
    reference, the device's share is Binomial(total, n_dev / (n_dev + n_ref)) when both share a distribution.
    P(X >= x) = bdtrc(x - 1, total, p) (the ufunc: no distribution object per window)."""
    share = np.asarray(n_dev, dtype=float) / (np.asarray(n_dev, dtype=float) + np.asarray(n_ref, dtype=float))
    return np.where(obs > 0, bdtrc(np.maximum(obs - 1, 0), obs + ref_counts, share[..., None] if np.ndim(share) else share), 1.0)


def _excess(obs: np.ndarray, ref_counts: np.ndarray, n_dev, n_ref) -> np.ndarray:
    """The count beyond what the other categories imply, with add-1/2 smoothed reference shares."""
    n_dev = np.asarray(n_dev, dtype=float)[..., None] if np.ndim(n_dev) else float(n_dev)
    n_ref = np.asarray(n_ref, dtype=float)[..., None] if np.ndim(n_ref) else float(n_ref)
    p = (ref_counts + 0.5) / (n_ref + 0.5 * CATEGORIES)
    return np.floor(obs - p * (n_dev - obs) / (1.0 - p))


def _inflated(obs, ref_counts, n_dev: int, n_ref: int, alpha: float) -> list[tuple[int, int]]:
    """(category, excess >= 1) of one window's significantly inflated categories (Bonferroni over 5)."""
    pval = _pvalues(obs, ref_counts, n_dev, n_ref)
    excess = _excess(obs, ref_counts, n_dev, n_ref)
    return [(int(c), int(excess[c])) for c in np.flatnonzero(pval < alpha / CATEGORIES) if excess[c] >= 1]


def _first_flagging_day(ddays, drat, days, rdays, rcum, window_days: int, alpha: float, min_device: int, min_reference: int) -> int | None:
    """Index into ``days`` of the first window that flags something, all windows tested at once; None if none.

    Until the first flag every window counts all of the device's ratings, so this equals the day-by-day
    loop up to that day."""
    dcum = np.zeros((ddays.size + 1, CATEGORIES), dtype=np.int64)
    dcum[np.arange(1, ddays.size + 1), drat - 1] = 1
    dcum = np.cumsum(dcum, axis=0)
    lo = days - window_days + 1
    obs = dcum[np.searchsorted(ddays, days, "right")] - dcum[np.searchsorted(ddays, lo, "left")]
    ref_counts = rcum[np.searchsorted(rdays, days, "right")] - rcum[np.searchsorted(rdays, lo, "left")]
    n_dev, n_ref = obs.sum(axis=1), ref_counts.sum(axis=1)
    ok = (n_dev >= min_device) & (n_ref >= min_reference)
    if not ok.any():
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        hit = (_pvalues(obs, ref_counts, n_dev, n_ref) < alpha / CATEGORIES) & (_excess(obs, ref_counts, n_dev, n_ref) >= 1)
    hit &= ok[:, None]
    rows = np.flatnonzero(hit.any(axis=1))
    return int(rows[0]) if rows.size else None


def kiosk_window_excess(
    device_ids: np.ndarray,
    unit_ids: np.ndarray,
    day: np.ndarray,
    rating: np.ndarray,
    is_kiosk: np.ndarray,
    is_reference: np.ndarray,
    *,
    window_days: int = 7,
    alpha: float = 0.001,
    min_device: int = 10,
    min_reference: int = 20,
) -> WindowRuleResult:
    """Flag the excess of each kiosk device's ratings over its unit's reference distribution.

    Parameters
    ----------
    device_ids, unit_ids : int arrays (n,)
    day : datetime64[D] array (n,), local calendar day of each rating
    rating : int array (n,), overall rating 1..5 (0 = none: ignored)
    is_kiosk : bool (n,), rows the rule may flag (kiosk ratings still in the run)
    is_reference : bool (n,), the unit's reference ratings (QR and campaign answers)
    window_days, alpha, min_device, min_reference : rule settings (methodology version)

    Returns
    -------
    WindowRuleResult
    """
    n = int(np.asarray(rating).shape[0])
    for name, arr in (("device_ids", device_ids), ("unit_ids", unit_ids), ("day", day), ("is_kiosk", is_kiosk), ("is_reference", is_reference)):
        if np.asarray(arr).shape[0] != n:
            raise ValueError(f"{name} must have the length of rating ({n})")
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    rating = np.asarray(rating, dtype=np.int64)
    dayi = np.asarray(day).astype("datetime64[D]").astype(np.int64)
    valid = (rating >= 1) & (rating <= CATEGORIES)
    kiosk = np.asarray(is_kiosk, bool) & valid & (np.asarray(device_ids) > 0)
    ref = np.asarray(is_reference, bool) & valid
    flagged = np.zeros(n, dtype=bool)
    devices: list[dict] = []
    if not kiosk.any() or not ref.any():
        return WindowRuleResult(flagged, devices)

    units_all = np.asarray(unit_ids)
    by_unit = _reference_by_unit(units_all[ref], dayi[ref], rating[ref])
    for dev, rows in _groups(np.flatnonzero(kiosk), np.asarray(device_ids)):
        rows = rows[np.lexsort((rows, dayi[rows]))]  # by day, then row (response-id) order
        units, counts = np.unique(units_all[rows], return_counts=True)
        unit = int(units[np.argmax(counts)])
        if unit not in by_unit:
            continue
        rdays, rcum = by_unit[unit]
        ddays = dayi[rows]
        drat = rating[rows]
        days = np.unique(ddays)
        first = _first_flagging_day(ddays, drat, days, rdays, rcum, window_days, alpha, min_device, min_reference)
        if first is None:  # no window of this device is inflated before any flag: nothing to flag
            continue
        dflag = np.zeros(rows.size, dtype=bool)
        windows = 0
        cats: set[int] = set()
        # from the first inflated window on, day by day: flags change the later windows
        for d in days[first:]:
            lo_d = d - window_days + 1
            a, b = np.searchsorted(ddays, lo_d, "left"), np.searchsorted(ddays, d, "right")
            live = ~dflag[a:b]
            n_dev = int(live.sum())
            if n_dev < min_device:
                continue
            ra, rb = np.searchsorted(rdays, lo_d, "left"), np.searchsorted(rdays, d, "right")
            ref_counts = rcum[rb] - rcum[ra]
            n_ref = int(ref_counts.sum())
            if n_ref < min_reference:
                continue
            obs = np.bincount(drat[a:b][live] - 1, minlength=CATEGORIES)
            for c, excess in _inflated(obs, ref_counts, n_dev, n_ref, alpha):
                cand = np.flatnonzero((drat[a:b] == c + 1) & ~dflag[a:b]) + a
                pick = cand[::-1][:excess]  # latest first (the window's newest excess)
                dflag[pick] = True
                windows += 1
                cats.add(int(c + 1))
        if dflag.any():
            flagged[rows[dflag]] = True
            devices.append({"device_id": int(dev), "unit_id": unit, "flagged": int(dflag.sum()), "ratings": int(rows.size),
                            "windows": windows, "categories": sorted(cats)})
    return WindowRuleResult(flagged, devices)
