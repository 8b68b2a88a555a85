"""Quantiles with Woodruff confidence intervals (R ``svyquantile`` / ``oldsvyquantile``)."""

from __future__ import annotations

import numpy as np

from .design import Design
from .estimators import _check_design, mean, numeric_input
from .results import QuantileEstimate, critical_value

__all__ = ["quantile"]

_QRULES = ("math", "linear")
_INTERVALS = ("woodruff", "wald")


def _qfun(support: np.ndarray, cum: np.ndarray, p, qrule: str):
    p = np.asarray(p, dtype=float)
    if qrule == "math":
        idx = np.searchsorted(cum, p, side="left")
        return support[np.clip(idx, 0, support.shape[0] - 1)]
    return np.interp(p, cum, support, left=support[0], right=support[-1])


def _interval(support, cum, cdf, q, cdf_se, df, level, dist, qrule, interval_type, p=None):
    """Invert an interval for the CDF through the quantile rule.

    ``woodruff``: ``F_hat(q) -/+ crit se`` (R ``svyquantile``, ``interval.type="mean"``);
    ``wald``: ``p -/+ crit se`` (R ``oldsvyquantile``, ``interval.type="Wald"``).
    """
    crit = critical_value(level, df, dist)
    centre = p if interval_type == "wald" else cdf
    lo, hi = _qfun(support, cum, [centre - crit * cdf_se, centre + crit * cdf_se], qrule)
    se = (hi - lo) / (2.0 * crit)
    return float(lo), float(hi), float(se)


def quantile(
    y,
    design: Design,
    p,
    ci: bool = True,
    qrule: str = "math",
    interval_type: str = "woodruff",
    level: float = 0.95,
    dist: str = "t",
    na_rm: bool = False,
):
    """Design-based quantile(s) of ``y`` with confidence intervals.

    Parameters
    ----------
    y : array_like
    design : Design
    p : float or sequence of float
        Probabilities in [0, 1]; a sequence returns a list of estimates.
    ci : bool
        Compute the interval and the standard error (otherwise ``se`` is NaN-free 0 and
        ``ci`` equals the estimate).
    qrule : {"math", "linear"}
        ``"math"``: inverse of the weighted CDF, ``min{x : F(x) >= p}`` (R ``svyquantile``
        default, ties aggregated); ``"linear"``: linear interpolation of the cumulative
        weights (R ``oldsvyquantile`` default).
    interval_type : {"woodruff", "wald"}
        ``"woodruff"``: invert the interval for the CDF at the estimate,
        ``Q(F(q) -/+ t se(F(q)))`` (R ``svyquantile``, ``interval.type="mean"``);
        ``"wald"``: invert the interval around ``p``, ``Q(p -/+ t se(F(q)))`` (R
        ``oldsvyquantile(interval.type="Wald")``; use it with ``qrule="linear"``, R's
        ``oldsvyquantile`` default, to reproduce R).
    level : float
    dist : {"t", "normal"}
    na_rm : bool

    Returns
    -------
    QuantileEstimate or list of QuantileEstimate

    Notes
    -----
    With :math:`\\hat q = Q(p)` and :math:`\\hat F = \\hat F(\\hat q)` the estimated share of
    ``y <= q``, the Woodruff interval is :math:`Q(\\hat F \\mp t\\, se(\\hat F))` (R 4.x
    ``svyquantile``, ``interval.type="mean"``); ``se(F)`` is the design standard error of the
    mean of ``1{y <= q}`` (so calibration and replicate weights are accounted for); the reported
    :math:`se = (u - l) / (2 t_{df})` (R ``SE()`` of ``svyquantile``).

    References
    ----------
    Woodruff, R. S. (1952). Confidence intervals for medians and other position measures.
    *JASA* 47, 635-646.
    Dorfman, A., Valliant, R. (1993). Quantile variance estimators in complex surveys.
    *Proc. ASA Survey Research Methods Section*.
    Lumley, T. (2010). *Complex Surveys*, section 2.4.1.
    """
    design = _check_design(design)
    if qrule not in _QRULES:
        raise ValueError(f"qrule must be one of {_QRULES}, got {qrule!r}")
    if interval_type not in _INTERVALS:
        raise ValueError(f"interval_type must be one of {_INTERVALS}, got {interval_type!r}")
    scalar = np.ndim(p) == 0
    probs = np.atleast_1d(np.asarray(p, dtype=float))
    if probs.ndim != 1 or np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
        raise ValueError("p must be probabilities in [0, 1]")
    critical_value(level, design.df if design.df > 0 else 1, dist)  # validates level/dist
    yv, dom = numeric_input(y, design, na_rm)
    w = dom.weights
    pos = w > 0
    if not pos.any():
        raise ValueError("the domain has zero total weight")
    x, wx = yv[pos], w[pos]
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], wx[order]
    if qrule == "math":
        support, first = np.unique(xs, return_index=True)
        wsum = np.add.reduceat(ws, first)
    else:
        support, wsum = xs, ws
    cum = np.cumsum(wsum) / wsum.sum()
    out = []
    for pk in probs:
        q = float(_qfun(support, cum, pk, qrule))
        if ci:
            cdf = mean((yv <= q).astype(float), dom, deff=False)
            lo, hi, se = _interval(
                support, cum, cdf.estimate, q, cdf.se, design.df, level, dist, qrule, interval_type, float(pk)
            )
            cdf_se, cdf_hat = cdf.se, cdf.estimate
        else:
            lo, hi, se, cdf_se, cdf_hat = q, q, 0.0, 0.0, float(pk)
        out.append(
            QuantileEstimate(
                q,
                se,
                design.df,
                None,
                None,
                p=float(pk),
                level=level,
                ci=(lo, hi),
                interval_type=interval_type,
                qrule=qrule,
                cdf=float(cdf_hat),
                cdf_se=float(cdf_se),
                support=support,
                cum_weight=cum,
            )
        )
    return out[0] if scalar else out
