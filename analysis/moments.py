"""Ratio tables for several domain families at once, from the moments of answer patterns in cells.

For a linearisation design in which every row is its own first-stage unit (R ``ids = ~1``), with
or without strata and fpc, and with no calibration or replicate weights, the covariance of domain
ratio means depends on the data only through a few sums.  Write ``x_i = (Y_i, S_i)`` (numerators
and denominators of the k item ratios) and, for domain g, ``theta_gj = T_gj / N_gj`` with
``T = sum w Y``, ``N = sum w S``.  The influence of row i is ``v_i = w_i D_g' x_i`` with
``D_g = [diag(1/N_g); -diag(theta_g/N_g)]``, so with ``c_h`` the stratum's variance multiplier
(``(1 - f_h) n_h / (n_h - 1)``)

.. math:: \\Sigma_g = D_g' \\Big[\\sum_h c_h \\big(M^{(2)}_{gh} - M^{(1)}_{gh} M^{(1)\\prime}_{gh} / n_h\\big)\\Big] D_g,

``M2_gh = sum_{i in g, h} w_i^2 x_i x_i'`` and ``M1_gh = sum_{i in g, h} w_i x_i`` (the usual
``sum_h c_h sum_i (z_hi - zbar_h)(z_hi - zbar_h)'``, Lumley 2010 section 2.4 / R ``svyrecvar``,
expanded).  When the answers take few values, x takes few patterns, so these moments are sums
over (cell, pattern) pairs: rows are counted once per (stratum x domain-cell x pattern), and every
domain family (province, unit, field, ...) is then a cheap sum over cells.  The results equal
those of :func:`analysis.sipas_index` and friends (``tests/analysis/test_index_families.py``).

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, sections 2.4, 3.4.
Woodruff, R. S. (1971). A simple method for approximating the variance of a complicated
estimate. *JASA* 66, 411-414.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .design import Design
from .variance import compact_codes

#: answer patterns (b ** k) above which the cell-moment form is not used
MAX_PATTERNS = 200_000


def moments_apply(design: Design) -> bool:
    """Whether ``design`` is one for which the cell-moment form is exact (see the module notes)."""
    if design.is_replicate or design.calibrations or design._pps is not None:  # noqa: SLF001
        return False
    if len(design._var_stages) != 1:  # noqa: SLF001
        return False
    st = design.stages[0]
    if st.n_units != design.n:
        return False
    if design.lonely_psu == "adjust":
        lonely = (st.n_h[st.stratum] == 1) & (st.omf > 1e-7)
        if lonely.any():
            return False
    return True


@dataclass(frozen=True, slots=True)
class Cells:
    """Rows cross-classified by stratum and every domain family: ``fine`` codes each row's cell."""

    fine: np.ndarray
    m: int
    stratum: np.ndarray  # (m,) stratum of each cell
    groups: dict  # family -> (m,) group code of each cell
    sizes: dict  # family -> number of groups
    c_h: np.ndarray  # (H,) variance multiplier per stratum
    n_h: np.ndarray  # (H,) units per stratum
    scale: float  # lonely_psu="average": H / strata with more than one unit
    weights: np.ndarray  # the design's weights, and (floats) their squares and w > 0, shared by every table
    w2: np.ndarray
    wpos: np.ndarray


def _stratum_scale(st, lonely: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`analysis.variance._stage_scale` per stratum: (H,) variance multipliers and 'ok stratum' mask.

    The multiplier is constant within a stratum (the fpc is given per stratum, and a lonely unit is
    alone in its stratum), so it is computed from one unit of each stratum instead of every row."""
    H = st.n_strata
    U = st.stratum.shape[0]
    first = np.zeros(H, dtype=np.intp)
    first[st.stratum[::-1]] = np.arange(U - 1, -1, -1, dtype=np.intp)  # the first unit of each stratum
    nh = st.n_h.astype(float)
    omf, mult = np.asarray(st.omf)[first], np.asarray(st.mult)[first]
    lonely_h = (nh == 1) & (omf > 1e-7)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(nh > 1, mult * omf * nh / (nh - 1.0), mult * omf)
    if lonely in ("remove", "certainty", "average"):
        c = np.where(lonely_h, 0.0, c)
    return np.where(nh > 0, c, 0.0), ~lonely_h


def cells_of(design: Design, families: dict[str, tuple[np.ndarray, int]]) -> Cells:
    """The cells of ``design`` for ``families`` (name -> (group code of each row, number of groups))."""
    st = design.stages[0]
    c_h, ok = _stratum_scale(st, design.lonely_psu)
    H = st.n_strata
    row_stratum = st.stratum[st.codes]
    n = row_stratum.shape[0]
    fine = row_stratum.astype(np.int64)
    m = H
    # one mixed-radix key (stratum, family 1, family 2, ...) built in place, compacted only when the next
    # family would take it past what one bincount can code: the cells come in the same (lexicographic)
    # order as compacting after every family, with one or two passes instead of one per family
    roomy = 4 * n + 1_000_000
    for codes, G in families.values():
        if m * int(G) > roomy:
            fine, keys = compact_codes(fine, m)
            fine, m = fine.astype(np.int64, copy=False), keys.shape[0]
        fine *= int(G)
        fine += np.asarray(codes, dtype=np.int64)
        m *= int(G)
    fine, keys = compact_codes(fine, m)
    m = keys.shape[0]
    rep = np.empty(m, dtype=np.intp)
    rep[fine] = np.arange(fine.shape[0])
    groups = {name: np.asarray(codes, dtype=np.intp)[rep] for name, (codes, _G) in families.items()}
    scale = float(H / ok.sum()) if design.lonely_psu == "average" and not ok.all() else 1.0
    w = np.asarray(design.weights, dtype=float)
    return Cells(fine.astype(np.intp), m, row_stratum[rep], groups, {k: int(G) for k, (_c, G) in families.items()},
                 c_h, st.n_h.astype(float), scale, design.weights, w * w, (w > 0).astype(float))


@dataclass(frozen=True, slots=True)
class FamilyTable:
    """What :func:`analysis.indices._ratio_table` returns, for one domain family."""

    est: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    deff: np.ndarray
    n_cell: np.ndarray
    df: np.ndarray
    bad: np.ndarray  # (G, k) items with no denominator in the group


def ratio_tables(
    states: np.ndarray,
    y_of: np.ndarray,
    s_of: np.ndarray,
    weights: np.ndarray,
    cells: Cells,
    C: np.ndarray,
    design_df: int,
) -> dict[str, FamilyTable]:
    """Ratio tables ``C' theta`` of every family of ``cells``.

    ``states`` (n, k) small integers in ``0..b-1`` (b = len(y_of)); item j of row i has numerator
    ``y_of[states[i, j]]`` and denominator ``s_of[states[i, j]]``.
    """
    n, k = states.shape
    b = int(y_of.shape[0])
    B = b**k
    if weights is cells.weights:  # the design's own weights: their squares and positivity are computed once
        w, w2, wpos = np.asarray(cells.weights, dtype=float), cells.w2, cells.wpos
    else:
        w = np.asarray(weights, dtype=float)
        w2, wpos = w * w, (w > 0).astype(float)
    key = cells.fine.astype(np.int64, copy=True)
    key *= B
    for j in range(k):  # the answer pattern, one column at a time (no n x k int64 copy)
        key += states[:, j].astype(np.int64) * (b**j) if j else states[:, j]
    size = cells.m * B
    if size <= 4 * n + 1_000_000:  # few (cell, pattern) pairs: sums over all of them, the present ones kept
        keys = np.flatnonzero(np.bincount(key, minlength=size))
        sw = np.bincount(key, weights=w, minlength=size)[keys]
        sw2 = np.bincount(key, weights=w2, minlength=size)[keys]
        cnt = np.bincount(key, weights=wpos, minlength=size)[keys]
    else:
        combo, keys = compact_codes(key, size)
        U = keys.shape[0]
        sw = np.bincount(combo, weights=w, minlength=U)
        sw2 = np.bincount(combo, weights=w2, minlength=U)
        cnt = np.bincount(combo, weights=wpos, minlength=U)
    del key
    cell_u = keys // B
    pidx, pkeys = compact_codes(keys % B, B)
    P = pkeys.shape[0]
    pstates = (pkeys[:, None] // (b ** np.arange(k, dtype=np.int64))[None, :]) % b
    X = np.concatenate([y_of[pstates], s_of[pstates]], axis=1)  # (P, 2k)
    XX = (X[:, :, None] * X[:, None, :]).reshape(P, -1)  # (P, 4k^2)
    present = ((s_of[pstates] > 0).astype(float) @ (C != 0).astype(float)) > 0  # (P, K)
    # the answers' range per (cell, item): where a group's substantive answers (positive weight) are all equal its
    # influence values are exactly zero, which the expanded moments give only up to rounding
    yu, su = y_of[pstates][pidx], (s_of[pstates] > 0)[pidx] & (cnt > 0)[:, None]
    starts = np.flatnonzero(np.r_[True, cell_u[1:] != cell_u[:-1]])
    cmin = np.minimum.reduceat(np.where(su, yu, np.inf), starts, axis=0)
    cmax = np.maximum.reduceat(np.where(su, yu, -np.inf), starts, axis=0)

    def by_cell(values: np.ndarray) -> sparse.csr_matrix:
        return sparse.csr_matrix((values, (cell_u, pidx)), shape=(cells.m, P))

    Aw, Aw2, Acnt = by_cell(sw), by_cell(sw2), by_cell(cnt)
    M1 = Aw @ X  # (m, 2k)
    Mw = Aw @ XX  # (m, 4k^2)
    M2 = Aw2 @ XX
    ncell = Acnt @ present.astype(float)  # (m, K)
    nk = Aw @ present.astype(float)
    H = cells.c_h.shape[0]
    K = C.shape[1]
    out: dict[str, FamilyTable] = {}
    for name, gcell in cells.groups.items():
        G = cells.sizes[name]
        hg, hg_keys = compact_codes(gcell.astype(np.int64) * H + cells.stratum, G * H)
        nhg = hg_keys.shape[0]
        to_hg = sparse.csr_matrix((np.ones(cells.m), (hg, np.arange(cells.m))), shape=(nhg, cells.m))
        to_g = sparse.csr_matrix((np.ones(cells.m), (gcell, np.arange(cells.m))), shape=(G, cells.m))
        h_of = hg_keys % H
        g_of = hg_keys // H
        M1h = to_hg @ M1
        M2h = (to_hg @ M2).reshape(nhg, 2 * k, 2 * k)
        ch = cells.c_h[h_of]
        with np.errstate(divide="ignore", invalid="ignore"):
            Qh = ch[:, None, None] * (M2h - M1h[:, :, None] * M1h[:, None, :] / cells.n_h[h_of][:, None, None])
        Q = np.zeros((G, 2 * k, 2 * k))
        np.add.at(Q, g_of, Qh)
        Q *= cells.scale
        M1g = to_g @ M1
        Mwg = (to_g @ Mw).reshape(G, 2 * k, 2 * k)
        T, N = M1g[:, :k], M1g[:, k:]
        bad = N <= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = np.where(bad, 0.0, T / np.where(bad, 1.0, N))
            Ninv = np.where(bad, 0.0, 1.0 / np.where(bad, 1.0, N))
        D = np.zeros((G, 2 * k, k))
        idx = np.arange(k)
        D[:, idx, idx] = Ninv
        D[:, k + idx, idx] = -theta * Ninv
        cov_items = np.einsum("gaj,gab,gbl->gjl", D, Q, D, optimize=True)
        gmin, gmax = np.full((G, k), np.inf), np.full((G, k), -np.inf)
        np.minimum.at(gmin, gcell, cmin)
        np.maximum.at(gmax, gcell, cmax)
        flat = gmin == gmax  # (G, k): one answer value only
        qsrs = np.einsum("gaj,gab,gbl->gjl", D, Mwg, D, optimize=True)
        for mat in (cov_items, qsrs):
            mat[flat[:, :, None] | flat[:, None, :]] = 0.0
        est = theta @ C
        cov = np.einsum("jK,gjl,lL->gKL", C, cov_items, C, optimize=True)
        diag = np.maximum(np.einsum("gkk->gk", cov), 0.0)
        se = np.sqrt(diag)
        n_cell = np.rint(to_g @ ncell).astype(np.int64)
        Nk = to_g @ nk
        vsrs = np.einsum("jK,gjl,lK->gK", C, qsrs, C, optimize=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            vsrs = vsrs * Nk / (n_cell - 1.0)
            deff = np.where(vsrs > 0, diag / vsrs, np.nan)
        undefined = (bad.astype(float) @ (C != 0).astype(float)) > 0
        if undefined.any():
            est = np.where(undefined, np.nan, est)
            se = np.where(undefined, np.nan, se)
            deff = np.where(undefined, np.nan, deff)
            cov = np.where(undefined[:, :, None] | undefined[:, None, :], np.nan, cov)
        df = np.full((G, K), max(design_df, 1), dtype=np.int64)
        out[name] = FamilyTable(est, se, cov, deff, n_cell, df, bad)
    return out


__all__ = ["moments_apply", "cells_of", "ratio_tables", "Cells", "FamilyTable", "MAX_PATTERNS"]
