"""Post-stratification, raking, calibration (GREG, raking ratio, logit) and weight trimming.

Each function returns a new :class:`~analysis.design.Design`. A linearisation design
remembers the calibration (a :class:`~analysis.design.CalibrationRecord`) so that later
standard errors use the g-weighted regression residuals on the calibration variables; a
replicate design has every replicate calibrated to the same totals (R semantics).

References
----------
Deville, J.-C., Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*JASA* 87, 376-382.
Deville, J.-C., Särndal, C.-E., Sautory, O. (1993). Generalized raking procedures in survey
sampling. *JASA* 88, 1013-1020.
Kalton, G., Flores-Cervantes, I. (2003). Weighting methods. *J. Official Statistics* 19, 81-97.
Lumley, T. (2010). *Complex Surveys*, chapter 7.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ._arrays import as_float, as_labels
from .design import CalibrationRecord, Design, ReplicateWeights
from .estimators import _check_design, missing_labels
from .variance import _rake_cross, compact_codes

__all__ = ["poststratify", "rake", "rake_weights", "calibrate", "trim_weights"]

_METHODS = ("linear", "raking", "logit")


# ---------------------------------------------------------------------------- helpers
def _margin(groups, totals, n: int, name: str = "groups") -> tuple[np.ndarray, int, np.ndarray]:
    """Codes aligned with the order of ``totals`` and the totals as floats."""
    if isinstance(groups, (list, tuple)) and groups and all(np.ndim(g) == 1 for g in groups):
        cols = [as_labels(g, name, n) for g in groups]
        labels = np.empty(n, dtype=object)
        labels[:] = list(zip(*[c.tolist() for c in cols], strict=True))
    else:
        labels = as_labels(groups, name, n)
    if missing_labels(labels).any():
        raise ValueError(f"{name} contains missing values")
    if hasattr(totals, "items"):
        keys = list(totals.keys())
        vals = np.asarray(list(totals.values()), dtype=float)
    else:
        try:
            keys, vals = totals
        except (TypeError, ValueError) as exc:
            raise ValueError("totals must be a mapping {level: total} or a pair (levels, totals)") from exc
        keys = list(np.asarray(keys, dtype=object).tolist()) if not isinstance(keys, list) else keys
        vals = np.asarray(vals, dtype=float)
    if len(keys) != vals.shape[0]:
        raise ValueError("totals: levels and totals differ in length")
    if np.isnan(vals).any() or (vals < 0).any():
        raise ValueError("totals must be non-negative numbers")
    uniq, inv = np.unique(labels, return_inverse=True)
    key_index = {_norm(k): i for i, k in enumerate(keys)}
    if len(key_index) != len(keys):
        raise ValueError("totals has duplicated levels")
    data_levels = [_norm(u) for u in uniq.tolist()]
    absent = [k for k in keys if _norm(k) not in set(data_levels)]
    if absent:
        raise ValueError(f"totals given for levels not in the data: {absent[:5]}")
    unmatched = [u for u in data_levels if u not in key_index]
    if unmatched:
        raise ValueError(f"totals: no population total for levels {unmatched[:5]} found in {name}")
    map_ = np.array([key_index[u] for u in data_levels], dtype=np.intp)
    return map_[inv.reshape(-1)], len(keys), vals


def _norm(v):
    """Make numpy scalars and Python scalars compare equal as dict keys."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _calibrated_design(design: Design, full_w: np.ndarray, rep_w: np.ndarray | None, record) -> Design:
    if design.is_replicate:
        rep = design.replicates
        return design._evolve(
            w=full_w, rep=ReplicateWeights(rep_w, rep.rscales, rep.scale, rep.mse, rep.kind)
        )
    return design._evolve(w=full_w, cal=design.calibrations + (record,))


def _block_gram(blocks, a: np.ndarray) -> np.ndarray:
    """``M' diag(a) M`` for calibration blocks (indicator tables and numeric columns)."""
    sizes = [b[2] if b[0] == "codes" else 1 for b in blocks]
    p = sum(sizes)
    out = np.zeros((p, p))
    starts = np.cumsum([0] + sizes)
    for i, bi in enumerate(blocks):
        for j in range(i, len(blocks)):
            bj = blocks[j]
            if bi[0] == "codes" and bj[0] == "codes":
                key = bi[1] * bj[2] + bj[1]
                tab = np.bincount(key, weights=a, minlength=bi[2] * bj[2]).reshape(bi[2], bj[2])
            elif bi[0] == "codes":
                tab = np.bincount(bi[1], weights=a * bj[1], minlength=bi[2])[:, None]
            elif bj[0] == "codes":
                tab = np.bincount(bj[1], weights=a * bi[1], minlength=bj[2])[None, :]
            else:
                tab = np.array([[np.dot(a * bi[1], bj[1])]])
            out[starts[i] : starts[i + 1], starts[j] : starts[j + 1]] = tab
            out[starts[j] : starts[j + 1], starts[i] : starts[i + 1]] = tab.T
    return out


def _weight_columns(design: Design) -> np.ndarray:
    return design._all_weights()


# ---------------------------------------------------------------------------- post-stratification
def poststratify(design: Design, groups, totals) -> Design:
    """Post-stratify ``design`` so the weights add up to known population counts.

    Parameters
    ----------
    design : Design
    groups : array_like, or list of array_like
        Post-stratum of each row (a list of arrays is crossed into joint cells).
    totals : mapping or (levels, totals)
        Population count of every post-stratum present in the data (for a list of
        ``groups`` the keys are tuples).

    Returns
    -------
    Design

    Notes
    -----
    :math:`w_i^* = w_i N_k / \\hat N_k` for row i in post-stratum k. Linearisation SEs
    then use :math:`w_i^*(u_i - \\bar u_k)` (R ``postStratify``).

    References
    ----------
    Holt, D., Smith, T. M. F. (1979). Post stratification. *JRSS A* 142, 33-46.
    Lumley, T. (2010). *Complex Surveys*, section 7.2.
    """
    design = _check_design(design)
    codes, L, T = _margin(groups, totals, design.n)
    W = _weight_columns(design)
    out = np.empty_like(W)
    for j in range(W.shape[1]):
        cell = np.bincount(codes, weights=W[:, j], minlength=L)
        if ((cell <= 0) & (T > 0)).any():
            which = "the full sample" if j == 0 else f"replicate {j}"
            raise ValueError(
                f"groups: a post-stratum with a positive total has zero sample weight in {which}"
            )
        g = np.divide(T, cell, out=np.zeros(L), where=cell > 0)
        out[:, j] = W[:, j] * g[codes]
    w0 = W[:, 0]
    cell0 = np.bincount(codes, weights=w0, minlength=L)
    record = CalibrationRecord(
        blocks=(("codes", codes, L),),
        a=w0,
        w_cal=out[:, 0].copy(),
        a_pinv=np.diag(np.divide(1.0, cell0, out=np.zeros(L), where=cell0 > 0)),
    )
    return _calibrated_design(design, out[:, 0].copy(), out[:, 1:] if design.is_replicate else None, record)


# ---------------------------------------------------------------------------- raking
def _rake_specs(margins, n: int, epsilon: float, max_iter: int) -> list:
    """Checked raking margins as (codes, levels, totals), all adding up to one population size."""
    if not isinstance(margins, (list, tuple)) or not margins:
        raise ValueError("margins must be a non-empty list of (groups, totals) pairs")
    if not (epsilon > 0):
        raise ValueError("epsilon must be positive")
    if int(max_iter) < 1:
        raise ValueError("max_iter must be at least 1")
    specs = []
    for k, m in enumerate(margins):
        try:
            groups, totals = m
        except (TypeError, ValueError) as exc:
            raise ValueError(f"margins[{k}] must be a (groups, totals) pair") from exc
        specs.append(_margin(groups, totals, n, f"margins[{k}] groups"))
    sums = [float(T.sum()) for _, _, T in specs]
    if max(sums) - min(sums) > 1e-9 * max(sums):
        raise ValueError(
            f"margins: the population totals differ between margins ({min(sums):g} vs {max(sums):g}); "
            "every margin must add up to the same population size"
        )
    return specs


def rake(design: Design, margins, epsilon: float = 1e-8, max_iter: int = 100, strict: bool = True) -> Design:
    """Raking (iterative proportional fitting) to several marginal tables (R ``rake``).

    Parameters
    ----------
    design : Design
    margins : sequence of (groups, totals)
        One pair per margin, as for :func:`poststratify`.
    epsilon : float
        Convergence as R ``rake()``: stop after the first sweep that changes no cell of the joint
        table of all margin variables by ``epsilon`` or more weighted units (``epsilon >= 1``),
        or by ``epsilon`` times the total weight (``epsilon < 1``). R's defaults are
        ``epsilon=1, max_iter=10``; ours are tighter.
    max_iter : int
        Maximum number of sweeps.
    strict : bool
        Not converging after ``max_iter`` sweeps raises ValueError (True) or, as R, warns and
        returns the weights of the last sweep (False).

    Returns
    -------
    Design

    Notes
    -----
    Each sweep post-stratifies to each margin in turn; replicate weights are swept alongside
    the full-sample weights with the same number of sweeps (R). Linearisation SEs follow R's
    ``rake()``: with :math:`w^{(m)}` the weights right after margin m's post-stratification in
    the last sweep, ten rounds of :math:`x \\leftarrow x - w^{(m)} \\overline{(x/w^{(m)})}_{cell}`
    over the margins (unweighted cell means, R ``svyrecvar``). When the weights are constant
    within the margin cells this is the regression residual of ``calibrate(method="raking")``;
    otherwise the two differ slightly (apistrat example: 9.396 against 9.3927).

    References
    ----------
    Deming, W. E., Stephan, F. F. (1940). *Ann. Math. Statist.* 11, 427-444.
    Deville, J.-C., Särndal, C.-E., Sautory, O. (1993). *JASA* 88, 1013-1020.
    Lumley, T. (2010). *Complex Surveys*, section 7.3.
    """
    design = _check_design(design)
    specs = _rake_specs(margins, design.n, epsilon, max_iter)
    W = _weight_columns(design)
    out, psw = _ipf(W, specs, float(epsilon), int(max_iter), strict)
    w0 = W[:, 0]
    blocks = tuple(("codes", c, L) for c, L, _ in specs)
    record = CalibrationRecord(
        blocks, w0, out[:, 0].copy(), np.linalg.pinv(_block_gram(blocks, w0)), rake_weights=psw
    )
    record = dataclasses.replace(record, rake_tables=_rake_cross(record))
    return _calibrated_design(design, out[:, 0].copy(), out[:, 1:] if design.is_replicate else None, record)


def rake_weights(weights, margins, epsilon: float = 1e-8, max_iter: int = 100, strict: bool = True) -> np.ndarray:
    """The weights :func:`rake` gives, without the calibration record its variances need.

    For weights that a variance will treat as fixed (or that are raked on a table of cells and
    expanded afterwards): same sweeps and stopping rule as :func:`rake`, same errors.
    """
    w = as_float(weights, "weights", None, allow_nan=False)
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    specs = _rake_specs(margins, w.shape[0], epsilon, max_iter)
    out, _psw = _ipf(w[:, None].copy(), specs, float(epsilon), int(max_iter), strict)
    return out[:, 0].copy()


def _ipf(W: np.ndarray, specs, epsilon: float, max_iter: int, strict: bool):
    """Sweep all weight columns together; R's stopping rule on the full-sample column."""
    W = W.copy()
    for c, L, T in specs:
        cell = np.bincount(c, weights=W[:, 0], minlength=L)
        if ((cell <= 0) & (T > 0)).any():
            raise ValueError("margins: a cell with a positive population total has zero sample weight")
    joint = np.zeros(W.shape[0], dtype=np.int64)
    size = 1
    for c, L, _ in specs:
        joint = joint * L + c
        size *= L
    joint, present = compact_codes(joint, size)
    J = present.shape[0]
    tol = epsilon * float(W[:, 0].sum()) if epsilon < 1 else epsilon
    old = np.bincount(joint, weights=W[:, 0], minlength=J)
    psw: list[np.ndarray] = []
    delta = np.inf
    for _ in range(max_iter):
        psw = []
        for c, L, T in specs:
            for j in range(W.shape[1]):
                cell = np.bincount(c, weights=W[:, j], minlength=L)
                if j > 0 and ((cell <= 0) & (T > 0)).any():
                    raise ValueError(
                        f"margins: replicate {j} has zero weight in a cell with a positive total"
                    )
                W[:, j] *= np.divide(T, cell, out=np.zeros(L), where=cell > 0)[c]
            psw.append(W[:, 0].copy())
        new = np.bincount(joint, weights=W[:, 0], minlength=J)
        delta = float(np.max(np.abs(new - old)))
        old = new
        if delta < tol:
            return W, tuple(psw)
    msg = (
        f"rake did not converge: the joint table still changed by {delta:.3g} in the last of "
        f"max_iter={max_iter} sweeps; raise max_iter or check that the margins are consistent"
    )
    if strict:
        raise ValueError(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return W, tuple(psw)


# ---------------------------------------------------------------------------- calibration
def _calfun(method: str, bounds):
    lo, hi = bounds
    if method == "raking":

        def fm1(u):
            return np.expm1(u)

        def df(u):
            return np.exp(u)

    elif method == "linear":

        def fm1(u):
            return np.clip(u + 1.0, lo, hi) - 1.0

        def df(u):
            return ((u < hi - 1.0) & (u > lo - 1.0)).astype(float)

    else:
        A = (hi - lo) / ((1.0 - lo) * (hi - 1.0))

        def fm1(u):
            e = np.exp(A * u)
            return (lo * (hi - 1.0) + hi * (1.0 - lo) * e) / (hi - 1.0 + (1.0 - lo) * e) - 1.0

        def df(u):
            e = np.exp(A * u)
            return A * e * (1.0 - lo) * (hi - 1.0) * (hi - lo) / (hi - 1.0 + (1.0 - lo) * e) ** 2

    return fm1, df


def _grake(X, ww, s2, T, method, bounds, epsilon, max_iter, j) -> np.ndarray:
    """g-weights solving ``sum_i ww_i g_i x_i = T`` (R ``grake``)."""
    a = ww / s2
    if method == "linear" and bounds == (-np.inf, np.inf):
        gram = (X * a[:, None]).T @ X
        lam = np.linalg.pinv(gram) @ (T - X.T @ ww)
        g = 1.0 + (X @ lam) / s2
        misfit = T - X.T @ (ww * g)
        if np.max(np.abs(misfit) / (1.0 + np.abs(T))) > max(epsilon, 1e-7):
            raise ValueError("calibrate: the totals cannot be reached with these variables (singular system)")
        return g
    fm1, dF = _calfun(method, bounds)
    eta = np.zeros(X.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        xeta = (X @ eta) / s2
        g = 1.0 + fm1(xeta)
        deriv = dF(xeta)
        for _ in range(max_iter):
            gram = (X * (a * deriv)[:, None]).T @ X
            misfit = T - X.T @ (ww * g)
            deta = np.linalg.pinv(gram, rcond=256 * np.finfo(float).eps) @ misfit
            eta = eta + deta
            xeta = (X @ eta) / s2
            g = 1.0 + fm1(xeta)
            deriv = dF(xeta)
            halvings = 0
            while (not np.all(np.isfinite(g)) or not np.all(np.isfinite(deriv))) and halvings < 50:
                deta = deta / 2.0
                eta = eta - deta
                xeta = (X @ eta) / s2
                g = 1.0 + fm1(xeta)
                deriv = dF(xeta)
                halvings += 1
            misfit = T - X.T @ (ww * g)
            if np.all(np.abs(misfit) / (1.0 + np.abs(T)) < epsilon):
                return g
    which = "" if j == 0 else f" (replicate {j})"
    raise ValueError(
        f"calibrate did not converge{which} after max_iter={max_iter} iterations "
        f"(misfit {np.max(np.abs(misfit) / (1 + np.abs(T))):.3g}); widen bounds or raise max_iter"
    )


def calibrate(
    design: Design,
    X,
    totals,
    method: str = "linear",
    bounds=None,
    variance=None,
    epsilon: float = 1e-7,
    max_iter: int = 50,
) -> Design:
    """Calibrate the weights to known population totals of auxiliary variables.

    Parameters
    ----------
    design : Design
    X : array_like, shape (n, p), or list of p arrays
        Calibration variables (include a column of ones to calibrate the population size;
        code categorical variables as indicator columns).
    totals : array_like, shape (p,)
        Population totals of the columns of ``X``.
    method : {"linear", "raking", "logit"}
        Distance function: linear (GREG, chi-square), raking ratio (exponential) or logit
        (bounded).
    bounds : (lower, upper), optional
        Bounds on the g-weights ``w*/w``; required for ``"logit"`` (lower < 1 < upper);
        truncates ``"linear"``.
    variance : array_like, optional
        Heteroscedasticity: length n gives sigma^2_i; length p gives sigma^2 = X @ variance
        (R ``calibrate(variance=)``).
    epsilon, max_iter :
        Convergence: ``|misfit| / (1 + |total|) < epsilon`` for every total; non-convergence
        raises ValueError.

    Returns
    -------
    Design

    Notes
    -----
    Finds :math:`g_i = 1 + F^{-1}(x_i'\\lambda / \\sigma^2_i)` with
    :math:`\\sum w_i g_i x_i = T_x` by Newton's method (R ``grake``). Linearisation SEs use
    :math:`w_i g_i e_i`, :math:`e_i = u_i - x_i' \\hat B`, :math:`\\hat B` the WLS coefficient
    with weights :math:`w_i/\\sigma^2_i`.

    References
    ----------
    Deville, J.-C., Särndal, C.-E. (1992). *JASA* 87, 376-382.
    Lumley, T. (2010). *Complex Surveys*, section 7.4.
    """
    design = _check_design(design)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if isinstance(X, (list, tuple)):
        X = np.column_stack([as_float(c, f"X[{k}]", design.n, allow_nan=False) for k, c in enumerate(X)])
    Xm = np.asarray(X, dtype=float)
    if Xm.ndim == 1:
        Xm = Xm[:, None]
    if Xm.ndim != 2 or Xm.shape[0] != design.n:
        raise ValueError(f"X must have shape (n, p) with n={design.n}, got {Xm.shape}")
    if not np.isfinite(Xm).all():
        raise ValueError("X contains missing or infinite values")
    T = np.atleast_1d(np.asarray(totals, dtype=float))
    if T.ndim != 1 or T.shape[0] != Xm.shape[1]:
        raise ValueError(f"totals must have one value per column of X ({Xm.shape[1]}), got {T.shape}")
    if not np.isfinite(T).all():
        raise ValueError("totals must be finite")
    if bounds is None:
        bnds = (-np.inf, np.inf)
    else:
        try:
            bnds = (float(bounds[0]), float(bounds[1]))
        except (TypeError, IndexError, ValueError) as exc:
            raise ValueError("bounds must be a pair (lower, upper)") from exc
        if not bnds[0] < 1.0 < bnds[1]:
            raise ValueError("bounds must satisfy lower < 1 < upper")
    if method == "logit" and not np.isfinite(bnds).all():
        raise ValueError("bounds: logit calibration needs finite bounds")
    if method == "raking" and bounds is not None:
        raise ValueError("bounds apply to method='linear' or 'logit', not 'raking'")
    if variance is None:
        s2 = np.ones(design.n)
    else:
        v = np.asarray(variance, dtype=float).reshape(-1)
        if v.shape[0] == design.n:
            s2 = v
        elif v.shape[0] == Xm.shape[1]:
            s2 = Xm @ v
        else:
            raise ValueError(f"variance must have length n={design.n} or p={Xm.shape[1]}")
        if not np.all(s2 > 0):
            raise ValueError("variance must give positive sigma^2 for every row")
    W = _weight_columns(design)
    out = np.empty_like(W)
    for j in range(W.shape[1]):
        out[:, j] = W[:, j] * _grake(Xm, W[:, j], s2, T, method, bnds, epsilon, int(max_iter), j)
    w0 = W[:, 0]
    a = w0 / s2
    blocks = tuple(("column", Xm[:, k].copy()) for k in range(Xm.shape[1]))
    record = CalibrationRecord(blocks, a, out[:, 0].copy(), np.linalg.pinv((Xm * a[:, None]).T @ Xm))
    return _calibrated_design(design, out[:, 0].copy(), out[:, 1:] if design.is_replicate else None, record)


# ---------------------------------------------------------------------------- trimming
def _trim_column(w: np.ndarray, lower: float, upper: float, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    w = w.copy()
    active = w > 0
    trimmed = np.zeros(w.shape[0], dtype=bool)
    for _ in range(100):
        outside = active & ((w < lower) | (w > upper))
        if not outside.any():
            break
        trimmed |= outside
        new = np.clip(w, lower, upper)
        excess = float((w - new)[outside].sum())
        inside = active & ~outside
        if not inside.any():
            raise ValueError("trim_weights: every weight is outside the bounds")
        new[inside] += excess / inside.sum()
        w = np.where(active, new, w)
        if not strict:
            break
    return w, trimmed


def trim_weights(design: Design, lower=None, upper=None, strict: bool = False) -> Design:
    """Trim weights to ``[lower, upper]`` and spread the trimmed amount over the other units.

    Parameters
    ----------
    design : Design
    lower, upper : float, optional
        Bounds on the weights (absolute values, as R ``trimWeights``).
    strict : bool
        Repeat until no weight is outside the bounds (redistribution can push weights
        past a bound).

    Returns
    -------
    Design
        ``design.trimmed`` marks the trimmed rows; the total weight is unchanged.

    Notes
    -----
    The trimmed excess :math:`\\sum_{out}(w_i - \\tilde w_i)` is added equally to every
    untrimmed unit with positive weight (R ``trimWeights``: additive redistribution).

    References
    ----------
    Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling weights.
    *Proc. ASA Survey Research Methods Section*, 225-230.
    Lumley, T. (2010). *Complex Surveys*, section 7.5.
    """
    design = _check_design(design)
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lower is None and upper is None:
        raise ValueError("give lower, upper or both")
    if not lo < hi:
        raise ValueError("lower must be smaller than upper")
    if upper is not None and hi <= 0:
        raise ValueError("upper must be positive")
    W = _weight_columns(design)
    out = np.empty_like(W)
    trimmed = None
    for j in range(W.shape[1]):
        out[:, j], tr = _trim_column(W[:, j], lo, hi, strict)
        if j == 0:
            trimmed = tr
    new = design._evolve(w=out[:, 0].copy(), trimmed=trimmed)
    if design.is_replicate:
        rep = design.replicates
        new = new._evolve(rep=ReplicateWeights(out[:, 1:], rep.rscales, rep.scale, rep.mse, rep.kind))
    return new
