"""Small frozen result objects returned by the estimators.

Scalar statistics hold floats; vector statistics (a categorical variable's totals or
proportions) hold 1-D arrays aligned with ``levels``. ``by()`` returns a :class:`ByTable`
whose fields are arrays with one row per group (and one column per level for
categorical statistics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Estimate", "ProportionEstimate", "QuantileEstimate", "ByTable", "critical_value"]

_PROPORTION_METHODS = ("logit", "xlogit", "wilson", "beta", "mean", "asin")


def critical_value(level: float, df, dist: str = "t"):
    """Two-sided critical value ``t_{1-a/2, df}`` (or the normal quantile)."""
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    if dist not in ("t", "normal"):
        raise ValueError(f"dist must be 't' or 'normal', got {dist!r}")
    q = 1.0 - (1.0 - level) / 2.0
    if dist == "normal":
        return stats.norm.ppf(q)
    df_arr = np.asarray(df, dtype=float)
    if np.any(df_arr <= 0):
        raise ValueError("degrees of freedom must be positive for dist='t'; use dist='normal'")
    return stats.t.ppf(q, df_arr) if df_arr.ndim else float(stats.t.ppf(q, float(df_arr)))


def _scalarise(x):
    arr = np.asarray(x, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True, slots=True, eq=False)
class Estimate:
    """A design-based estimate.

    Attributes
    ----------
    estimate, se : float or ndarray
        Point estimate(s) and standard error(s).
    df : int
        Design degrees of freedom used for t intervals (#PSU - #strata).
    deff : float, ndarray or None
        Design effect (R ``deff=TRUE`` or ``"replace"``); ``None`` when not defined.
    levels : ndarray or None
        Category labels for vector estimates of a categorical variable.
    """

    estimate: float | np.ndarray
    se: float | np.ndarray
    df: int
    deff: float | np.ndarray | None = None
    levels: np.ndarray | None = None

    @property
    def variance(self):
        return _scalarise(np.asarray(self.se) ** 2)

    @property
    def cv(self):
        """Coefficient of variation se / estimate."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return _scalarise(np.asarray(self.se) / np.abs(self.estimate))

    def confint(self, level: float = 0.95, dist: str = "t"):
        """Symmetric (Wald) interval ``estimate -/+ crit * se``; ``crit`` from t(df) or N(0,1).

        Returns
        -------
        (lower, upper) : tuple of floats or arrays
        """
        crit = critical_value(level, self.df, dist)
        est = np.asarray(self.estimate, dtype=float)
        half = crit * np.asarray(self.se, dtype=float)
        return _scalarise(est - half), _scalarise(est + half)


@dataclass(frozen=True, slots=True, eq=False)
class ProportionEstimate(Estimate):
    """A proportion (or the proportions of each level) with R ``svyciprop`` intervals.

    ``n`` is the number of rows of the design (R ``nrow(design)``, used by ``beta``).
    """

    n: int = 0

    def confint(self, level: float = 0.95, dist: str = "t", method: str = "logit"):  # type: ignore[override]
        """Confidence interval for a proportion (R ``svyciprop``, survey 4.5).

        Parameters
        ----------
        level : float
        dist : {"t", "normal"}
            Reference distribution: t with the design df (R default), or normal.
        method : {"logit", "xlogit", "wilson", "beta", "mean", "asin"}

        Notes
        -----
        With ``V = se^2`` and ``t`` the critical value:

        * ``mean``: ``p -/+ t se``.
        * ``logit``/``xlogit``: ``expit(logit p -/+ t se/(p(1-p)))``.
        * ``asin``: ``sin^2(asin sqrt p -/+ t se/(2 sqrt(p(1-p))))``.
        * ``beta`` (Korn-Graubard): ``n* = p(1-p)/V (t_{n-1}/t_{df})^2``,
          ``(B^{-1}(a/2; n*p, n*(1-p)+1), B^{-1}(1-a/2; n*p+1, n*(1-p)))``.
        * ``wilson``: ``n* = p(1-p)/V``,
          ``(p + t^2/(2n*) -/+ t/(2n*) sqrt(4n*p(1-p)+t^2)) / (1+t^2/n*)``.

        References
        ----------
        Korn, E. L., Graubard, B. I. (1998). Confidence intervals for proportions with small
        expected number of positive counts estimated from survey data. *Survey Methodology* 24, 193-201.
        Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
        inference. *JASA* 22, 209-212.
        Lumley, T. (2010). *Complex Surveys*, section 2.4.
        """
        if method not in _PROPORTION_METHODS:
            raise ValueError(f"method must be one of {_PROPORTION_METHODS}, got {method!r}")
        crit = critical_value(level, self.df, dist)
        p = np.asarray(self.estimate, dtype=float)
        se = np.asarray(self.se, dtype=float)
        alpha = 1.0 - level
        with np.errstate(divide="ignore", invalid="ignore"):
            pq = p * (1.0 - p)
            if method == "mean":
                lo, hi = p - crit * se, p + crit * se
            elif method in ("logit", "xlogit"):
                eta = np.log(p / (1.0 - p))
                half = crit * se / pq
                lo, hi = 1.0 / (1.0 + np.exp(-(eta - half))), 1.0 / (1.0 + np.exp(-(eta + half)))
            elif method == "asin":
                eta = np.arcsin(np.sqrt(p))
                half = crit * se / (2.0 * np.sqrt(pq))
                lo = np.sin(np.clip(eta - half, 0.0, np.pi / 2)) ** 2
                hi = np.sin(np.clip(eta + half, 0.0, np.pi / 2)) ** 2
            elif method == "wilson":
                nstar = pq / se**2
                centre = p + crit**2 / (2.0 * nstar)
                half = crit / (2.0 * nstar) * np.sqrt(4.0 * nstar * pq + crit**2)
                denom = 1.0 + crit**2 / nstar
                lo, hi = (centre - half) / denom, (centre + half) / denom
            else:  # beta, Korn-Graubard
                nstar = pq / se**2
                if dist == "t" and self.n > 1:
                    nstar = (
                        nstar * (stats.t.ppf(alpha / 2, self.n - 1) / stats.t.ppf(alpha / 2, self.df)) ** 2
                    )
                x = nstar * p
                lo = np.where(p > 0, stats.beta.ppf(alpha / 2, x, nstar - x + 1), 0.0)
                hi = np.where(p < 1, stats.beta.ppf(1 - alpha / 2, x + 1, nstar - x), 1.0)
            lo = np.where(p <= 0, 0.0, lo)
            hi = np.where(p >= 1, 1.0, hi)
        return _scalarise(lo), _scalarise(hi)


@dataclass(frozen=True, slots=True, eq=False)
class QuantileEstimate(Estimate):
    """A quantile with its interval (R ``svyquantile``).

    ``se`` is derived from the interval, ``(upper - lower) / (2 t_{df})``, as R reports it.
    ``ci`` is the interval at ``level``; :meth:`confint` recomputes it for another level
    from the stored cumulative distribution.
    """

    p: float = 0.5
    level: float = 0.95
    ci: tuple = (np.nan, np.nan)
    interval_type: str = "woodruff"
    qrule: str = "math"
    cdf: float = 0.5
    cdf_se: float = 0.0
    support: np.ndarray | None = None
    cum_weight: np.ndarray | None = None

    def confint(self, level: float | None = None, dist: str = "t"):  # type: ignore[override]
        if (level is None or level == self.level) and dist == "t":
            return self.ci
        from .quantiles import _interval  # local import: quantiles imports this module

        lvl = self.level if level is None else level
        lo, hi, _ = _interval(
            self.support,
            self.cum_weight,
            self.cdf,
            self.estimate,
            self.cdf_se,
            self.df,
            lvl,
            dist,
            self.qrule,
            self.interval_type,
        )
        return lo, hi


@dataclass(frozen=True, slots=True, eq=False)
class ByTable:
    """Per-group estimates (R ``svyby``): one row per group, sorted by group label.

    For a categorical statistic (proportions of L levels) the value fields have shape
    (G, L) and ``levels`` names the columns.
    """

    groups: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    df: int
    deff: np.ndarray | None = None
    levels: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.groups.shape[0])

    def confint(self, level: float = 0.95, dist: str = "t"):
        """Symmetric intervals ``estimate -/+ crit * se`` for every group."""
        crit = critical_value(level, self.df, dist)
        return self.estimate - crit * self.se, self.estimate + crit * self.se

    def row(self, group) -> Estimate:
        """The :class:`Estimate` of one group."""
        idx = np.flatnonzero(self.groups == group)
        if idx.size == 0:
            raise ValueError(f"group {group!r} is not in the table")
        i = int(idx[0])
        deff = None if self.deff is None else _scalarise(self.deff[i])
        return Estimate(_scalarise(self.estimate[i]), _scalarise(self.se[i]), self.df, deff, self.levels)
