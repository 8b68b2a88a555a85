"""Sample size: Slovin, Cochran (Wald) and Fleiss, for proportions and means.

All functions return the required number of *issued* units: the statistical sample
size inflated by the design effect and divided by the expected response rate,
rounded up once at the end.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import norm

from ._checks import as_probability

__all__ = [
    "slovin",
    "sample_size_proportion",
    "sample_size_mean",
    "sample_size_by_stratum",
    "margin_of_error",
    "design_effect_cluster",
]

_METHODS = ("wald", "fleiss")


def _ceil(x: float) -> int:
    # Round up, ignoring floating-point noise just above an integer (e.g. 200.00000000000003).
    r = round(x)
    if abs(x - r) <= 1e-9 * max(1.0, abs(x)):
        return int(r)
    return int(math.ceil(x))


def _z(confidence: float) -> float:
    confidence = as_probability(confidence, "confidence")
    return float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def _population(population: Any) -> float | None:
    if population is None:
        return None
    try:
        N = float(population)
    except (TypeError, ValueError):
        raise ValueError(f"population must be a number, got {population!r}") from None
    if not math.isfinite(N) or N < 1:
        raise ValueError(f"population must be a finite number >= 1, got {population!r}")
    return N


def _inflation(deff: Any, response_rate: Any) -> float:
    try:
        d = float(deff)
    except (TypeError, ValueError):
        raise ValueError(f"deff must be a number, got {deff!r}") from None
    if not math.isfinite(d) or d <= 0:
        raise ValueError(f"deff must be a finite number > 0, got {deff!r}")
    rr = as_probability(response_rate, "response_rate", high_open=False)
    return d / rr


def slovin(N: Any, margin: float = 0.05) -> int:
    r"""Slovin's sample size ``n = N / (1 + N e^2)``, rounded up.

    Parameters
    ----------
    N : int
        Population (frame) size, >= 1.
    margin : float, default 0.05
        Margin of error ``e`` in (0, 1).

    Returns
    -------
    int
        Required sample size (never larger than ``N``).

    Notes
    -----
    .. math:: n = \left\lceil \frac{N}{1 + N e^2} \right\rceil

    This is Yamane's/Cochran's formula for a proportion with :math:`p = 0.5` and
    :math:`z \approx 2` (95 % confidence), with the finite population correction. The
    official Vietnamese SIPAS guidance uses it; prefer :func:`sample_size_proportion`
    when a design effect, a response rate or another confidence level must be taken into
    account.

    References
    ----------
    Slovin, E. (1960). *Slovin's formula for sampling technique*.
    Tejada, J. J. & Punzalan, J. R. B. (2012). On the misuse of Slovin's formula.
    *The Philippine Statistician*, 61(1), 129-136.

    Examples
    --------
    >>> slovin(1000, 0.05)
    286
    """
    try:
        Nf = float(N)
    except (TypeError, ValueError):
        raise ValueError(f"N must be a number, got {N!r}") from None
    if not math.isfinite(Nf) or Nf < 1:
        raise ValueError(f"N must be a finite number >= 1, got {N!r}")
    e = as_probability(margin, "margin")
    return min(_ceil(Nf / (1.0 + Nf * e * e)), int(math.ceil(Nf)))


def _fleiss_factor(p: float, d: float) -> float:
    # Correction factor for the asymmetric (score) interval of Fleiss, Levin & Paik (2003).
    if p < d or p > 1.0 - d:
        return 8.0 * d * (1.0 - 2.0 * d)
    if p < 0.3:
        return 4.0 * (p + d) * (1.0 - p - d)
    if p > 0.7:
        return 4.0 * (p - d) * (1.0 - p + d)
    return 1.0


def _n_proportion_raw(p: float, e: float, z: float, N: float | None, method: str) -> float:
    if method == "wald":
        v = z * z * p * (1.0 - p)
        if N is None:
            return v / (e * e)
        return N * v / ((N - 1.0) * e * e + v)
    f = _fleiss_factor(p, e)
    n0 = f * z * z / (4.0 * e * e) + 1.0 / e - 2.0 * z * z + (z + 2.0) / f
    if N is None:
        return n0
    return n0 / (1.0 + (n0 - 1.0) / N)


def sample_size_proportion(
    p: float = 0.5,
    margin: float = 0.03,
    confidence: float = 0.95,
    population: Any = None,
    deff: float = 1.0,
    response_rate: float = 1.0,
    method: str = "wald",
) -> int:
    r"""Sample size to estimate a proportion (e.g. the SIPAS satisfaction share).

    Parameters
    ----------
    p : float, default 0.5
        Anticipated proportion in (0, 1); 0.5 is the conservative choice.
    margin : float, default 0.03
        Half-width ``e`` of the confidence interval, in (0, 1).
    confidence : float, default 0.95
        Confidence level in (0, 1).
    population : int, optional
        Population size ``N``; when given, the finite population correction is applied.
    deff : float, default 1.0
        Anticipated design effect (e.g. :func:`design_effect_cluster`).
    response_rate : float, default 1.0
        Expected response rate in (0, 1].
    method : {"wald", "fleiss"}
        ``"wald"``: Cochran's normal-approximation formula. ``"fleiss"``: the
        Fleiss, Levin & Paik correction for the asymmetric interval around a proportion
        near 0 or 1.

    Returns
    -------
    int
        Number of units to issue.

    Notes
    -----
    With :math:`z = \Phi^{-1}(1 - \alpha/2)`, Wald (Cochran 1977, eq. 4.2 and 4.4):

    .. math:: n_0 = \frac{z^2 p(1-p)}{e^2}, \qquad
              n = \frac{N z^2 p(1-p)}{(N-1) e^2 + z^2 p(1-p)}

    Fleiss (Fleiss, Levin & Paik 2003, sec. 2.5.2), with a factor :math:`f` that is 1
    for :math:`0.3 \le p \le 0.7`, :math:`4(p+e)(1-p-e)` for :math:`e \le p < 0.3`,
    :math:`4(p-e)(1-p+e)` for :math:`0.7 < p \le 1-e` and :math:`8e(1-2e)` otherwise:

    .. math:: n_0 = \frac{f z^2}{4 e^2} + \frac{1}{e} - 2 z^2 + \frac{z + 2}{f}

    (with ``population`` the FPC :math:`n_0 / (1 + (n_0-1)/N)` is applied). Finally
    :math:`\lceil n \cdot \mathrm{deff} / \mathrm{response\_rate} \rceil`, rounding
    once at the end. This reproduces ``samplics.SampleSize`` (Stata ``power``) values.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 4.
    Fleiss, J. L., Levin, B. & Paik, M. C. (2003). *Statistical Methods for Rates and
    Proportions*, 3rd ed. Wiley, sec. 2.5.

    Examples
    --------
    >>> sample_size_proportion(0.5, 0.03)
    1068
    >>> sample_size_proportion(0.5, 0.03, population=1251)
    577
    """
    p = as_probability(p, "p")
    e = as_probability(margin, "margin")
    z = _z(confidence)
    N = _population(population)
    k = _inflation(deff, response_rate)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if method == "fleiss" and e >= 0.5:
        raise ValueError(f"margin must be < 0.5 for method='fleiss', got {e}")
    n = _ceil(k * _n_proportion_raw(p, e, z, N, method))
    return n


def sample_size_mean(
    sigma: float,
    margin: float,
    confidence: float = 0.95,
    population: Any = None,
    deff: float = 1.0,
    response_rate: float = 1.0,
) -> int:
    r"""Sample size to estimate a mean (e.g. a 1-5 satisfaction score) within ``margin``.

    Parameters
    ----------
    sigma : float
        Anticipated population standard deviation (> 0).
    margin : float
        Half-width of the confidence interval, in the units of the variable (> 0).
    confidence, population, deff, response_rate
        As in :func:`sample_size_proportion`.

    Returns
    -------
    int

    Notes
    -----
    .. math:: n_0 = \frac{z^2 \sigma^2}{e^2}, \qquad
              n = \frac{N z^2 \sigma^2}{(N-1) e^2 + z^2 \sigma^2}, \qquad
              \lceil n \cdot \mathrm{deff} / \mathrm{response\_rate} \rceil

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, sec. 4.6.
    """
    try:
        s = float(sigma)
    except (TypeError, ValueError):
        raise ValueError(f"sigma must be a number, got {sigma!r}") from None
    if not math.isfinite(s) or s <= 0:
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    try:
        e = float(margin)
    except (TypeError, ValueError):
        raise ValueError(f"margin must be a number, got {margin!r}") from None
    if not math.isfinite(e) or e <= 0:
        raise ValueError(f"margin must be a finite number > 0, got {margin!r}")
    z = _z(confidence)
    N = _population(population)
    k = _inflation(deff, response_rate)
    v = z * z * s * s
    raw = v / (e * e) if N is None else N * v / ((N - 1.0) * e * e + v)
    return _ceil(k * raw)


def sample_size_by_stratum(
    population: Any = None,
    p: Any = 0.5,
    margin: Any = 0.05,
    confidence: Any = 0.95,
    deff: Any = 1.0,
    response_rate: Any = 1.0,
    method: str = "wald",
    sigma: Any = None,
    cap: bool = True,
) -> np.ndarray:
    """Sample size per stratum, each stratum with its own precision target.

    Every argument may be a scalar or an array with one value per stratum (broadcast).
    When ``sigma`` is given the mean formula (:func:`sample_size_mean`) is used, otherwise
    the proportion formula (:func:`sample_size_proportion`).

    Parameters
    ----------
    population : array_like of int, optional
        Stratum sizes ``N_h`` (FPC per stratum). Required when ``cap`` is True.
    p, margin, confidence, deff, response_rate, method, sigma
        As in :func:`sample_size_proportion` / :func:`sample_size_mean`.
    cap : bool, default True
        Cap each stratum's size at ``N_h`` (needs ``population``).

    Returns
    -------
    ndarray of int64
        One sample size per stratum.

    Notes
    -----
    Applies the one-stratum formula to every stratum (Cochran 1977, sec. 5A.13: sample
    sizes chosen so that each stratum estimate meets its own margin of error).

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley.
    """
    arrays = {
        "p": np.atleast_1d(np.asarray(p, dtype=float)),
        "margin": np.atleast_1d(np.asarray(margin, dtype=float)),
        "confidence": np.atleast_1d(np.asarray(confidence, dtype=float)),
        "deff": np.atleast_1d(np.asarray(deff, dtype=float)),
        "response_rate": np.atleast_1d(np.asarray(response_rate, dtype=float)),
    }
    if population is not None:
        pop = np.atleast_1d(np.asarray(population, dtype=float))
        if pop.ndim != 1 or pop.size == 0:
            raise ValueError("population must be a non-empty 1-D array of stratum sizes")
        if np.isnan(pop).any():
            raise ValueError("population contains NaN")
        if (pop < 1).any():
            raise ValueError("population must be >= 1 in every stratum (empty stratum?)")
        arrays["population"] = pop
    if sigma is not None:
        arrays["sigma"] = np.atleast_1d(np.asarray(sigma, dtype=float))
    for name, a in arrays.items():
        if a.ndim != 1:
            raise ValueError(f"{name} must be a scalar or 1-D array")
    try:
        b = np.broadcast_arrays(*arrays.values())
    except ValueError:
        raise ValueError(
            "population, p, margin, confidence, deff, response_rate and sigma must have matching lengths"
        ) from None
    cols = dict(zip(arrays.keys(), b, strict=True))
    K = b[0].shape[0]
    out = np.empty(K, dtype=np.int64)
    for h in range(K):  # loop over strata (few), not rows
        N_h = cols["population"][h] if "population" in cols else None
        common = {
            "margin": cols["margin"][h],
            "confidence": cols["confidence"][h],
            "population": N_h,
            "deff": cols["deff"][h],
            "response_rate": cols["response_rate"][h],
        }
        if "sigma" in cols:
            out[h] = sample_size_mean(cols["sigma"][h], **common)
        else:
            out[h] = sample_size_proportion(p=cols["p"][h], method=method, **common)
    if cap:
        if "population" not in cols:
            raise ValueError("population is required when cap=True")
        out = np.minimum(out, np.ceil(cols["population"]).astype(np.int64))
    return out


def margin_of_error(
    n: Any,
    p: float = 0.5,
    confidence: float = 0.95,
    population: Any = None,
    deff: float = 1.0,
) -> float:
    r"""Margin of error achieved by ``n`` respondents for a proportion (Wald, with FPC).

    Notes
    -----
    .. math:: e = z \sqrt{\mathrm{deff}\,\frac{p(1-p)}{n}\,\frac{N-n}{N-1}}

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 4.
    """
    try:
        nf = float(n)
    except (TypeError, ValueError):
        raise ValueError(f"n must be a number, got {n!r}") from None
    if not math.isfinite(nf) or nf < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    p = as_probability(p, "p", low_open=False, high_open=False)
    z = _z(confidence)
    N = _population(population)
    d = _inflation(deff, 1.0)
    fpc = 1.0
    if N is not None:
        if nf > N:
            raise ValueError(f"n must be <= population ({N:g}), got {nf:g}")
        fpc = (N - nf) / (N - 1.0) if N > 1 else 0.0
    return z * math.sqrt(d * p * (1.0 - p) / nf * fpc)


def design_effect_cluster(m: float, icc: float) -> float:
    r"""Design effect of a clustered sample: ``1 + (m - 1) * icc`` (Kish 1965).

    Parameters
    ----------
    m : float
        Average number of respondents per cluster (>= 1).
    icc : float
        Intra-cluster correlation in [0, 1].

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley, sec. 5.4.
    """
    try:
        mf = float(m)
    except (TypeError, ValueError):
        raise ValueError(f"m must be a number, got {m!r}") from None
    if not math.isfinite(mf) or mf < 1:
        raise ValueError(f"m must be >= 1, got {m!r}")
    r = as_probability(icc, "icc", low_open=False, high_open=False)
    return 1.0 + (mf - 1.0) * r
