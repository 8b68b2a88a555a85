"""Proportions of a binary or categorical variable (R ``svymean`` of a factor, ``svyciprop``)."""

from __future__ import annotations

import numpy as np

from .design import Design
from .estimators import _categorical, _check_design, mean
from .results import ProportionEstimate

__all__ = ["proportion", "is_binary"]


def is_binary(x) -> bool:
    """True for a boolean array or a numeric array whose non-missing values are in {0, 1}."""
    arr = np.asarray(x)
    if arr.dtype == bool:
        return True
    if arr.dtype.kind not in ("i", "u", "f"):
        return False
    vals = arr[~np.isnan(arr)] if arr.dtype.kind == "f" else arr
    return bool(np.all((vals == 0) | (vals == 1)))


def proportion(x, design: Design, na_rm: bool = False, levels=None, deff=True) -> ProportionEstimate:
    """Estimated population proportion(s).

    Parameters
    ----------
    x : array_like
        A binary indicator (bool, or numeric 0/1; NaN = missing) gives the scalar proportion
        of ones. Any other variable (strings, or numbers other than 0/1), or any ``x`` with
        ``levels`` given, is categorical and gives one proportion per level.
    design : Design
    na_rm : bool
        Rows with a missing value become a zero-weight domain (R ``na.rm=TRUE``).
    levels : sequence, optional
        Level order (levels absent from the data get proportion 0).
    deff : {True, "replace", False}

    Returns
    -------
    ProportionEstimate
        ``estimate``/``se``/``deff`` are floats for a binary ``x`` and arrays aligned with
        ``levels`` otherwise; ``confint(level, method=...)`` gives the R ``svyciprop``
        intervals (``logit``, ``xlogit``, ``wilson``, ``beta``, ``mean``, ``asin``).

    Notes
    -----
    :math:`\\hat p_l = \\sum_i w_i 1\\{x_i = l\\} / \\sum_i w_i`, influence
    :math:`w_i (1\\{x_i=l\\} - \\hat p_l)/\\hat N`; one ``bincount`` per level table,
    no n x L indicator matrix.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, section 2.4.
    Korn, E. L., Graubard, B. I. (1998). *Survey Methodology* 24, 193-201.
    """
    design = _check_design(design)
    if levels is None and is_binary(x):
        est = mean(np.asarray(x, dtype=float), design, na_rm=na_rm, deff=deff)
        return ProportionEstimate(est.estimate, est.se, est.df, est.deff, None, n=design.n)
    arr = np.asarray(x)
    if arr.dtype.kind == "f" and levels is None:
        miss = np.isnan(arr)
        lab = np.where(miss, "", arr.astype(str))
        if not miss.any():
            return _categorical(arr, design, na_rm, deff, None, True, ProportionEstimate)
        # keep numeric level order
        lev = np.unique(arr[~miss])
        return _categorical(lab, design, na_rm, deff, lev.astype(str), True, ProportionEstimate)
    return _categorical(arr, design, na_rm, deff, levels, True, ProportionEstimate)
