"""Allocation of a total sample size across strata."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_count, as_positive_sizes

__all__ = ["allocate", "round_allocation"]

_METHODS = ("proportional", "equal", "neyman", "power")


def _waterfill(n: float, w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Continuous allocation x_h = clip(lam * w_h, lo_h, hi_h) with sum(x) = n.

    ``sum(lo) <= n <= sum(hi)`` and ``lo <= hi`` must hold. Units with w_h = 0 stay at lo_h
    unless the others cannot absorb n, in which case they are filled in proportion to their
    remaining room.
    """
    pos = w > 0
    x = lo.astype(float).copy()
    if n <= lo.sum() or not pos.any():
        room = hi - lo
        if n > lo.sum() and room.sum() > 0:
            x = lo + room * (n - lo.sum()) / room.sum()
        return x
    # g(lam) = sum clip(lam*w, lo, hi) is nondecreasing and piecewise linear in lam with
    # breakpoints lo/w and hi/w; find the segment holding n, then solve exactly there.
    wp, lop, hip = w[pos], lo[pos], hi[pos]
    fixed = lo[~pos].sum()
    need = n - fixed
    if need >= hip.sum():
        x[pos] = hip
        rest = n - hip.sum() - fixed
        if rest > 0:
            room = (hi - lo)[~pos]
            x[~pos] = lo[~pos] + room * rest / room.sum()
        return x
    bps = np.unique(np.concatenate((lop / wp, hip / wp)))

    def g(lam: float) -> float:
        return float(np.clip(lam * wp, lop, hip).sum())

    # largest breakpoint with g <= need
    a, b = 0, bps.size - 1
    if g(bps[0]) > need:  # cannot happen when need >= sum(lop) but guard
        lam_lo = 0.0
    else:
        while a < b:
            mid = (a + b + 1) // 2
            if g(bps[mid]) <= need:
                a = mid
            else:
                b = mid - 1
        lam_lo = bps[a]
    # Units exactly at a breakpoint become free on the segment to the right of lam_lo.
    at_lo = lop > lam_lo * wp + 1e-12 * np.maximum(lop, 1.0)
    at_hi = hip <= lam_lo * wp + 1e-12 * np.maximum(hip, 1.0)
    free = ~(at_lo | at_hi)
    if free.any():
        lam = (need - lop[at_lo].sum() - hip[at_hi].sum()) / wp[free].sum()
        xp = np.clip(lam * wp, lop, hip)
    else:
        xp = np.clip(lam_lo * wp, lop, hip)
    x[pos] = xp
    return x


def round_allocation(x: Any, n: int, lo: Any = None, hi: Any = None) -> np.ndarray:
    """Round a continuous allocation to integers summing to ``n`` (largest remainder).

    Each stratum gets ``floor(x_h)``; the ``n - sum(floor(x))`` remaining units go to the
    strata with the largest fractional parts (ties: lower stratum index first), never
    taking a stratum above ``hi_h``.

    References
    ----------
    Hamilton's (largest remainder) method; see Balinski, M. L. & Young, H. P. (2001).
    *Fair Representation*, 2nd ed. Brookings.
    """
    x = np.asarray(x, dtype=float)
    hi_arr = np.full(x.shape, np.inf) if hi is None else np.asarray(hi, dtype=float)
    lo_arr = np.zeros(x.shape) if lo is None else np.asarray(lo, dtype=float)
    base = np.floor(x + 1e-9)
    base = np.clip(base, lo_arr, hi_arr)
    k = int(n - base.sum())
    if k < 0:
        # Floating noise pushed too many units up: remove from the smallest fractions.
        frac = x - base
        cand = np.flatnonzero(base > lo_arr)
        order = cand[np.argsort(frac[cand], kind="stable")]
        base[order[:-k]] -= 1
    elif k > 0:
        frac = x - base
        cand = np.flatnonzero(base < hi_arr)
        order = cand[np.argsort(-frac[cand], kind="stable")]
        if order.size < k:
            raise ValueError("n cannot be reached within the stratum caps")
        base[order[:k]] += 1
    return base.astype(np.int64)


def allocate(
    n: Any,
    sizes: Any,
    method: str = "proportional",
    sd: Any = None,
    power: float = 0.5,
    minimum: Any = 0,
) -> np.ndarray:
    r"""Allocate a total sample size ``n`` across strata.

    Parameters
    ----------
    n : int
        Total sample size; ``0 <= n <= sum(sizes)``.
    sizes : array_like of int
        Stratum sizes ``N_h`` (> 0; empty strata must be dropped first).
    method : {"proportional", "equal", "neyman", "power"}
        Allocation rule (see Notes).
    sd : array_like of float, optional
        Within-stratum standard deviations ``S_h`` (>= 0). Required for ``"neyman"``;
        optional for ``"power"``.
    power : float, default 0.5
        Exponent ``q`` in [0, 1] of the power allocation.
    minimum : int or array_like of int, default 0
        Minimum sample size per stratum (capped at ``N_h``), e.g. 30 so every commune
        can be reported.

    Returns
    -------
    ndarray of int64
        ``n_h`` per stratum, summing to ``n`` exactly, with ``min(minimum_h, N_h) <= n_h <= N_h``.

    Raises
    ------
    ValueError
        Naming the argument: ``n`` above the frame size, non-positive or NaN ``sizes``,
        minimums that add up to more than ``n``, a missing or invalid ``sd``, ...

    Notes
    -----
    Target shares before bounds:

    * proportional: :math:`n_h \propto N_h`;
    * equal: :math:`n_h \propto 1`;
    * Neyman (Neyman 1934; Cochran 1977, eq. 5.26): :math:`n_h \propto N_h S_h`;
    * power (Bankier 1988): :math:`n_h \propto N_h^{q}` (times :math:`S_h` when ``sd`` is
      given), i.e. Bankier's :math:`n_h \propto CV_h X_h^q` with the stratum size as the
      importance measure :math:`X_h`. :math:`q=1` is proportional (Neyman with ``sd``),
      :math:`q=0` equal precision; :math:`q=1/2` is the usual compromise between national
      and stratum-level precision.

    The bounds :math:`\min(m_h, N_h) \le n_h \le N_h` are imposed exactly: the continuous
    solution is :math:`x_h = \mathrm{clip}(\lambda w_h, m_h, N_h)` with :math:`\lambda` such
    that :math:`\sum x_h = n` (strata pushed to a bound are fixed and the rest is
    redistributed), then rounded by largest remainders so :math:`\sum n_h = n`.

    References
    ----------
    Neyman, J. (1934). On the two different aspects of the representative method.
    *JRSS* 97(4), 558-625.
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 5.
    Bankier, M. D. (1988). Power allocations: determining sample sizes for subnational
    areas. *The American Statistician* 42(3), 174-177.

    Examples
    --------
    >>> allocate(10, [50, 30, 20]).tolist()
    [5, 3, 2]
    >>> allocate(10, [900, 90, 10], minimum=2).tolist()
    [6, 2, 2]
    """
    N = as_positive_sizes(sizes, "sizes")
    if not np.all(np.round(N) == N):
        raise ValueError("sizes must be whole numbers (counts of frame rows)")
    n = as_count(n, "n")
    total = int(N.sum())
    if n > total:
        raise ValueError(f"n ({n}) is larger than the frame ({total} units in all strata)")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    m = np.asarray(minimum)
    if m.ndim == 0:
        m = np.full(N.shape, as_count(m.item(), "minimum"), dtype=float)
    else:
        if m.shape != N.shape:
            raise ValueError(
                f"minimum must be a scalar or have one value per stratum ({N.size}), got shape {m.shape}"
            )
        m = m.astype(float)
        if np.isnan(m).any() or (m < 0).any() or not np.all(m == np.round(m)):
            raise ValueError("minimum must hold non-negative integers")
    lo = np.minimum(m, N)
    if lo.sum() > n:
        raise ValueError(
            f"minimum is infeasible: the per-stratum minimums add up to {int(lo.sum())} > n ({n})"
        )
    S = None
    if sd is not None:
        S = np.asarray(sd, dtype=float)
        if S.shape != N.shape:
            raise ValueError(f"sd must have one value per stratum ({N.size}), got shape {S.shape}")
        if np.isnan(S).any() or not np.isfinite(S).all() or (S < 0).any():
            raise ValueError("sd must be finite and >= 0 (no NaN)")
    if method == "proportional":
        w = N.copy()
    elif method == "equal":
        w = np.ones_like(N)
    elif method == "neyman":
        if S is None:
            raise ValueError("sd is required for method='neyman'")
        w = N * S
    else:
        try:
            q = float(power)
        except (TypeError, ValueError):
            raise ValueError(f"power must be a number in [0, 1], got {power!r}") from None
        if not (0.0 <= q <= 1.0):
            raise ValueError(f"power must be in [0, 1], got {power!r}")
        w = N**q * (S if S is not None else 1.0)
    if not (w > 0).any() and n > lo.sum():
        # e.g. Neyman with all sd = 0: fall back to proportional.
        w = N.copy()
    x = _waterfill(float(n), w, lo, N)
    return round_allocation(x, n, lo, N)
