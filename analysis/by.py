"""Per-group (domain) estimates in one vectorised pass (R ``svyby``)."""

from __future__ import annotations

import numpy as np

from ._arrays import as_labels, factorize
from .design import Design
from .estimators import _check_design, mean, missing_labels, numeric_input, total
from .proportions import is_binary, proportion
from .results import ByTable
from .variance import Influence, grouped_covariance, replicate_variance, taylor_variance

__all__ = ["by"]


def _group_codes(groups, design: Design):
    from .indices import GroupCodes  # local import: indices builds on by's neighbours

    if isinstance(groups, GroupCodes):
        if groups.codes.shape[0] != design.n:
            raise ValueError(f"groups has length {groups.codes.shape[0]}, expected {design.n}")
        return groups.levels, groups.codes
    if isinstance(groups, (list, tuple)) and groups and all(np.ndim(g) == 1 for g in groups):
        cols = [as_labels(g, "groups", design.n) for g in groups]
        labels = np.empty(design.n, dtype=object)
        labels[:] = list(zip(*[c.tolist() for c in cols], strict=True))
    else:
        labels = as_labels(groups, "groups", design.n)
    if missing_labels(labels).any():
        raise ValueError("groups contains missing values")
    return factorize(labels)


def _domain_stats(yv, w, codes, G, kind):
    """Per-group estimates (G,) and helpers for one weight vector."""
    N = np.bincount(codes, weights=w, minlength=G)
    Y = np.bincount(codes, weights=w * yv, minlength=G)
    if kind == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            return Y / N, N
    return Y, N


def _grouped(yv, dom: Design, codes, G, kind, deff):
    w = dom.weights
    est, N = _domain_stats(yv, w, codes, G, kind)
    if kind == "mean" and (N <= 0).any():
        raise ValueError(
            f"groups: {int((N <= 0).sum())} group(s) have zero total weight (e.g. all values missing)"
        )
    if dom.is_replicate:
        rep = dom.replicates
        if rep.weights is None and kind == "mean":  # jackknife: only the replicates that move a group
            from .indices import _jackknife_cov  # local import (indices builds on by's modules)

            cov = _jackknife_cov(yv[:, None], np.ones((yv.shape[0], 1)), dom, codes, G, est[:, None])
            var = cov[:, 0, 0]
        elif rep.weights is None:  # a total under a jackknife structure: from PSU totals
            reps = rep.structure.group_totals(w * yv, codes, G)
        else:
            W = rep.weights
            reps = np.empty((W.shape[1], G))
            for r in range(W.shape[1]):
                reps[r] = _domain_stats(yv, W[:, r], codes, G, kind)[0]
        if not (rep.weights is None and kind == "mean"):
            if not np.isfinite(reps).all():
                raise ValueError(
                    "groups: a group has zero weight in some replicate; its replicate SE is undefined"
                )
            var = replicate_variance(est, reps, dom.replicates)
    else:
        vals = w * (yv - est[codes]) / N[codes] if kind == "mean" else w * yv
        if dom.calibrations:  # low-rank calibration terms: never a units x groups dense table
            var = grouped_covariance(dom, vals[:, None], codes, G)[:, 0, 0]
        else:
            var = taylor_variance(dom, Influence.grouped(vals, codes, G))
    dval = None
    if deff is not False:
        pos = w > 0
        n_g = np.bincount(codes, weights=pos.astype(float), minlength=G)
        m = est if kind == "mean" else est / np.where(N > 0, N, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = np.bincount(codes, weights=w * (yv - m[codes]) ** 2, minlength=G) / N * n_g / (n_g - 1.0)
            vsrs = s2 / n_g
            if deff is True:
                vsrs = vsrs * (1.0 - n_g / N)
            if kind == "total":
                vsrs = vsrs * N * N
            dval = var / vsrs
    return est, np.sqrt(var), dval


def by(y, groups, design: Design, statistic=mean, na_rm: bool = False, deff=True, **kwargs) -> ByTable:
    """Estimate ``statistic`` within every group, each as a domain of the full design.

    Parameters
    ----------
    y : array_like
    groups : array_like, list of array_like, or GroupCodes
        Group label of each row (a list of arrays is crossed); a :class:`~analysis.GroupCodes`
        is factorised once and reused across calls.
    design : Design
    statistic : callable
        ``analysis.mean``, ``analysis.total`` or ``analysis.proportion`` run vectorised
        (bincount sums; no per-group subsetting). Any other estimator with signature
        ``f(y, design, **kwargs)`` (e.g. ``analysis.quantile``) is run per group on
        ``design.subset(groups == g)``.
    na_rm : bool
    deff : {True, "replace", False}

    Returns
    -------
    ByTable
        Groups sorted by label; for a categorical proportion the value arrays have shape
        (G, L) with ``levels``.

    Notes
    -----
    The influence values of the domain mean of group g are
    :math:`w_i 1\\{g_i = g\\}(y_i - \\bar y_g)/\\hat N_g`; the unit totals of all groups are
    one ``bincount`` over (unit, group) pairs, then one stratified variance per column.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, section 3.4 (domain estimation).
    """
    design = _check_design(design)
    if deff not in (True, False, "replace"):
        raise ValueError(f"deff must be True, False or 'replace', got {deff!r}")
    levels_g, codes = _group_codes(groups, design)
    G = levels_g.shape[0]
    if statistic in (mean, total) or (statistic is proportion and is_binary(y) and "levels" not in kwargs):
        if kwargs:
            raise ValueError(f"unexpected arguments for {statistic.__name__}: {sorted(kwargs)}")
        kind = "total" if statistic is total else "mean"
        arr = np.asarray(y)
        if arr.dtype.kind in ("U", "S", "O"):
            raise ValueError(
                "y must be numeric for by() with mean/total; use statistic=proportion for categories"
            )
        yv, dom = numeric_input(arr.astype(float) if arr.dtype == bool else arr, design, na_rm)
        est, se, dval = _grouped(yv, dom, codes, G, kind, deff)
        return ByTable(levels_g, est, se, design.df, dval)
    if statistic is proportion:
        arr = np.asarray(y)
        miss = missing_labels(arr)
        if miss.any() and not na_rm:
            raise ValueError("y contains missing values; pass na_rm=True to treat them as a domain")
        lev = np.asarray(kwargs.pop("levels", None) if "levels" in kwargs else np.unique(arr[~miss]))
        if kwargs:
            raise ValueError(f"unexpected arguments for proportion: {sorted(kwargs)}")
        dom = design.subset(~miss) if miss.any() else design
        L = lev.shape[0]
        est = np.empty((G, L))
        se = np.empty((G, L))
        dv = None if deff is False else np.empty((G, L))
        for j, lv in enumerate(lev.tolist()):
            ind = (arr == lv) & ~miss
            e, s, d = _grouped(ind.astype(float), dom, codes, G, "mean", deff)
            est[:, j], se[:, j] = e, s
            if dv is not None:
                dv[:, j] = d
        return ByTable(levels_g, est, se, design.df, dv, lev)
    # generic fallback: one domain at a time
    rows = []
    for gi in range(G):
        res = statistic(y, design.subset(codes == gi), na_rm=na_rm, **kwargs)
        rows.append(res)
    est = np.array([np.asarray(r.estimate, dtype=float) for r in rows])
    se = np.array([np.asarray(r.se, dtype=float) for r in rows])
    dvals = [r.deff for r in rows]
    dv = None if any(d is None for d in dvals) else np.array(dvals, dtype=float)
    return ByTable(levels_g, est, se, design.df, dv, getattr(rows[0], "levels", None))
