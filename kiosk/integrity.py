"""Integrity screening of kiosk ratings: pure, vectorised functions over numpy arrays.

No database and no web here, so the same code screens one device-day on ingest and a million ratings
in the batch job.  Every rule returns a boolean mask over the rows; :func:`screen` combines them into
a bit mask (one bit per rule, :data:`RULES`).

Rows with ``device < 0`` are *reference rows* (e.g. QR-channel answers of the same unit): they shape
the unit's distribution for :func:`skewed_distribution` but are never flagged themselves.

Times are integer seconds.  ``local_t`` is *local wall-clock* seconds since the epoch (UTC epoch seconds
plus the province's UTC offset), so ``local_t // 86400`` is the local day and ``local_t % 86400`` the
time of day.  Use :func:`to_local_seconds` to convert.

Per-row attribution.  Two rules (``over_receipts`` and ``skewed_distribution``) detect a *count*
that is too high in a group rather than a bad row.  They flag exactly the excess number of rows,
choosing the ones with the shortest gap to a neighbouring rating on the same device — the ratings
least likely to come from distinct citizens queueing at a counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

#: Rule names in bit order: bit ``1 << i`` of a flag mask is ``RULES[i]``.
RULES = ("burst", "over_receipts", "outside_hours", "skewed_distribution", "identical_sequence")
BIT = {name: np.uint8(1 << i) for i, name in enumerate(RULES)}
N_LEVELS = 5  # the SIPAS scale 1..5
#: gaps longer than this (seconds) rank equally when choosing the excess rows
_GAP_CAP = 1 << 20
#: levels whose over-representation counts as gaming: the extremes "Rất không hài lòng" and "Rất hài lòng"
EXTREME_LEVELS = (1, 5)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Screening thresholds (all come from Settings; see survey/settings.py for each one's meaning)."""

    burst_count: int = 5
    burst_seconds: int = 30
    #: opening hours as (start_minute, end_minute) pairs of local time; a rating inside any pair is fine
    opening: tuple[tuple[int, int], ...] = ((7 * 60, 17 * 60 + 30),)
    #: weekdays (0 = Monday .. 6 = Sunday) and local dates (days since 1970-01-01) the counters are closed
    closed_weekdays: frozenset[int] = frozenset()
    closed_days: frozenset[int] = frozenset()
    receipt_ratio: float = 1.0
    receipt_slack: int = 2
    skew_min_count: int = 20
    skew_min_reference: int = 20
    skew_distance: float = 0.3
    identical_run: int = 4
    identical_seconds: int = 60

    def __post_init__(self) -> None:
        for name in ("burst_count", "burst_seconds", "skew_min_count", "skew_min_reference", "identical_seconds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.identical_run < 2:
            raise ValueError("identical_run must be at least 2")
        if not 0 < self.skew_distance <= 1:
            raise ValueError("skew_distance must be in (0, 1]")
        if self.receipt_ratio <= 0 or self.receipt_slack < 0:
            raise ValueError("receipt_ratio must be positive and receipt_slack non-negative")
        for start, end in self.opening:
            if not 0 <= start < end <= 24 * 60:
                raise ValueError("opening hours must be HH:MM-HH:MM with start before end")
        if not self.closed_weekdays <= set(range(7)):
            raise ValueError("closed_weekdays must be numbers 0 (Monday) to 6 (Sunday)")


def parse_opening_hours(text: str) -> tuple[tuple[int, int], ...]:
    """``"07:00-11:30,13:00-17:00"`` -> ((420, 690), (780, 1020)).  Raises ValueError naming the setting."""
    spans = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            a, b = part.split("-")
            (h1, m1), (h2, m2) = (map(int, x.strip().split(":")) for x in (a, b))
        except ValueError:
            raise ValueError(f"kiosk_opening_hours: {part!r} is not HH:MM-HH:MM") from None
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if not (0 <= m1 < 60 and 0 <= m2 < 60 and 0 <= start < end <= 24 * 60):
            raise ValueError(f"kiosk_opening_hours: {part!r} is not a valid span of the day")
        spans.append((start, end))
    if not spans:
        raise ValueError("kiosk_opening_hours is empty")
    return tuple(spans)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def parse_closed_weekdays(text: str) -> frozenset[int]:
    """``"sat,sun"`` (or full English names) -> {5, 6} (0 = Monday).  Raises ValueError naming the setting."""
    days = set()
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        matches = [i for i, name in enumerate(WEEKDAYS) if len(part) >= 3 and name.startswith(part)]
        if len(matches) != 1:
            raise ValueError(f"kiosk_closed_weekdays: {part!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
        days.add(matches[0])
    return frozenset(days)


def parse_closed_dates(text: str) -> frozenset[int]:
    """``"2026-09-01,2026-09-02"`` -> their day numbers since 1970-01-01.  Raises ValueError naming the setting."""
    days = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            days.add(date.fromisoformat(part).toordinal() - _EPOCH_ORDINAL)
        except ValueError:
            raise ValueError(f"kiosk_closed_dates: {part!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(days)


def to_local_seconds(utc_seconds: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds -> local wall-clock epoch seconds, with the zone's offset looked up per UTC day."""
    utc_seconds = np.asarray(utc_seconds, dtype=np.int64)
    if utc_seconds.size == 0:
        return utc_seconds.copy()
    zone = ZoneInfo(tz)
    days, inverse = np.unique(utc_seconds // 86400, return_inverse=True)
    offsets = np.array(
        [int(zone.utcoffset(datetime(1970, 1, 1, 12, tzinfo=UTC) + timedelta(days=int(d))).total_seconds()) for d in days],
        dtype=np.int64,
    )
    return utc_seconds + offsets[inverse]


def answer_signature(overall: np.ndarray, pillars: np.ndarray | None = None) -> np.ndarray:
    """One int64 per row that is equal exactly when two ratings gave the same answers.

    ``pillars`` is an (n, k) array of pillar taps (0 = not tapped, 1..5), k ≤ 20.
    """
    sig = np.asarray(overall, dtype=np.int64).copy()
    if pillars is not None and np.size(pillars):
        p = np.asarray(pillars, dtype=np.int64)
        if p.ndim != 2 or p.shape[0] != sig.shape[0]:
            raise ValueError("pillars must be an (n, k) array with one row per rating")
        weights = 6 ** np.arange(1, p.shape[1] + 1, dtype=np.int64)
        sig = sig + p @ weights
    return sig


# --------------------------------------------------------------------------- helpers


def _ranks_within(groups: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Rank (0 = smallest score) of each row inside its group (``score`` ≥ 0; ties in any order)."""
    n = groups.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    clipped = np.minimum(score, _GAP_CAP)
    order = np.argsort(groups.astype(np.int64) * (_GAP_CAP + 1) + clipped)
    g_sorted = groups[order]
    starts = np.r_[0, np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1]
    first = np.zeros(n, dtype=np.int64)
    first[starts] = starts
    first = np.maximum.accumulate(first)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    return rank


def _dense(*keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense group ids 0..g-1 for the tuples of ``keys`` (row-wise)."""
    if keys[0].shape[0] == 0:
        return np.zeros(0, dtype=np.int64), 0
    combined = np.zeros(keys[0].shape[0], dtype=np.int64)
    for k in keys:
        k = np.asarray(k, dtype=np.int64)
        _, ids = np.unique(k, return_inverse=True)  # compress each key to 0..m-1 so the product cannot overflow
        combined = combined * (int(ids.max()) + 1) + ids.reshape(-1)
    _, ids = np.unique(combined, return_inverse=True)
    ids = ids.reshape(-1).astype(np.int64)
    return ids, int(ids.max()) + 1


# --------------------------------------------------------------------------- the rules
# Each rule receives rows already sorted by (device, local_t) and returns a mask in that order.


def _burst(dev: np.ndarray, t: np.ndarray, count: int, seconds: int) -> np.ndarray:
    """Rows inside any window of ``seconds`` on one device that holds more than ``count`` ratings."""
    n = t.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    t0 = t - t.min()
    big = int(t0.max()) + seconds + 1
    key = dev.astype(np.int64) * big + t0
    j = np.searchsorted(key, key - seconds, side="left")  # first row of the window ending at row i
    i = np.arange(n)
    hit = (i - j + 1) > count
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, j[hit], 1)
    np.add.at(marks, i[hit] + 1, -1)
    return np.cumsum(marks[:-1]) > 0


def _identical(dev: np.ndarray, t: np.ndarray, sig: np.ndarray, run: int, seconds: int) -> np.ndarray:
    """Runs of at least ``run`` consecutive identical ratings on one device, each ≤ ``seconds`` after the last."""
    n = t.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    link = np.zeros(n, dtype=bool)
    link[1:] = (dev[1:] == dev[:-1]) & (sig[1:] == sig[:-1]) & ((t[1:] - t[:-1]) <= seconds)
    run_id = np.cumsum(~link) - 1
    sizes = np.bincount(run_id)
    return sizes[run_id] >= run


def _outside_hours(t: np.ndarray, thresholds: Thresholds) -> np.ndarray:
    """Local times outside the opening hours, or on a closed weekday or date."""
    minute = (t % 86400) // 60
    inside = np.zeros(t.shape[0], dtype=bool)
    for start, end in thresholds.opening:
        inside |= (minute >= start) & (minute < end)
    day = t // 86400
    if thresholds.closed_weekdays:
        inside &= ~np.isin((day + 3) % 7, list(thresholds.closed_weekdays))  # 1970-01-01 was a Thursday (3)
    if thresholds.closed_days:
        inside &= ~np.isin(day, list(thresholds.closed_days))
    return ~inside


def _gaps(dev: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Seconds to the nearest other rating on the same device (a large number when alone)."""
    n = t.shape[0]
    far = np.iinfo(np.int64).max // 4
    prev = np.full(n, far, dtype=np.int64)
    nxt = np.full(n, far, dtype=np.int64)
    if n > 1:
        same = dev[1:] == dev[:-1]
        d = t[1:] - t[:-1]
        prev[1:] = np.where(same, d, far)
        nxt[:-1] = np.where(same, d, far)
    return np.minimum(prev, nxt)


def _excess(groups: np.ndarray, n_groups: int, allowed: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Flag, in each group, the rows beyond ``allowed[group]``: those with the shortest gaps."""
    if groups.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    counts = np.bincount(groups, minlength=n_groups)
    excess = np.maximum(counts - allowed, 0)
    return _ranks_within(groups, gaps) < excess[groups]


def _over_receipts(counter: np.ndarray, day: np.ndarray, receipts: np.ndarray, gaps: np.ndarray, ratio: float, slack: int) -> np.ndarray:
    """More ratings at a counter on a day than ``ratio`` × receipts + ``slack``; rows with receipts < 0 are skipped."""
    known = receipts >= 0
    out = np.zeros(counter.shape[0], dtype=bool)
    if not known.any():
        return out
    groups, g = _dense(counter[known], day[known])
    rec = np.zeros(g, dtype=np.int64)
    rec[groups] = receipts[known]
    allowed = np.floor(rec * ratio).astype(np.int64) + slack
    out[known] = _excess(groups, g, allowed, gaps[known])
    return out


def _skewed(
    dev: np.ndarray, unit: np.ndarray, day: np.ndarray, overall: np.ndarray, gaps: np.ndarray, is_ref: np.ndarray, th: Thresholds
) -> np.ndarray:
    """A device-day whose distribution of overall ratings is far (total variation ≥ skew_distance) from the
    rest of its unit that day.  Only an excess at the extreme levels (1 and 5, :data:`EXTREME_LEVELS`) is
    flagged — the rows beyond what the unit's distribution predicts, those with the shortest gaps."""
    n = dev.shape[0]
    out = np.zeros(n, dtype=bool)
    valid = (overall >= 1) & (overall <= N_LEVELS)
    if not valid.any():
        return out
    level = np.clip(overall, 1, N_LEVELS) - 1
    ud, n_ud = _dense(unit, day)
    unit_counts = np.bincount(ud[valid] * N_LEVELS + level[valid], minlength=n_ud * N_LEVELS).reshape(n_ud, N_LEVELS)
    dev_rows = valid & ~is_ref
    if not dev_rows.any():
        return out
    dd, n_dd = _dense(dev[dev_rows], day[dev_rows])
    lv = level[dev_rows]
    dev_counts = np.bincount(dd * N_LEVELS + lv, minlength=n_dd * N_LEVELS).reshape(n_dd, N_LEVELS)
    # the unit-day of each device-day group
    dd_unitday = np.zeros(n_dd, dtype=np.int64)
    dd_unitday[dd] = ud[dev_rows]
    ref_counts = unit_counts[dd_unitday] - dev_counts
    n_dev = dev_counts.sum(axis=1)
    n_ref = ref_counts.sum(axis=1)
    ok = (n_dev >= th.skew_min_count) & (n_ref >= th.skew_min_reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_dev = dev_counts / np.maximum(n_dev, 1)[:, None]
        p_ref = ref_counts / np.maximum(n_ref, 1)[:, None]
    distance = 0.5 * np.abs(p_dev - p_ref).sum(axis=1)
    skewed = ok & (distance >= th.skew_distance)
    if not skewed.any():
        return out
    # rows allowed per (device-day, level): what the unit's distribution would predict, at least
    allowed = np.ceil(n_dev[:, None] * p_ref).astype(np.int64)
    allowed[~skewed] = np.iinfo(np.int64).max // 4
    middle = [lv - 1 for lv in range(1, N_LEVELS + 1) if lv not in EXTREME_LEVELS]
    allowed[:, middle] = np.iinfo(np.int64).max // 4  # an excess of "Hài lòng" is not gaming
    cell = dd * N_LEVELS + lv
    flagged = _excess(cell, n_dd * N_LEVELS, allowed.reshape(-1), gaps[dev_rows])
    out[dev_rows] = flagged
    return out


# --------------------------------------------------------------------------- entry point


def screen(
    *,
    device: np.ndarray,
    local_t: np.ndarray,
    overall: np.ndarray,
    signature: np.ndarray | None = None,
    unit: np.ndarray | None = None,
    counter: np.ndarray | None = None,
    receipts_that_day: np.ndarray | None = None,
    thresholds: Thresholds = Thresholds(),
) -> np.ndarray:
    """Screen ratings; returns a uint8 flag mask per row (0 = clean), bits as in :data:`RULES`.

    Parameters
    ----------
    device : int array; ``< 0`` marks reference rows (never flagged, used for the unit distribution).
    local_t : int seconds, local wall-clock epoch time of each rating (the device's time of answering).
    overall : int array 1..5 (0 when missing).
    signature : int array equal for identical answer sets (default: ``overall``), see :func:`answer_signature`.
    unit : int array, the rating's unit (default: all one unit).
    counter : int array identifying the (unit, counter) of the device (default: the device).
    receipts_that_day : int array, receipts registered at that counter on that local day; ``-1`` = unknown
        (the ``over_receipts`` rule is skipped for those rows).
    thresholds : :class:`Thresholds`.

    Notes
    -----
    Cost is a handful of sorts: O(n log n) time, O(n) memory.
    """
    device = np.asarray(device, dtype=np.int64)
    n = device.shape[0]
    local_t = np.asarray(local_t, dtype=np.int64)
    overall = np.asarray(overall, dtype=np.int64)
    signature = overall if signature is None else np.asarray(signature, dtype=np.int64)
    unit = np.zeros(n, dtype=np.int64) if unit is None else np.asarray(unit, dtype=np.int64)
    counter = device if counter is None else np.asarray(counter, dtype=np.int64)
    receipts = np.full(n, -1, dtype=np.int64) if receipts_that_day is None else np.asarray(receipts_that_day, dtype=np.int64)
    for name, arr in (("local_t", local_t), ("overall", overall), ("signature", signature), ("unit", unit), ("counter", counter), ("receipts_that_day", receipts)):
        if arr.shape != (n,):
            raise ValueError(f"{name} must be a 1-d array with one value per row ({n}), got shape {arr.shape}")
    flags = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return flags

    span = int(local_t.max() - local_t.min()) + 1
    order = np.argsort((device - device.min()) * span + (local_t - local_t.min()), kind="stable")
    d, t = device[order], local_t[order]
    is_ref = d < 0
    day = t // 86400
    gaps = _gaps(d, t)
    kiosk = ~is_ref
    sorted_flags = np.zeros(n, dtype=np.uint8)

    k_idx = np.flatnonzero(kiosk)
    dk, tk = d[k_idx], t[k_idx]
    sorted_flags[k_idx[_burst(dk, tk, thresholds.burst_count, thresholds.burst_seconds)]] |= BIT["burst"]
    sorted_flags[k_idx[_identical(dk, tk, signature[order][k_idx], thresholds.identical_run, thresholds.identical_seconds)]] |= BIT["identical_sequence"]
    sorted_flags[k_idx[_outside_hours(tk, thresholds)]] |= BIT["outside_hours"]
    over = _over_receipts(counter[order][k_idx], day[k_idx], receipts[order][k_idx], gaps[k_idx], thresholds.receipt_ratio, thresholds.receipt_slack)
    sorted_flags[k_idx[over]] |= BIT["over_receipts"]
    skew = _skewed(d, unit[order], day, overall[order], gaps, is_ref, thresholds)
    sorted_flags[skew] |= BIT["skewed_distribution"]

    flags[order] = sorted_flags
    return flags


def flag_names(mask: int) -> list[str]:
    """The rule names of one row's flag mask, in rule order."""
    return [name for i, name in enumerate(RULES) if int(mask) & (1 << i)]


def names_to_mask(names: list[str]) -> int:
    return sum(1 << RULES.index(n) for n in names if n in RULES)


@dataclass(frozen=True, slots=True)
class Score:
    """Precision and recall of flags against known truth."""

    flagged: int
    true_positives: int
    positives: int
    precision: float
    recall: float


def score(flagged: np.ndarray, truth: np.ndarray) -> Score:
    flagged = np.asarray(flagged, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    tp = int((flagged & truth).sum())
    nf, npos = int(flagged.sum()), int(truth.sum())
    return Score(nf, tp, npos, tp / nf if nf else 1.0, tp / npos if npos else 1.0)
