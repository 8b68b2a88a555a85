"""One variance engine: influence values -> stratified, clustered, multi-stage variance.

Estimators describe their influence (linearisation) values as an :class:`Influence`, a
sum of *coded terms*: term ``t`` contributes ``values_i * coef[codes_i, :]`` to row ``i``'s
k-vector of influence values. A per-group estimate (``by()``) is one term whose codes are
the groups (identity coefficient), so the n x G influence matrix is never materialised.

References
----------
Lumley, T. (2010). *Complex Surveys*, Wiley, appendix C (``svyrecvar``).
Deville, J.-C., Särndal, C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87, 376-382.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .design import CalibrationRecord, Design, ReplicateWeights, Stage

__all__ = ["Term", "Influence", "taylor_variance", "replicate_variance"]

_DENSE_LIMIT = 20_000_000  # cells of a (units x columns) table before switching to sparse sums


@dataclass(frozen=True, slots=True)
class Term:
    """``values_i * coef[codes_i]``; ``codes=None`` means one level; ``coef=None`` the identity."""

    values: np.ndarray
    codes: np.ndarray | None
    n_levels: int
    coef: np.ndarray | None

    def _apply(self, table: np.ndarray) -> np.ndarray:
        return table if self.coef is None else table @ self.coef


@dataclass(frozen=True, slots=True)
class Influence:
    """Influence values of ``k`` statistics, weights already multiplied in (R's ``x``)."""

    k: int
    terms: tuple[Term, ...]

    @classmethod
    def dense(cls, x: np.ndarray) -> Influence:
        """Influence from an (n,) or (n, k) array."""
        x = x[:, None] if x.ndim == 1 else x
        k = x.shape[1]
        eye = np.eye(k)
        return cls(k, tuple(Term(x[:, j], None, 1, eye[j : j + 1]) for j in range(k)))

    @classmethod
    def grouped(cls, values: np.ndarray, codes: np.ndarray, k: int) -> Influence:
        """Row i contributes ``values_i`` to column ``codes_i`` only."""
        return cls(k, (Term(values, codes, k, None),))

    def unit_totals(self, codes: np.ndarray, n_units: int) -> np.ndarray:
        """(n_units, k) totals of the influence values within sampling units."""
        out = np.zeros((n_units, self.k))
        for t in self.terms:
            if t.codes is None:
                table = np.bincount(codes, weights=t.values, minlength=n_units)[:, None]
            else:
                key = codes * t.n_levels + t.codes
                table = np.bincount(key, weights=t.values, minlength=n_units * t.n_levels)
                table = table.reshape(n_units, t.n_levels)
            out += t._apply(table)
        return out

    def block_moments(self, block: tuple, a: np.ndarray) -> np.ndarray:
        """``sum_i a_i m_i x_i`` for the calibration columns ``m`` of one block."""
        rows = []
        for t in self.terms:
            av = a * t.values
            if block[0] == "codes":
                bcodes, nb = block[1], block[2]
                if t.codes is None:
                    table = np.bincount(bcodes, weights=av, minlength=nb)[:, None]
                else:
                    key = bcodes * t.n_levels + t.codes
                    table = np.bincount(key, weights=av, minlength=nb * t.n_levels).reshape(nb, t.n_levels)
            else:
                col = block[1]
                if t.codes is None:
                    table = np.array([[np.dot(av, col)]])
                else:
                    table = np.bincount(t.codes, weights=av * col, minlength=t.n_levels)[None, :]
            rows.append(t._apply(table))
        return np.sum(rows, axis=0)

    @property
    def is_pure_grouped(self) -> bool:
        return len(self.terms) == 1 and self.terms[0].coef is None and self.terms[0].codes is not None


def calibration_adjusted(design: Design, infl: Influence) -> Influence:
    """Replace influence values by g-weighted WLS residuals on each calibration's variables.

    Notes
    -----
    For a calibration with variables ``M``, regression weights ``a`` (original weight /
    sigma^2) and calibrated weights ``w_c``: ``z = x / w_c``,
    ``b = (M' A M)^+ M' A z`` and ``x <- w_c (z - M b)`` (R ``svyrecvar``, ``greg_calibration``).
    """
    terms = list(infl.terms)
    for rec in design.calibrations:
        cur = Influence(infl.k, tuple(terms))
        ratio = np.divide(rec.a, rec.w_cal, out=np.zeros_like(rec.a), where=rec.w_cal > 0)
        mom = np.concatenate([cur.block_moments(b, ratio) for b in rec.blocks], axis=0)
        coef = rec.a_pinv @ mom
        start = 0
        for b in rec.blocks:
            if b[0] == "codes":
                terms.append(Term(-rec.w_cal, b[1], b[2], coef[start : start + b[2]]))
                start += b[2]
            else:
                terms.append(Term(-rec.w_cal * b[1], None, 1, coef[start : start + 1]))
                start += 1
    return Influence(infl.k, tuple(terms))


def _stage_scale(st: Stage, lonely: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit variance multiplier, lonely-unit mask and 'ok stratum' mask for ``average``."""
    nh = st.n_h[st.stratum].astype(float)
    lonely_unit = (nh == 1) & (st.omf > 1e-7)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(nh > 1, st.mult * st.omf * nh / (nh - 1.0), st.mult * st.omf)
    if lonely in ("remove", "certainty", "average"):
        c = np.where(lonely_unit, 0.0, c)
    ok_stratum = np.ones(st.n_strata, dtype=bool)
    ok_stratum[st.stratum[lonely_unit]] = False
    return c, lonely_unit, ok_stratum


def _stage_variance_dense(T: np.ndarray, st: Stage, lonely: str) -> np.ndarray:
    c, lonely_unit, ok = _stage_scale(st, lonely)
    sums = np.zeros((st.n_strata, T.shape[1]))
    _rowsum_into(sums, st.stratum, T)
    centre = sums / st.n_h[:, None]
    centre = centre[st.stratum]
    if lonely == "adjust" and lonely_unit.any():
        centre[lonely_unit] = T.mean(axis=0)
    dev = T - centre
    v = (c[:, None] * dev * dev).sum(axis=0)
    if lonely == "average" and not ok.all():
        v = v * st.n_strata / ok.sum()
    return v


def _rowsum_into(out: np.ndarray, idx: np.ndarray, T: np.ndarray) -> None:
    order = np.argsort(idx, kind="stable")
    sidx = idx[order]
    starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
    out[sidx[starts]] = np.add.reduceat(T[order], starts, axis=0)


def _stage_variance_sparse(
    values: np.ndarray, codes: np.ndarray, k: int, st: Stage, lonely: str
) -> np.ndarray:
    """Same as the dense form for a pure grouped influence, touching only non-empty cells."""
    c, lonely_unit, ok = _stage_scale(st, lonely)
    key = st.codes.astype(np.int64) * k + codes
    cells, inv = np.unique(key, return_inverse=True)
    S = np.bincount(inv.reshape(-1), weights=values)
    unit = cells // k
    col = cells % k
    h = st.stratum[unit]
    skey = h * k + col
    scells, sinv = np.unique(skey, return_inverse=True)
    sinv = sinv.reshape(-1)
    A = np.bincount(sinv, weights=S)  # sum of unit totals per (stratum, column)
    B = np.bincount(sinv, weights=c[unit] * S)
    C = np.bincount(st.stratum, weights=c, minlength=st.n_strata)
    sh = scells // k
    zbar = A / st.n_h[sh]
    part = np.bincount(col, weights=c[unit] * S * S, minlength=k)
    part -= np.bincount(scells % k, weights=2 * zbar * B - zbar * zbar * C[sh], minlength=k)
    if lonely == "adjust" and lonely_unit.any():
        raise ValueError(
            "lonely_psu='adjust' is not supported for this many groups; use 'remove' or 'average'"
        )
    if lonely == "average" and not ok.all():
        part = part * st.n_strata / ok.sum()
    return np.maximum(part, 0.0)


def taylor_variance(design: Design, infl: Influence) -> np.ndarray:
    """Linearisation variance of ``k`` statistics with influence ``infl`` (R ``svyrecvar``).

    Returns
    -------
    ndarray, shape (k,)
    """
    infl = calibration_adjusted(design, infl)
    total = np.zeros(infl.k)
    for st in design._var_stages:
        if infl.is_pure_grouped and st.n_units * infl.k > _DENSE_LIMIT:
            t = infl.terms[0]
            total += _stage_variance_sparse(t.values, t.codes, infl.k, st, design.lonely_psu)
            continue
        if st.n_units * infl.k > 5 * _DENSE_LIMIT:
            raise ValueError(
                f"problem too large for the variance engine ({st.n_units} units x {infl.k} statistics); "
                "estimate fewer groups at once"
            )
        T = infl.unit_totals(st.codes, st.n_units)
        total += _stage_variance_dense(T, st, design.lonely_psu)
    return total


def replicate_variance(theta: np.ndarray, reps: np.ndarray, rep: ReplicateWeights) -> np.ndarray:
    """Replicate variance ``scale * sum_r rscales_r (theta_r - centre)^2``.

    ``centre`` is the full-sample estimate when ``rep.mse`` else the replicate mean.
    ``theta`` has shape (k,), ``reps`` (R, k).
    """
    centre = theta if rep.mse else reps.mean(axis=0)
    dev = reps - centre
    return rep.scale * (rep.rscales[:, None] * dev * dev).sum(axis=0)


__all__ += ["calibration_adjusted", "CalibrationRecord"]
