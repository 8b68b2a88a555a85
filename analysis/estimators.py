"""Means, totals, ratios and variances of survey variables (R ``svymean``, ``svytotal``,
``svyratio``, ``svyvar``).

Every estimator takes ``(y, design)`` and returns a frozen :class:`~analysis.results.Estimate`.
A numeric ``y`` gives a scalar estimate; a non-numeric (string/object) ``y`` is treated as
categorical and gives one estimate per level (``Estimate.levels``).

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Woodruff, R. S. (1971). A simple method for approximating the variance of a complicated
estimate. *JASA* 66, 411-414.
"""

from __future__ import annotations

import numpy as np

from ._arrays import as_float, factorize
from .design import Design
from .results import Estimate
from .variance import Influence, Term, replicate_variance, taylor_variance

__all__ = ["mean", "total", "ratio", "variance"]


# ------------------------------------------------------------------ input preparation
def _check_design(design) -> Design:
    if not isinstance(design, Design):
        raise ValueError(f"design must be an analysis.Design, got {type(design).__name__}")
    return design


def is_categorical(y) -> bool:
    arr = np.asarray(y)
    return arr.dtype.kind in ("U", "S", "O")


def missing_labels(arr: np.ndarray) -> np.ndarray:
    """Missing entries of a label array: None, NaN or the empty string."""
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind in ("U", "S"):
        return arr == arr.dtype.type("")
    if arr.dtype.kind == "O":
        return np.fromiter(
            (v is None or v == "" or (isinstance(v, float) and v != v) for v in arr), bool, arr.shape[0]
        )
    return np.zeros(arr.shape[0], dtype=bool)


def domain_for_missing(design: Design, missing: np.ndarray, na_rm: bool, name: str) -> Design:
    """The design with rows holding missing values turned into a zero-weight domain."""
    if not missing.any():
        return design
    if not na_rm:
        raise ValueError(f"{name} contains missing values; pass na_rm=True to treat them as a domain")
    return design.subset(~missing)


def numeric_input(y, design: Design, na_rm: bool, name: str = "y") -> tuple[np.ndarray, Design]:
    """Float array with NaN replaced by 0 and the matching domain design."""
    arr = np.asarray(y)
    if arr.dtype == bool:
        arr = arr.astype(float)
    yv = as_float(arr, name, design.n)
    miss = np.isnan(yv)
    dom = domain_for_missing(design, miss, na_rm, name)
    if miss.any():
        yv = np.where(miss, 0.0, yv)
    return yv, dom


def categorical_input(y, design: Design, na_rm: bool, name: str = "y", levels=None):
    """Integer codes, level labels and the domain design for a categorical variable."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != design.n:
        raise ValueError(f"{name} must be one-dimensional of length {design.n}")
    miss = missing_labels(arr)
    dom = domain_for_missing(design, miss, na_rm, name)
    present = arr[~miss]
    if levels is None:
        lev, codes_present = factorize(present)
    else:
        lev = np.asarray(levels)
        lookup = {v: i for i, v in enumerate(lev.tolist())}
        uniq, inv = np.unique(present, return_inverse=True)
        bad = [u for u in uniq.tolist() if u not in lookup]
        if bad:
            raise ValueError(f"levels does not contain {bad[:5]} found in {name}")
        codes_present = np.array([lookup[u] for u in uniq.tolist()], dtype=np.intp)[inv.reshape(-1)]
    codes = np.zeros(design.n, dtype=np.intp)
    codes[~miss] = codes_present
    return codes, lev, dom


def positive_total(w: np.ndarray, what: str = "domain") -> float:
    tot = float(w.sum())
    if not tot > 0:
        raise ValueError(f"the {what} has zero total weight")
    return tot


# ------------------------------------------------------------------ design effects
def srs_variance_of_mean(s2, w: np.ndarray, deff) -> np.ndarray | float | None:
    """SRS variance of a mean with element variance ``s2`` (R ``deff=TRUE`` / ``"replace"``).

    ``svyvar/n`` times ``(1 - n/N_hat)`` unless ``deff == "replace"``; ``n`` counts
    rows with positive weight. With unit weights ``N_hat = n``, the without-replacement
    reference variance is 0 and the design effect is ``inf`` (as in R): use ``"replace"``.
    """
    if deff is False or deff is None:
        return None
    if deff not in (True, "replace"):
        raise ValueError(f"deff must be True, False or 'replace', got {deff!r}")
    nobs = int((w > 0).sum())
    v = np.asarray(s2, dtype=float) / nobs
    if deff is True:
        v = v * (1.0 - nobs / w.sum())
    return v


def weighted_s2(y: np.ndarray, w: np.ndarray, ybar) -> float:
    """R ``svyvar``: ``sum w (y - ybar)^2 / sum w * n/(n-1)``, n = rows with positive weight."""
    nobs = int((w > 0).sum())
    if nobs < 2:
        return np.nan
    return float(w @ (y - ybar) ** 2 / w.sum() * nobs / (nobs - 1.0))


def make_deff(var, vsrs):
    if vsrs is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(var, dtype=float) / np.asarray(vsrs, dtype=float)
    return float(out) if out.ndim == 0 else out


def scalar_or_array(x):
    arr = np.asarray(x, dtype=float).reshape(-1)
    return float(arr[0]) if arr.shape[0] == 1 else arr


class _ImplicitWeights:
    """The (n, 1 + R) weight matrix of a jackknife structure, for ``W.T @ Y`` and ``W.sum(0)`` only."""

    def __init__(self, w: np.ndarray, structure) -> None:
        self.w = w
        self.structure = structure
        self.shape = (w.shape[0], 1 + structure.n_replicates)

    @property
    def T(self) -> _ImplicitWeights:  # noqa: N802 - mirrors ndarray.T
        return self

    def __matmul__(self, Y: np.ndarray) -> np.ndarray:
        Y2 = Y[:, None] if Y.ndim == 1 else Y
        out = np.vstack([self.w @ Y2, self.structure.totals(self.w, Y2)])
        return out[:, 0] if Y.ndim == 1 else out

    def sum(self, axis: int = 0) -> np.ndarray:
        return self @ np.ones(self.shape[0])


def estimate_with_variance(dom: Design, stat, influence) -> tuple[np.ndarray, np.ndarray]:
    """Point estimate (k,) and variance (k,) by replicates or by linearisation.

    ``stat(W)`` maps an (n, m) weight matrix to an (m, k) matrix of estimates;
    ``influence(theta)`` gives the linearisation :class:`Influence` at the full-sample estimate.
    """
    if dom.is_replicate:
        rep = dom.replicates
        W = _ImplicitWeights(dom.weights, rep.structure) if rep.weights is None else dom._all_weights()
        th = np.asarray(stat(W), dtype=float)
        th = th[:, None] if th.ndim == 1 else th
        theta = th[0]
        return theta, replicate_variance(theta, th[1:], dom.replicates)
    theta = np.atleast_1d(stat(dom.weights[:, None])[0])
    return theta, taylor_variance(dom, influence(theta))


# ------------------------------------------------------------------ estimators
def mean(y, design: Design, na_rm: bool = False, deff=True, levels=None) -> Estimate:
    """Design-based mean (Hajek estimator) of ``y``; for a categorical ``y`` the level proportions.

    Parameters
    ----------
    y : array_like
        Variable, one value per row of the design. NaN marks a missing value.
    design : Design
    na_rm : bool
        Treat rows with missing ``y`` as outside a domain (zero weight, design kept);
        otherwise missing values raise ValueError.
    deff : {True, "replace", False}
        Design effect against SRS without (True) or with ("replace") replacement.
    levels : sequence, optional
        Level order for a categorical ``y``.

    Returns
    -------
    Estimate

    Notes
    -----
    :math:`\\hat{\\bar y} = \\sum w_i y_i / \\sum w_i`, influence
    :math:`z_i = w_i (y_i - \\hat{\\bar y}) / \\hat N`. Design effect
    :math:`V / ((1 - n/\\hat N) s^2_w / n)` (R ``deff=TRUE``).

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, chapter 2.
    Kish, L. (1965). *Survey Sampling*. Wiley.
    """
    design = _check_design(design)
    if is_categorical(y) or levels is not None:
        return _categorical(y, design, na_rm, deff, levels, proportion=True)
    yv, dom = numeric_input(y, design, na_rm)
    w = dom.weights
    N = positive_total(w)

    def stat(W):
        return (W.T @ yv) / W.sum(axis=0)

    def influence(theta):
        return Influence.dense(w * (yv - theta[0]) / N)

    theta, var = estimate_with_variance(dom, stat, influence)
    vsrs = srs_variance_of_mean(weighted_s2(yv, w, theta[0]), w, deff)
    return Estimate(float(theta[0]), float(np.sqrt(var[0])), design.df, make_deff(var[0], vsrs))


def total(y, design: Design, na_rm: bool = False, deff=True, levels=None) -> Estimate:
    """Horvitz-Thompson total of ``y``; for a categorical ``y`` the estimated count per level.

    Notes
    -----
    :math:`\\hat Y = \\sum w_i y_i`, influence :math:`z_i = w_i y_i`. Design effect
    :math:`V / (\\hat N^2 (1 - n/\\hat N) s^2_w / n)` (R ``svytotal(deff=TRUE)``).

    References
    ----------
    Horvitz, D. G., Thompson, D. J. (1952). *JASA* 47, 663-685.
    Lumley, T. (2010). *Complex Surveys*, chapter 2.
    """
    design = _check_design(design)
    if is_categorical(y) or levels is not None:
        return _categorical(y, design, na_rm, deff, levels, proportion=False)
    yv, dom = numeric_input(y, design, na_rm)
    w = dom.weights
    N = positive_total(w)

    def stat(W):
        return W.T @ yv

    def influence(theta):
        return Influence.dense(w * yv)

    theta, var = estimate_with_variance(dom, stat, influence)
    vsrs = srs_variance_of_mean(weighted_s2(yv, w, theta[0] / N), w, deff)
    vsrs = None if vsrs is None else vsrs * N * N
    return Estimate(float(theta[0]), float(np.sqrt(var[0])), design.df, make_deff(var[0], vsrs))


def _categorical(y, design, na_rm, deff, levels, proportion: bool, cls=Estimate):
    codes, lev, dom = categorical_input(y, design, na_rm, levels=levels)
    L = lev.shape[0]
    w = dom.weights
    N = positive_total(w)

    def stat(W):
        onehot = np.zeros((codes.shape[0], L))
        onehot[np.arange(codes.shape[0]), codes] = 1.0
        out = W.T @ onehot
        if proportion:
            out = out / W.sum(axis=0)[:, None]
        return out

    def influence(theta):
        if proportion:
            v = w / N
            return Influence(L, (Term(v, codes, L, None), Term(v, None, 1, -theta[None, :])))
        return Influence(L, (Term(w, codes, L, None),))

    theta, var = estimate_with_variance(dom, stat, influence)
    p = theta if proportion else theta / N
    nobs = int((w > 0).sum())
    s2 = p * (1 - p) * nobs / max(nobs - 1.0, 1.0)
    vsrs = srs_variance_of_mean(s2, w, deff)
    if vsrs is not None and not proportion:
        vsrs = vsrs * N * N
    kwargs = {"n": design.n} if cls is not Estimate else {}
    return cls(theta, np.sqrt(var), design.df, make_deff(var, vsrs), lev, **kwargs)


def ratio(y, x, design: Design, na_rm: bool = False, deff=True) -> Estimate:
    """Ratio of two totals, :math:`\\hat R = \\hat Y / \\hat X` (R ``svyratio``).

    Notes
    -----
    Influence :math:`z_i = w_i (y_i - \\hat R x_i) / \\hat X`. The design effect compares
    with SRS of the linearised variable :math:`(y - \\hat R x)/\\bar x`.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., chapter 6.
    Lumley, T. (2010). *Complex Surveys*, section 2.2.
    """
    design = _check_design(design)
    yv = as_float(np.asarray(y, dtype=float) if np.asarray(y).dtype == bool else y, "y", design.n)
    xv = as_float(np.asarray(x, dtype=float) if np.asarray(x).dtype == bool else x, "x", design.n)
    miss = np.isnan(yv) | np.isnan(xv)
    dom = domain_for_missing(design, miss, na_rm, "y/x")
    yv = np.where(miss, 0.0, yv)
    xv = np.where(miss, 0.0, xv)
    w = dom.weights
    X = float(w @ xv)
    if X == 0:
        raise ValueError("x has zero estimated total; the ratio is undefined")

    def stat(W):
        return (W.T @ yv) / (W.T @ xv)

    def influence(theta):
        return Influence.dense(w * (yv - theta[0] * xv) / X)

    theta, var = estimate_with_variance(dom, stat, influence)
    N = positive_total(w)
    xbar = X / N
    lin = (yv - theta[0] * xv) / xbar
    vsrs = srs_variance_of_mean(weighted_s2(lin, w, float(w @ lin) / N), w, deff)
    return Estimate(float(theta[0]), float(np.sqrt(var[0])), design.df, make_deff(var[0], vsrs))


def variance(y, design: Design, na_rm: bool = False) -> Estimate:
    """Population variance of ``y`` (R ``svyvar``).

    Notes
    -----
    :math:`\\hat S^2 = \\frac{n}{n-1} \\sum w_i (y_i-\\hat{\\bar y})^2 / \\sum w_i`, n the number of
    rows with positive weight; its standard error is that of the mean of
    :math:`\\frac{n}{n-1}(y_i - \\hat{\\bar y})^2` (R ``svyvar``).

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, section 2.5.
    """
    design = _check_design(design)
    yv, dom = numeric_input(y, design, na_rm)
    w = dom.weights
    N = positive_total(w)
    nobs = int((w > 0).sum())
    if nobs < 2:
        raise ValueError("variance needs at least two rows with positive weight")
    c = nobs / (nobs - 1.0)

    ybar = float(w @ yv) / N
    yc = yv - ybar

    def stat(W):
        tot = W.sum(axis=0)
        mu = (W.T @ yc) / tot
        return (W.T @ (yc * yc) / tot - mu * mu) * c

    z = (yv - ybar) ** 2 * c

    def influence(theta):
        return Influence.dense(w * (z - theta[0]) / N)

    theta, var = estimate_with_variance(dom, stat, influence)
    return Estimate(float(theta[0]), float(np.sqrt(var[0])), design.df, None)
