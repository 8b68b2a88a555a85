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


RAKE_ROUNDS = 10  # R svyrecvar: projections on the raking margins are iterated 10 times


def _safe_inverse(x: np.ndarray) -> np.ndarray:
    return np.divide(1.0, x, out=np.zeros_like(x, dtype=float), where=x > 0)


def _rake_coefficients(u: list, cross: list, counts: list) -> list:
    """Cell coefficients ``B_m`` of R's iterated raking projections.

    ``u[m]`` (L_m, c) are the cell sums of ``x / w_m`` of the influence before the
    projections, ``cross[m][j] = M_m' diag(w_j / w_m) M_j`` and ``counts[m]`` the number of rows
    in each cell of margin m. Round r, margin m: ``x <- x - w_m M_m b`` with
    ``b = (cell sums of x / w_m) / counts`` (R ``x - psw * ave(x / psw, margin)``).
    """
    B = [np.zeros_like(um) for um in u]
    inv = [_safe_inverse(c.astype(float))[:, None] for c in counts]
    for _ in range(RAKE_ROUNDS):
        for m in range(len(u)):
            cur = u[m] - sum(cross[m][j] @ B[j] for j in range(len(u)))
            B[m] = B[m] + cur * inv[m]
    return B


def _rake_cross(rec: CalibrationRecord) -> tuple[list, list, list]:
    if rec.rake_tables is not None:
        return rec.rake_tables
    psw = rec.rake_weights
    inv = [_safe_inverse(w) for w in psw]
    cross = [
        [_block_cross([bm], [bj], psw[j] * inv[m]) for j, bj in enumerate(rec.blocks)]
        for m, bm in enumerate(rec.blocks)
    ]
    counts = [
        np.bincount(b[1], weights=(w > 0).astype(float), minlength=b[2])
        for b, w in zip(rec.blocks, psw, strict=True)
    ]
    return inv, cross, counts


def calibration_adjusted(design: Design, infl: Influence) -> Influence:
    """Replace influence values by g-weighted WLS residuals on each calibration's variables.

    Notes
    -----
    For a calibration with variables ``M``, regression weights ``a`` (original weight /
    sigma^2) and calibrated weights ``w_c``: ``z = x / w_c``,
    ``b = (M' A M)^+ M' A z`` and ``x <- w_c (z - M b)`` (R ``svyrecvar``, ``greg_calibration``).
    A raking record (R ``rake()``) instead applies ``x <- x - w_m ave(x / w_m | margin m)``
    for every margin m, ten rounds (R ``svyrecvar``, class ``"raking"``).
    """
    terms = list(infl.terms)
    for rec in design.calibrations:
        cur = Influence(infl.k, tuple(terms))
        if rec.rake_weights is not None:
            inv, cross, counts = _rake_cross(rec)
            u = [cur.block_moments(b, inv_m) for b, inv_m in zip(rec.blocks, inv, strict=True)]
            B = _rake_coefficients(u, cross, counts)
            for b, w_m, B_m in zip(rec.blocks, rec.rake_weights, B, strict=True):
                terms.append(Term(-w_m, b[1], b[2], B_m))
            continue
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
    if out.shape[0] == 1:
        out[0] = T.sum(axis=0)
        return
    if T.shape[1] <= 64:  # a bincount per column: no sort
        for j in range(T.shape[1]):
            out[:, j] = np.bincount(idx, weights=T[:, j], minlength=out.shape[0])
        return
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


# ----------------------------------------------------------------------------------------------
# Grouped statistics with a K x K covariance per group (index tables, by() on calibrated designs)
# ----------------------------------------------------------------------------------------------
_GROUPED_DENSE_CELLS = 4_000_000  # units x groups x statistics before the sparse (cell) form
_ROW_CELLS_MIN = 5_000_000  # unclustered designs: rows sorted by group instead of coding (unit, group)


def compact_codes(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense 0..m-1 codes of the integer ``key`` (values < ``size``) and the sorted present keys.

    Uses one ``bincount`` when ``size`` is small against the data (no sort), else ``np.unique``.
    """
    key = np.asarray(key, dtype=np.int64)
    if size <= 4 * key.shape[0] + 1_000_000:
        present = np.flatnonzero(np.bincount(key, minlength=size))
        lookup = np.full(size, -1, dtype=np.intp)
        lookup[present] = np.arange(present.shape[0], dtype=np.intp)
        return lookup[key], present
    keys, inv = np.unique(key, return_inverse=True)
    return inv.reshape(-1).astype(np.intp, copy=False), keys


def _column_sums(codes: np.ndarray, m: int, V: np.ndarray) -> np.ndarray:
    out = np.empty((m, V.shape[1]))
    for j in range(V.shape[1]):
        out[:, j] = np.bincount(codes, weights=V[:, j], minlength=m)
    return out


def _block_cross(blocks1, blocks2, a) -> np.ndarray:
    """``M1' diag(a) M2`` for two sets of calibration blocks (``a``: one array, or one per block of M2)."""
    a_list = list(a) if isinstance(a, (list, tuple)) else [a] * len(blocks2)
    s1 = [b[2] if b[0] == "codes" else 1 for b in blocks1]
    s2 = [b[2] if b[0] == "codes" else 1 for b in blocks2]
    out = np.zeros((sum(s1), sum(s2)))
    st1, st2 = np.cumsum([0] + s1), np.cumsum([0] + s2)
    for i, bi in enumerate(blocks1):
        for j, bj in enumerate(blocks2):
            a = a_list[j]
            if bi[0] == "codes" and bj[0] == "codes":
                key = bi[1].astype(np.int64) * bj[2] + bj[1]
                tab = np.bincount(key, weights=a, minlength=bi[2] * bj[2]).reshape(bi[2], bj[2])
            elif bi[0] == "codes":
                tab = np.bincount(bi[1], weights=a * bj[1], minlength=bi[2])[:, None]
            elif bj[0] == "codes":
                tab = np.bincount(bj[1], weights=a * bi[1], minlength=bj[2])[None, :]
            else:
                tab = np.array([[np.dot(a * bi[1], bj[1])]])
            out[st1[i] : st1[i + 1], st2[j] : st2[j + 1]] = tab
    return out


def _grouped_moments(blocks, a: np.ndarray, V: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
    """``sum_i a_i m_i V_i 1{g_i = g}`` for every calibration column: shape (p, G, k)."""
    k = V.shape[1]
    parts = []
    for b in blocks:
        if b[0] == "codes":
            key = b[1].astype(np.int64) * G + codes
            parts.append(_column_sums(key, b[2] * G, a[:, None] * V).reshape(b[2], G, k))
        else:
            parts.append(_column_sums(codes, G, (a * b[1])[:, None] * V).reshape(1, G, k))
    return np.concatenate(parts, axis=0)


def _calibration_terms(design: Design, V: np.ndarray, codes: np.ndarray, G: int):
    """Coefficients of the calibration residual terms, oldest calibration first.

    The adjusted influence of statistic (g, j) at row i is
    ``V_ij 1{g_i=g} - sum_r sum_b cw_rb,i m_rb,i' B_rb[:, g, j]`` with ``cw`` the record's column
    weights (``w_cal``, or the margin weights of a raking record). Returns a list of
    ``(record, B_r)`` with ``B_r`` of shape (p_r, G, k).
    """
    k = V.shape[1]
    out: list[tuple[CalibrationRecord, np.ndarray]] = []

    def previous(blocks, a_row):
        total = 0.0
        for prev, Bp in out:
            cw = [a_row * w for w in prev.column_weights()]
            total = total + _block_cross(blocks, prev.blocks, cw) @ Bp.reshape(-1, G * k)
        return total

    for rec in design.calibrations:
        if rec.rake_weights is not None:
            inv, cross, counts = _rake_cross(rec)
            u = [
                _grouped_moments([b], inv_m, V, codes, G).reshape(-1, G * k) - previous([b], inv_m)
                for b, inv_m in zip(rec.blocks, inv, strict=True)
            ]
            B = np.concatenate(_rake_coefficients(u, cross, counts), axis=0)
            out.append((rec, B.reshape(-1, G, k)))
            continue
        ratio = np.divide(rec.a, rec.w_cal, out=np.zeros_like(rec.a), where=rec.w_cal > 0)
        mom = _grouped_moments(rec.blocks, ratio, V, codes, G).reshape(-1, G * k) - previous(
            rec.blocks, ratio
        )
        out.append((rec, (rec.a_pinv @ mom).reshape(-1, G, k)))
    return out


def _correction_unit_totals(terms, st: Stage) -> np.ndarray:
    """(U, q) unit totals of the calibration columns ``cw * m`` of every record."""
    U = st.n_units
    cols = []
    for rec, _ in terms:
        for b, cw in zip(rec.blocks, rec.column_weights(), strict=True):
            if b[0] == "codes":
                key = st.codes.astype(np.int64) * b[2] + b[1]
                cols.append(np.bincount(key, weights=cw, minlength=U * b[2]).reshape(U, b[2]))
            else:
                cols.append(np.bincount(st.codes, weights=cw * b[1], minlength=U)[:, None])
    return np.concatenate(cols, axis=1)


def _stage_grouped_dense(st, V, codes, G, terms, lonely) -> np.ndarray:
    c, lonely_unit, ok = _stage_scale(st, lonely)
    U, k = st.n_units, V.shape[1]
    T = _column_sums(st.codes.astype(np.int64) * G + codes, U * G, V).reshape(U, G * k)
    if terms:
        Rt = _correction_unit_totals(terms, st)
        B = np.concatenate([Bt for _, Bt in terms], axis=0).reshape(-1, G * k)
        T = T - Rt @ B
    sums = np.zeros((st.n_strata, G * k))
    _rowsum_into(sums, st.stratum, T)
    centre = (sums / st.n_h[:, None])[st.stratum]
    if lonely == "adjust" and lonely_unit.any():
        centre[lonely_unit] = T.mean(axis=0)
    dev = (T - centre).reshape(U, G, k)
    cov = np.einsum("u,ugk,ugl->gkl", c, dev, dev, optimize=True)
    if lonely == "average" and not ok.all():
        cov = cov * st.n_strata / ok.sum()
    return cov


def _group_bounds(sorted_groups: np.ndarray, G: int) -> np.ndarray:
    return np.searchsorted(sorted_groups, np.arange(G + 1))


def _stage_grouped_sparse(st, V, codes, G, terms, lonely) -> np.ndarray:
    """Same as the dense form, touching only the non-empty (unit, group) cells."""
    c, lonely_unit, ok = _stage_scale(st, lonely)
    if lonely == "adjust" and lonely_unit.any():
        raise ValueError(
            "lonely_psu='adjust' is not supported for this many groups; use 'remove' or 'average'"
        )
    U, H, k = st.n_units, st.n_strata, V.shape[1]
    n = codes.shape[0]
    if n == U and _ROW_CELLS_MIN < G * U and np.array_equal(st.codes, np.arange(n)):
        # every row is its own unit: the cells are the rows, ordered by group (stable radix sort)
        small = codes.astype(np.int16 if G < 2**15 else np.int32)
        order = np.argsort(small, kind="stable")
        cell_of_row = np.empty(n, dtype=np.intp)
        cell_of_row[order] = np.arange(n, dtype=np.intp)
        cell_keys = codes[order].astype(np.int64) * U + order
    else:
        cell_of_row, cell_keys = compact_codes(codes.astype(np.int64) * U + st.codes, G * U)
    m = cell_keys.shape[0]
    cg, cu = cell_keys // U, cell_keys % U
    ch = st.stratum[cu]
    S = _column_sums(cell_of_row, m, V)
    cS = c[cu][:, None] * S
    hg_of_cell, hg_keys = compact_codes(cg * H + ch, G * H)
    A = _column_sums(hg_of_cell, hg_keys.shape[0], S)
    Bc = _column_sums(hg_of_cell, hg_keys.shape[0], cS)
    hg_g, hg_h = hg_keys // H, hg_keys % H
    Abar = A / st.n_h[hg_h][:, None]
    Ch = np.bincount(st.stratum, weights=c, minlength=H)[hg_h]
    cb, hb = _group_bounds(cg, G), _group_bounds(hg_g, G)
    cov = np.zeros((G, k, k))
    if terms:
        Rt = _correction_unit_totals(terms, st)
        rsum = np.zeros((H, Rt.shape[1]))
        _rowsum_into(rsum, st.stratum, Rt)
        DR = Rt - (rsum / st.n_h[:, None])[st.stratum]
        E = np.zeros_like(rsum)
        _rowsum_into(E, st.stratum, c[:, None] * DR)
        Q = (DR * c[:, None]).T @ DR
        B = np.concatenate([Bt for _, Bt in terms], axis=0)  # (q, G, k)
        cDR = (c[:, None] * DR)[cu]
    for g in range(G):
        s, e = cb[g], cb[g + 1]
        hs, he = hb[g], hb[g + 1]
        X, Y = Abar[hs:he], Bc[hs:he]
        cg_cov = S[s:e].T @ cS[s:e] - (X.T @ Y + Y.T @ X - (X * Ch[hs:he, None]).T @ X)
        if terms:
            Xg = cDR[s:e].T @ S[s:e] - E[hg_h[hs:he]].T @ X
            Bg = B[:, g, :]
            cg_cov = cg_cov - Xg.T @ Bg - Bg.T @ Xg + Bg.T @ Q @ Bg
        cov[g] = cg_cov
    if lonely == "average" and not ok.all():
        cov = cov * H / ok.sum()
    return cov


def grouped_covariance(design: Design, values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Linearisation covariance of ``k`` statistics in each of ``n_groups`` domains.

    Parameters
    ----------
    design : Design
        A linearisation (Taylor) design; calibrations are taken into account.
    values : ndarray, shape (n, k)
        Influence values (weights multiplied in) of the k statistics of row i's group;
        the influence of statistic (g, j) is ``values[i, j] * 1{codes_i = g}``.
    codes : ndarray of int, shape (n,)
        Group of each row, 0..G-1.
    n_groups : int

    Returns
    -------
    ndarray, shape (G, k, k)
        Covariance matrix of the k statistics within each group.

    Notes
    -----
    Per stage, ``sum_h sum_{u in h} c_u (z_u - zbar_h)(z_u - zbar_h)'`` over the unit totals
    ``z_u`` of the (calibration-adjusted) influence values, as :func:`taylor_variance`, but
    never for pairs of groups. Calibration residuals are low rank
    (``z = S - R_t B`` with ``R_t`` the unit totals of ``w_cal m``), so the work is one pass
    over the non-empty (unit, group) cells plus (q x k) algebra per group; no n x G matrix.
    """
    V = np.asarray(values, dtype=float)
    V = V[:, None] if V.ndim == 1 else V
    codes = np.asarray(codes, dtype=np.intp)
    G = int(n_groups)
    terms = _calibration_terms(design, V, codes, G)
    cov = np.zeros((G, V.shape[1], V.shape[1]))
    for st in design._var_stages:
        if st.n_units * G * V.shape[1] <= _GROUPED_DENSE_CELLS:
            cov += _stage_grouped_dense(st, V, codes, G, terms, design.lonely_psu)
        else:
            cov += _stage_grouped_sparse(st, V, codes, G, terms, design.lonely_psu)
    return cov


class _DenseColumns:
    """A pseudo calibration record whose residual columns are given influence values."""

    def __init__(self, X: np.ndarray) -> None:
        self.blocks = tuple(("column", X[:, j]) for j in range(X.shape[1]))
        self._ones = np.ones(X.shape[0])

    def column_weights(self) -> tuple:
        return tuple(self._ones for _ in self.blocks)


def grouped_difference_covariance(
    design: Design, values: np.ndarray, codes: np.ndarray, n_groups: int, total_values: np.ndarray
) -> np.ndarray:
    """(G, k, k) covariance of ``theta_g - theta_total`` (a domain against the whole population).

    Notes
    -----
    The influence of the difference is ``V_i 1{g_i = g} - V^tot_i`` (both calibration-adjusted):
    the total's influence enters as extra low-rank columns with coefficient I for every group, so
    the same cell-wise pass as :func:`grouped_covariance` applies.
    """
    V = np.asarray(values, dtype=float)
    Vt = np.asarray(total_values, dtype=float)
    codes = np.asarray(codes, dtype=np.intp)
    G, k = int(n_groups), V.shape[1]
    terms = _calibration_terms(design, V, codes, G)
    tot = _calibration_terms(design, Vt, np.zeros(codes.shape[0], dtype=np.intp), 1)
    diff_terms = [(rec, B - Bt) for (rec, B), (_, Bt) in zip(terms, tot, strict=True)]
    diff_terms.append((_DenseColumns(Vt), np.repeat(np.eye(k)[:, None, :], G, axis=1)))
    cov = np.zeros((G, k, k))
    for st in design._var_stages:
        if st.n_units * G * k <= _GROUPED_DENSE_CELLS:
            cov += _stage_grouped_dense(st, V, codes, G, diff_terms, design.lonely_psu)
        else:
            cov += _stage_grouped_sparse(st, V, codes, G, diff_terms, design.lonely_psu)
    return cov


__all__ += ["grouped_covariance", "grouped_difference_covariance", "compact_codes"]
