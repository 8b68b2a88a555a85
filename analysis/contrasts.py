"""Linear contrasts of correlated estimates (R ``svycontrast``) and differences between
independent samples (this period against the last)."""

from __future__ import annotations

import numpy as np

from .results import ContrastEstimate

__all__ = ["contrast", "difference_independent"]


def _vector(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    return arr


def contrast(estimates, covariance, coefficients, *, df=None) -> ContrastEstimate:
    """Linear contrast ``c' theta`` with standard error ``sqrt(c' Sigma c)`` (R ``svycontrast``).

    Parameters
    ----------
    estimates : array_like, shape (K,)
        Estimates, e.g. one row of an :class:`~analysis.IndexTable`.
    covariance : array_like, shape (K, K)
        Their covariance (``IndexTable.covariance(g)``).
    coefficients : array_like, shape (K,) or (m, K), or mapping {index: coefficient}
        One contrast, or m contrasts at once.
    df : float or int, optional
        Degrees of freedom for the test and ``confint``; ``None`` uses the normal distribution.

    Returns
    -------
    ContrastEstimate
        ``estimate``, ``se``, ``df``; ``statistic`` and ``p_value`` test ``c' theta = 0``.

    Notes
    -----
    :math:`\\hat\\delta = c'\\hat\\theta`, :math:`V(\\hat\\delta) = c'\\hat\\Sigma c`; for m
    contrasts :math:`C\\hat\\Sigma C'` (the diagonal gives the SEs). A contrast of an estimate
    with itself is exactly 0 with SE 0.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, section 3.5 (``svycontrast``).
    """
    theta = _vector(estimates, "estimates")
    if theta.ndim != 1:
        raise ValueError(f"estimates must be one-dimensional, got shape {theta.shape}")
    K = theta.shape[0]
    S = _vector(covariance, "covariance")
    if S.shape != (K, K):
        raise ValueError(f"covariance must have shape ({K}, {K}), got {S.shape}")
    if isinstance(coefficients, dict):
        c = np.zeros(K)
        for key, val in coefficients.items():
            if not isinstance(key, (int, np.integer)) or not 0 <= int(key) < K:
                raise ValueError(f"coefficients: key {key!r} is not an index in 0..{K - 1}")
            c[int(key)] = float(val)
    else:
        c = _vector(coefficients, "coefficients")
    if c.ndim not in (1, 2) or c.shape[-1] != K:
        raise ValueError(f"coefficients must have shape ({K},) or (m, {K}), got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("coefficients must be finite")
    d = c @ theta
    var = np.einsum("...k,kl,...l->...", c, S, c)
    se = np.sqrt(np.maximum(var, 0.0))
    dfv = np.inf if df is None else float(df)
    if not dfv > 0:
        raise ValueError(f"df must be positive, got {df!r}")
    scalar = c.ndim == 1
    return ContrastEstimate(float(d) if scalar else d, float(se) if scalar else se, dfv)


def difference_independent(est1, se1, est2, se2, df1=None, df2=None) -> ContrastEstimate:
    """Difference ``est1 - est2`` of estimates from independent samples (e.g. two periods).

    Parameters
    ----------
    est1, se1 : float or array_like
        Estimate and standard error of the first sample (this period).
    est2, se2 : float or array_like
        Of the second sample (last period); broadcast against the first.
    df1, df2 : float or array_like, optional
        Degrees of freedom of each; both given: Satterthwaite df, else the normal distribution.

    Returns
    -------
    ContrastEstimate
        ``estimate = est1 - est2``, ``se``, ``df``, ``statistic``, ``p_value``.

    Notes
    -----
    :math:`se = \\sqrt{se_1^2 + se_2^2}` (independent samples, no covariance);
    :math:`df = (v_1 + v_2)^2 / (v_1^2/df_1 + v_2^2/df_2)` (Welch-Satterthwaite).

    References
    ----------
    Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
    components. *Biometrics Bulletin* 2, 110-114.
    Korn, E. L., Graubard, B. I. (1999). *Analysis of Health Surveys*. Wiley, section 5.2.
    """
    e1, s1 = _vector(est1, "est1"), _vector(se1, "se1")
    e2, s2 = _vector(est2, "est2"), _vector(se2, "se2")
    for name, v in (("se1", s1), ("se2", s2)):
        if np.any(v < 0) or np.any(np.isinf(v)):
            raise ValueError(f"{name} must be finite and non-negative")
    try:
        e1, s1, e2, s2 = np.broadcast_arrays(e1, s1, e2, s2)
    except ValueError as exc:
        raise ValueError("est1, se1, est2, se2 have incompatible shapes") from exc
    v1, v2 = s1 * s1, s2 * s2
    d = e1 - e2
    se = np.sqrt(v1 + v2)
    if df1 is None or df2 is None:
        df = np.full(d.shape, np.inf)
    else:
        f1, f2 = _vector(df1, "df1"), _vector(df2, "df2")
        for name, v in (("df1", f1), ("df2", f2)):
            if np.any(~(v > 0)):
                raise ValueError(f"{name} must be positive")
        with np.errstate(divide="ignore", invalid="ignore"):
            df = (v1 + v2) ** 2 / (v1 * v1 / f1 + v2 * v2 / f2)
        df = np.where(np.isfinite(df) & (df > 0), df, np.minimum(f1, f2))
    if d.ndim == 0:
        return ContrastEstimate(float(d), float(se), float(df))
    return ContrastEstimate(d, se, df)
