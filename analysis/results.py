"""Small frozen result objects returned by the estimators.

Scalar statistics hold floats; vector statistics (a categorical variable's totals or
proportions) hold 1-D arrays aligned with ``levels``. ``by()`` returns a :class:`ByTable`
whose fields are arrays with one row per group (and one column per level for
categorical statistics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

__all__ = [
    "Estimate",
    "ProportionEstimate",
    "QuantileEstimate",
    "ByTable",
    "IndexTable",
    "ContrastEstimate",
    "critical_value",
    "korn_graubard",
]

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
            self.p,
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


@dataclass(frozen=True, slots=True, eq=False)
class ContrastEstimate(Estimate):
    """A linear contrast or difference with its test against zero.

    ``df`` may be ``inf`` (normal reference distribution) or an array for vector contrasts.
    """

    @property
    def statistic(self):
        """``estimate / se`` (NaN when ``se`` is 0)."""
        est = np.asarray(self.estimate, dtype=float)
        se = np.asarray(self.se, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _scalarise(np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan))

    @property
    def p_value(self):
        """Two-sided p-value of the t (or normal, df = inf) test of ``estimate = 0``."""
        t = np.abs(np.asarray(self.statistic, dtype=float))
        return _scalarise(2.0 * stats.t.sf(t, np.asarray(self.df, dtype=float)))


def korn_graubard(p, n_eff, level: float = 0.95):
    """Clopper-Pearson interval with the effective sample size (Korn-Graubard).

    Parameters
    ----------
    p : array_like
        Estimated proportions.
    n_eff : array_like
        (Degrees-of-freedom adjusted) effective sample sizes, positive.
    level : float

    Returns
    -------
    (lower, upper) : arrays, finite and within [0, 1], also at ``p = 0`` or ``1``.

    Notes
    -----
    With ``x = p n*``: ``(B^{-1}(a/2; x, n* - x + 1), B^{-1}(1 - a/2; x + 1, n* - x))``,
    lower = 0 at p = 0 and upper = 1 at p = 1.

    References
    ----------
    Korn, E. L., Graubard, B. I. (1998). *Survey Methodology* 24, 193-201.
    """
    critical_value(level, 1.0, "normal")
    p = np.asarray(p, dtype=float)
    ns = np.asarray(n_eff, dtype=float)
    alpha = 1.0 - level
    x = ns * p
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(p > 0, stats.beta.ppf(alpha / 2, np.maximum(x, 1e-300), ns - x + 1), 0.0)
        hi = np.where(p < 1, stats.beta.ppf(1 - alpha / 2, x + 1, np.maximum(ns - x, 1e-300)), 1.0)
    return lo, hi


_INDEX_METHODS = ("logit", "beta", "wilson", "wald")
_SHARE_KINDS = ("item", "pillar", "sipas", "expectation")


@dataclass(frozen=True, slots=True, eq=False)
class IndexTable:
    """Index estimates: one row per group, one column per measure (R ``svyby`` of several statistics).

    Attributes
    ----------
    groups : ndarray or None
        G group labels (sorted); ``None`` means one row, the whole population.
    codes : tuple of str
        K measure codes: the items, then the pillars, then ``"sipas"`` (or the items/areas of
        :func:`~analysis.mean_scores` / :func:`~analysis.expectation_shares`).
    kinds : tuple of str
        ``"item"``, ``"pillar"``, ``"sipas"``, ``"mean"`` or ``"expectation"`` per measure.
    estimate, se, deff, n_eff : ndarray (G, K)
        Estimate, linearised (or replicate) standard error, design effect (against SRS with
        replacement) and effective sample size: ``p(1-p)/se^2`` for shares (capped at ``n`` for
        items and expectation shares, as NCHS), ``n/deff`` for mean scores, and ``n`` when not
        defined (p = 0 or 1, se = 0).
    n : ndarray of int (G, K)
        Respondents with a substantive answer in the cell (positive weight).
    df : ndarray of int (G, K)
        Degrees of freedom of the cell (design df, or the domain df with ``domain_df=True``).
    cov : ndarray (G, K, K)
        Covariance of the measures within each row (see :meth:`covariance`).
    total, diff_cov : ndarray (K,), ndarray (G, K, K), or None
        With ``compare_total=True``: the whole-population estimates and the covariance of
        ``estimate[g] - total`` (see :meth:`versus_total`).
    """

    groups: np.ndarray | None
    codes: tuple
    kinds: tuple
    estimate: np.ndarray
    se: np.ndarray
    deff: np.ndarray
    n: np.ndarray
    df: np.ndarray
    cov: np.ndarray
    total: np.ndarray | None = None
    diff_cov: np.ndarray | None = None
    n_eff: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        share = np.array([k in _SHARE_KINDS for k in self.kinds], dtype=bool)[None, :]
        binary = np.array([k in ("item", "expectation") for k in self.kinds], dtype=bool)[None, :]
        n = self.n.astype(float)
        p, se = self.estimate, self.se
        with np.errstate(divide="ignore", invalid="ignore"):
            ne_share = p * (1.0 - p) / (se * se)
            ne_mean = n / self.deff
            ne = np.where(share, ne_share, ne_mean)
            # capped at n for a binary share (NCHS); a pillar / SIPAS averages several answers
            ne = np.where(np.isfinite(ne) & (ne > 0), np.where(binary, np.minimum(ne, n), ne), n)
        ne = np.where(np.isnan(p), np.nan, ne)
        object.__setattr__(self, "n_eff", ne)
        for name in ("estimate", "se", "deff", "n", "df", "cov", "n_eff", "total", "diff_cov"):
            if getattr(self, name) is not None:
                getattr(self, name).setflags(write=False)

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def column(self, code: str) -> int:
        """Column index of a measure code."""
        try:
            return self.codes.index(code)
        except ValueError:
            raise ValueError(f"code {code!r} is not a measure of this table") from None

    def row(self, group) -> int:
        """Row index of a group label (0 for a table without groups)."""
        if self.groups is None:
            return 0
        idx = np.flatnonzero(self.groups == group)
        if idx.size == 0:
            raise ValueError(f"group {group!r} is not in the table")
        return int(idx[0])

    def covariance(self, g: int = 0) -> np.ndarray:
        """(K, K) covariance matrix of the measures of row ``g`` (an integer row index)."""
        if not isinstance(g, (int, np.integer)) or not 0 <= int(g) < len(self):
            raise ValueError(f"g must be a row index in 0..{len(self) - 1}, got {g!r}")
        return self.cov[int(g)]

    def versus_total(self) -> ContrastEstimate:
        """Each group against the whole population (a unit against the province).

        Returns
        -------
        ContrastEstimate
            Arrays (G, K): ``estimate[g] - total``, its SE from the covariance of the two
            (the group is part of the total), ``df`` of the cell, ``statistic``, ``p_value``.
        """
        if self.total is None or self.diff_cov is None:
            raise ValueError("this table has no total: build it with compare_total=True")
        se = np.sqrt(np.maximum(np.einsum("gkk->gk", self.diff_cov), 0.0))
        return ContrastEstimate(self.estimate - self.total[None, :], se, self.df)

    def confint(self, level: float = 0.95, method: str = "logit"):
        """Confidence intervals for every cell, shape (G, K) each.

        Parameters
        ----------
        level : float
        method : {"logit", "beta", "wilson", "wald"}
            For shares (items, pillars, SIPAS, expectations). Mean scores always use the
            symmetric t interval.

        Returns
        -------
        (low, high) : ndarrays (G, K)

        Notes
        -----
        ``t`` is the t quantile with the cell's ``df``.

        * ``logit``: ``expit(logit p -/+ t se / (p(1-p)))`` (R ``svyciprop(method="logit")``).
        * ``beta`` (Korn-Graubard): Clopper-Pearson with the degrees-of-freedom adjusted
          effective sample size ``n* = n_eff (t_{n-1} / t_df)^2`` (NCHS standard; capped at
          ``n`` for items and expectation shares).
        * ``wilson``: the Wilson score interval with ``n_eff``.
        * ``wald``: ``p -/+ t se`` clipped to [0, 1].

        At ``p = 0`` or ``p = 1`` (e.g. all 12 respondents of an office satisfied) every method
        gives the Korn-Graubard interval with ``n_eff = n``: finite, of positive width and inside
        [0, 1]. R gives (1, 1) or NaN there.

        References
        ----------
        Korn, E. L., Graubard, B. I. (1998). *Survey Methodology* 24, 193-201.
        Parker, J. D. et al. (2017). NCHS data presentation standards for proportions.
        *Vital Health Stat* 2(175).
        Wilson, E. B. (1927). *JASA* 22, 209-212.
        """
        if method not in _INDEX_METHODS:
            raise ValueError(f"method must be one of {_INDEX_METHODS}, got {method!r}")
        crit = critical_value(level, self.df, "t")
        crit = np.broadcast_to(crit, self.estimate.shape)
        p, se, n = self.estimate, self.se, self.n.astype(float)
        share = np.array([k in _SHARE_KINDS for k in self.kinds], dtype=bool)[None, :]
        share = np.broadcast_to(share, p.shape)
        alpha = 1.0 - level
        with np.errstate(divide="ignore", invalid="ignore"):
            wald_lo, wald_hi = p - crit * se, p + crit * se
            pq = p * (1.0 - p)
            ne = self.n_eff
            tn = np.where(n > 1, stats.t.ppf(1 - alpha / 2, np.maximum(n - 1.0, 1.0)), crit)
            ne_df = ne * (tn / crit) ** 2
            binary = np.array([k in ("item", "expectation") for k in self.kinds], dtype=bool)[None, :]
            ne_df = np.where(binary, np.minimum(ne_df, np.where(n > 0, n, 1.0)), ne_df)
            ne_df = np.where(np.isfinite(ne_df) & (ne_df > 0), ne_df, np.maximum(n, 1.0))
            kg_lo, kg_hi = korn_graubard(np.clip(p, 0.0, 1.0), ne_df, level)
            if method == "logit":
                eta = np.log(p / (1.0 - p))
                half = crit * se / pq
                lo, hi = 1.0 / (1.0 + np.exp(-(eta - half))), 1.0 / (1.0 + np.exp(-(eta + half)))
            elif method == "beta":
                lo, hi = kg_lo, kg_hi
            elif method == "wilson":
                centre = p + crit**2 / (2.0 * ne)
                half = crit / (2.0 * ne) * np.sqrt(4.0 * ne * pq + crit**2)
                denom = 1.0 + crit**2 / ne
                lo, hi = (centre - half) / denom, (centre + half) / denom
            else:
                lo, hi = np.clip(wald_lo, 0.0, 1.0), np.clip(wald_hi, 0.0, 1.0)
            boundary = (p <= 0) | (p >= 1) | ~np.isfinite(lo) | ~np.isfinite(hi)
            lo = np.where(boundary, kg_lo, lo)
            hi = np.where(boundary, kg_hi, hi)
            lo = np.where(share, lo, wald_lo)
            hi = np.where(share, hi, wald_hi)
            undefined = np.isnan(p)
            lo = np.where(undefined, np.nan, lo)
            hi = np.where(undefined, np.nan, hi)
        return lo, hi
