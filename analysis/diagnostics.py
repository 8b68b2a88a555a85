"""Weighting diagnostics: Kish design effect, effective sample size, weight spread, trimming."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import as_float
from .design import Design

__all__ = ["WeightDiagnostics", "weight_diagnostics", "kish_deff", "effective_sample_size"]


def kish_deff(weights) -> float:
    """Kish's weighting design effect :math:`n \\sum w^2 / (\\sum w)^2 = 1 + CV(w)^2`.

    Rows with zero weight are ignored.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley, section 11.7.
    Kish, L. (1992). Weighting for unequal P_i. *J. Official Statistics* 8, 183-200.
    """
    w = as_float(weights, "weights", allow_nan=False)
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    w = w[w > 0]
    if w.size == 0:
        raise ValueError("weights are all zero")
    return float(w.size * np.dot(w, w) / w.sum() ** 2)


def effective_sample_size(weights) -> float:
    """Kish effective sample size :math:`(\\sum w)^2 / \\sum w^2 = n / deff_w`."""
    w = as_float(weights, "weights", allow_nan=False)
    w = w[w > 0]
    if w.size == 0:
        raise ValueError("weights are all zero")
    return float(w.sum() ** 2 / np.dot(w, w))


@dataclass(frozen=True, slots=True, eq=False)
class WeightDiagnostics:
    """Summary of a design's weights (rows with positive weight)."""

    n: int
    n_positive: int
    total: float
    min: float
    max: float
    mean: float
    ratio: float
    cv: float
    kish_deff: float
    effective_n: float
    share_trimmed: float
    n_negative: int


def weight_diagnostics(design: Design) -> WeightDiagnostics:
    """Weight range, coefficient of variation, Kish deff and effective n, share trimmed.

    Notes
    -----
    ``cv`` uses the population form :math:`sd(w)/mean(w)` so that ``kish_deff = 1 + cv^2``.
    ``share_trimmed`` is the fraction of positive-weight rows trimmed by
    :func:`~analysis.calibration.trim_weights` (0 when untrimmed).

    References
    ----------
    Kish, L. (1992). *J. Official Statistics* 8, 183-200.
    Valliant, R., Dever, J. A., Kreuter, F. (2018). *Practical Tools for Designing and
    Weighting Survey Samples*, 2nd ed., chapter 14.
    """
    if not isinstance(design, Design):
        raise ValueError("design must be an analysis.Design")
    w_all = design.weights
    pos = w_all > 0
    w = w_all[pos]
    m = float(w.mean())
    cv = float(w.std() / m)
    trimmed = design.trimmed
    share = float(trimmed[pos].mean()) if trimmed is not None else 0.0
    return WeightDiagnostics(
        n=design.n,
        n_positive=int(pos.sum()),
        total=float(w.sum()),
        min=float(w.min()),
        max=float(w.max()),
        mean=m,
        ratio=float(w.max() / w.min()),
        cv=cv,
        kish_deff=1.0 + cv * cv,
        effective_n=float(w.size / (1.0 + cv * cv)),
        share_trimmed=share,
        n_negative=int((w_all < 0).sum()),
    )
