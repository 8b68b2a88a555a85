"""Satisfaction indices as design-based estimates (SIPAS items, pillars, overall; mean scores;
expectation shares), with their full covariance per domain.

Every measure of an index table is a linear combination of *item statistics* (domain ratio
means, each item with its own denominator), so one set of item influence values gives the
standard errors of the items, the pillars and the overall index, and the covariance needed
for contrasts, in one vectorised pass through :func:`analysis.variance.grouped_covariance`.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, sections 2.4, 3.4.
Korn, E. L., Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. *Survey Methodology* 24, 193-201.
Parker, J. D. et al. (2017). National Center for Health Statistics data presentation standards
for proportions. *Vital Health Stat* 2(175).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import sparse

from ._arrays import as_labels, factorize
from .design import Design
from .estimators import _check_design, missing_labels
from .results import IndexTable
from .variance import compact_codes, grouped_covariance, grouped_difference_covariance

__all__ = ["sipas_index", "mean_scores", "expectation_shares", "GroupCodes"]


class GroupCodes:
    """Groups factorised once: sorted ``levels`` and integer ``codes`` (reuse across calls).

    Parameters
    ----------
    labels : array_like, shape (n,)
        Group label of each row; missing labels (None, NaN, "") raise ValueError.
    """

    __slots__ = ("levels", "codes")

    def __init__(self, labels) -> None:
        arr = as_labels(labels, "groups")
        if missing_labels(arr).any():
            raise ValueError("groups contains missing values")
        self.levels, self.codes = factorize(arr)

    def __len__(self) -> int:
        return int(self.levels.shape[0])


def _groups(groups, n: int) -> tuple[np.ndarray | None, np.ndarray, int]:
    if groups is None:
        return None, np.zeros(n, dtype=np.intp), 1
    gc = groups if isinstance(groups, GroupCodes) else GroupCodes(groups)
    if gc.codes.shape[0] != n:
        raise ValueError(f"groups has length {gc.codes.shape[0]}, expected {n}")
    return gc.levels, gc.codes, len(gc)


def _answer_matrix(answers, items, n: int, name: str = "answers") -> tuple[np.ndarray, list[str]]:
    if isinstance(answers, Mapping):
        names = list(answers.keys()) if items is None else [str(i) for i in items]
        missing = [i for i in names if i not in answers]
        if missing:
            raise ValueError(f"items: {missing[:5]} not found in {name}")
        cols = [np.asarray(answers[i]) for i in names]
        if any(c.ndim != 1 or c.shape[0] != n for c in cols):
            raise ValueError(f"{name}: every column must be one-dimensional of length {n}")
        A = np.column_stack(cols) if cols else np.empty((n, 0))
    else:
        A = np.asarray(answers)
        if items is None:
            raise ValueError("items is required when answers is an array (one name per column)")
        names = [str(i) for i in items]
        if A.ndim != 2:
            raise ValueError(f"{name} must be a 2-D array (respondents x items), got shape {A.shape}")
        if A.shape[0] != n:
            raise ValueError(f"{name} has {A.shape[0]} rows, the design has {n}")
        if A.shape[1] != len(names):
            raise ValueError(f"items has {len(names)} names but {name} has {A.shape[1]} columns")
    if len(set(names)) != len(names):
        raise ValueError("items contains duplicated names")
    return A, names


def _codes_scale(A: np.ndarray, missing, name: str, values: bool = True):
    """Substantive mask and (if ``values``) float answers, 0 where not substantive, of a 1..5 matrix."""
    if A.dtype.kind == "f":
        nan = np.isnan(A)
        miss = nan | np.equal(A, missing)
        ok = miss | np.isin(A, (1.0, 2.0, 3.0, 4.0, 5.0))
    elif A.dtype.kind in ("i", "u") and A.dtype.itemsize == 1:  # one-byte codes: 256-entry tables, one gather each
        u = A.view(np.uint8)
        valid = np.zeros(256, dtype=bool)
        valid[1:6] = True
        substantive = valid.copy()
        if isinstance(missing, (int, np.integer)) and -128 <= int(missing) <= 255:
            valid[int(missing) & 0xFF] = True
            substantive[int(missing) & 0xFF] = False
        ok = valid[u]
        miss = ~substantive[u]
    elif A.dtype.kind in ("i", "u", "b"):
        miss = np.equal(A, missing)
        ok = miss | ((A >= 1) & (A <= 5))
    else:
        raise ValueError(f"{name} must hold integer answer codes 1..5 (or {missing!r} for no answer)")
    if not ok.all():
        r, c = np.argwhere(~ok)[0]
        raise ValueError(
            f"{name}: value {A[r, c]!r} at row {r}, column {c} is neither 1..5 nor missing={missing!r}"
        )
    subst = ~miss
    if not values:
        return subst, None
    return subst, np.where(subst, A, 0).astype(float)


def _coefficients(item_names, items_by_pillar) -> tuple[np.ndarray, list[str], list[str], list[int]]:
    """Column index of every item in the table, coefficient matrix C (k x K), codes, kinds."""
    if not isinstance(items_by_pillar, Mapping) or not items_by_pillar:
        raise ValueError("items_by_pillar must be a non-empty mapping {pillar: [item, ...]}")
    pos = {name: j for j, name in enumerate(item_names)}
    table_items: list[str] = []
    for pillar, its in items_by_pillar.items():
        if isinstance(its, str) or not hasattr(its, "__iter__"):
            raise ValueError(f"items_by_pillar[{pillar!r}] must be a list of item names")
        its = [str(i) for i in its]
        if not its:
            raise ValueError(f"items_by_pillar[{pillar!r}] is empty")
        unknown = [i for i in its if i not in pos]
        if unknown:
            raise ValueError(f"items_by_pillar[{pillar!r}] names items not in answers: {unknown[:5]}")
        for i in its:
            if i in table_items:
                raise ValueError(f"items_by_pillar: item {i!r} appears in more than one pillar")
            table_items.append(i)
    k = len(table_items)
    P = len(items_by_pillar)
    C = np.zeros((k, k + P + 1))
    C[:, :k] = np.eye(k)
    index = {name: j for j, name in enumerate(table_items)}
    for p, its in enumerate(items_by_pillar.values()):
        for i in its:
            C[index[str(i)], k + p] = 1.0 / len(its)
    C[:, -1] = C[:, k : k + P].sum(axis=1) / P
    codes = table_items + [str(p) for p in items_by_pillar] + ["sipas"]
    kinds = ["item"] * k + ["pillar"] * P + ["sipas"]
    return C, codes, kinds, [pos[i] for i in table_items]


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _domain_df(design: Design, codes: np.ndarray, G: int, present: np.ndarray) -> np.ndarray:
    """PSUs holding each (group, measure) cell minus the strata holding them (first stage)."""
    st = design.stages[0]
    U = st.n_units
    cell_of_row, cell_keys = compact_codes(codes.astype(np.int64) * U + st.codes, G * U)
    m = cell_keys.shape[0]
    cg = cell_keys // U
    ch = st.stratum[cell_keys % U]
    K = present.shape[1]
    df = np.zeros((G, K), dtype=np.int64)
    for j in range(K):
        has = np.bincount(cell_of_row, weights=present[:, j], minlength=m) > 0
        n_psu = np.bincount(cg[has], minlength=G)
        hg = np.unique(cg[has].astype(np.int64) * st.n_strata + ch[has])
        n_str = np.bincount(hg // st.n_strata, minlength=G)
        df[:, j] = n_psu - n_str
    return np.maximum(df, 1)


def _ratio_table(
    Y: np.ndarray,
    S: np.ndarray,
    design: Design,
    codes: np.ndarray,
    G: int,
    C: np.ndarray,
    present: np.ndarray,
    *,
    empty: str,
    domain_df: bool,
    what: str,
    item_names: list[str],
    group_levels,
    compare_total: bool = False,
):
    """Estimates and covariance of the measures ``C' theta`` where theta_gj = sum wY / sum wS."""
    if empty not in ("raise", "nan"):
        raise ValueError(f"empty must be 'raise' or 'nan', got {empty!r}")
    n, k = S.shape
    w = design.weights
    N = np.empty((G, k))
    T = np.empty((G, k))
    for j in range(k):
        N[:, j] = np.bincount(codes, weights=w * S[:, j], minlength=G)
        T[:, j] = np.bincount(codes, weights=w * Y[:, j], minlength=G)
    bad = N <= 0
    if bad.any() and empty == "raise":
        g, j = np.argwhere(bad)[0]
        where = "" if group_levels is None else f" in group {_plain(group_levels[g])!r}"
        raise ValueError(
            f"answers: item {item_names[j]!r} has no {what}{where} "
            f"({int(bad.sum())} empty cell(s)); pass empty='nan' to report them as missing"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(bad, 0.0, T / np.where(bad, 1.0, N))
        Ninv = np.where(bad, 0.0, 1.0 / np.where(bad, 1.0, N))
    V = np.empty((n, k))
    for j in range(k):  # column by column: no n x k temporaries
        V[:, j] = w * (Y[:, j] - theta[codes, j] * S[:, j]) * Ninv[codes, j]
    if design.is_replicate:
        cov_items = _replicate_cov(Y, S, design, codes, G, theta)
    else:
        cov_items = grouped_covariance(design, V, codes, G)
    est = theta @ C
    cov = np.einsum("jK,gjl,lL->gKL", C, cov_items, C, optimize=True)
    # cells depending on an empty item are undefined
    undefined = (bad.astype(float) @ (C != 0).astype(float)) > 0
    K = C.shape[1]
    diag = np.maximum(np.einsum("gkk->gk", cov), 0.0)
    se = np.sqrt(diag)
    pos = (w > 0).astype(float)
    n_cell = np.zeros((G, K), dtype=np.int64)
    Nk = np.zeros((G, K))
    for j in range(K):
        pj = present[:, j].astype(float) * pos
        n_cell[:, j] = np.rint(np.bincount(codes, weights=pj, minlength=G)).astype(np.int64)
        Nk[:, j] = np.bincount(codes, weights=pj * w, minlength=G)
    # SRS (with replacement) variance of each measure: N_k/(n_k-1) sum_i u_ik^2 / w_i
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(G + 1))
    vsrs = np.zeros((G, K))
    winv = np.divide(1.0, w, out=np.zeros_like(w), where=w > 0)
    for g in range(G):
        rows = order[bounds[g] : bounds[g + 1]]
        Vg = V[rows]
        Qg = (Vg * winv[rows, None]).T @ Vg
        vsrs[g] = np.einsum("jK,jl,lK->K", C, Qg, C)
    with np.errstate(divide="ignore", invalid="ignore"):
        vsrs = vsrs * Nk / (n_cell - 1.0)
        deff = np.where(vsrs > 0, diag / vsrs, np.nan)
    if domain_df:
        df = _domain_df(design, codes, G, present)
    else:
        df = np.full((G, K), max(design.df, 1), dtype=np.int64)
    if undefined.any():
        est = np.where(undefined, np.nan, est)
        se = np.where(undefined, np.nan, se)
        deff = np.where(undefined, np.nan, deff)
        cov = np.where(undefined[:, :, None] | undefined[:, None, :], np.nan, cov)
    total = diff_cov = None
    if compare_total:
        if design.is_replicate:
            raise ValueError("compare_total is available for linearisation (Taylor) designs only")
        Nt = np.array([float(w @ S[:, j]) for j in range(k)])
        if np.any(Nt <= 0):
            raise ValueError("answers: an item has no substantive answer at all")
        th_t = np.array([float(w @ Y[:, j]) for j in range(k)]) / Nt
        Vt = np.empty((n, k))
        for j in range(k):
            Vt[:, j] = w * (Y[:, j] - th_t[j] * S[:, j]) / Nt[j]
        dc = grouped_difference_covariance(design, V, codes, G, Vt)
        total = th_t @ C
        diff_cov = np.einsum("jK,gjl,lL->gKL", C, dc, C, optimize=True)
        if undefined.any():
            diff_cov = np.where(undefined[:, :, None] | undefined[:, None, :], np.nan, diff_cov)
    return est, se, cov, deff, n_cell, df, total, diff_cov


def _jackknife_cov(Y, S, design: Design, codes, G, theta) -> np.ndarray:
    """(G, k, k) jackknife covariance of the item ratios, touching only the replicates that move them.

    Replicate r (unit u of stratum h) leaves every group absent from stratum h unchanged (and,
    for JK1, every group absent from unit u: the factor cancels in a ratio), so deviations are
    computed on the (replicate, group) pairs that can be non-zero only.
    """
    rep = design.replicates
    js = rep.structure
    w = design.weights
    k = S.shape[1]
    U, H, R = js.n_units, js.n_strata, js.n_replicates
    wY, wS = w[:, None] * Y, w[:, None] * S
    cell_of_row, cell_keys = compact_codes(js.unit.astype(np.int64) * G + codes, U * G)
    m = cell_keys.shape[0]
    Yc = np.stack([np.bincount(cell_of_row, weights=wY[:, j], minlength=m) for j in range(k)], axis=1)
    Nc = np.stack([np.bincount(cell_of_row, weights=wS[:, j], minlength=m) for j in range(k)], axis=1)
    cu, cg = cell_keys // G, cell_keys % G
    Yg = np.stack([np.bincount(cg, weights=Yc[:, j], minlength=G) for j in range(k)], axis=1)
    Ng = np.stack([np.bincount(cg, weights=Nc[:, j], minlength=G) for j in range(k)], axis=1)
    rep_of_unit = np.full(U, -1, dtype=np.intp)
    rep_of_unit[js.rep_unit] = np.arange(R)
    if H == 1:  # JK1: pairs = the cells of replicated units
        keep = rep_of_unit[cu] >= 0
        pr, pg = rep_of_unit[cu[keep]], cg[keep]
        num, den = Yg[pg] - Yc[keep], Ng[pg] - Nc[keep]
    else:  # JKn: every group present in the replicate's stratum
        ch = js.unit_stratum[cu]
        hg_of_cell, hg_keys = compact_codes(ch.astype(np.int64) * G + cg, H * G)
        nh = hg_keys.shape[0]
        Yhg = np.stack([np.bincount(hg_of_cell, weights=Yc[:, j], minlength=nh) for j in range(k)], axis=1)
        Nhg = np.stack([np.bincount(hg_of_cell, weights=Nc[:, j], minlength=nh) for j in range(k)], axis=1)
        hh, hgg = hg_keys // G, hg_keys % G
        order = np.argsort(js.rep_stratum, kind="stable")
        starts = np.searchsorted(js.rep_stratum[order], np.arange(H + 1))
        count = starts[hh + 1] - starts[hh]
        pair_hg = np.repeat(np.arange(nh), count)
        offset = np.arange(pair_hg.shape[0]) - np.repeat(np.cumsum(count) - count, count)
        pr = order[starts[hh][pair_hg] + offset]
        pg = hgg[pair_hg]
        # the replicate's own cell, when its unit has rows in group g
        lookup = dict(zip((cu.astype(np.int64) * G + cg).tolist(), range(m), strict=True))
        own = np.array(
            [lookup.get(int(js.rep_unit[r]) * G + int(g), -1) for r, g in zip(pr, pg, strict=True)]
        )
        Yu = np.where(own[:, None] >= 0, Yc[np.maximum(own, 0)], 0.0)
        Nu = np.where(own[:, None] >= 0, Nc[np.maximum(own, 0)], 0.0)
        f = js.factor[pr][:, None]
        num = Yg[pg] + (f - 1.0) * Yhg[pair_hg] - f * Yu
        den = Ng[pg] + (f - 1.0) * Nhg[pair_hg] - f * Nu
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = num / den - theta[pg]
    if not np.isfinite(dev).all():
        raise ValueError("groups: a group has zero weight in some replicate; its replicate SE is undefined")
    rs = rep.rscales[pr]
    order = np.argsort(pg, kind="stable")
    bounds = np.searchsorted(pg[order], np.arange(G + 1))
    cov = np.zeros((G, k, k))
    a = np.zeros((G, k))
    for g in range(G):
        idx = order[bounds[g] : bounds[g + 1]]
        dv = dev[idx]
        cov[g] = (dv * rs[idx, None]).T @ dv
        a[g] = rs[idx] @ dv
    if not rep.mse:  # centre on the replicate mean: theta + mean deviation (unmoved replicates: 0)
        delta = np.zeros((G, k))
        np.add.at(delta, pg, dev)
        delta /= R
        total_rs = rep.rscales.sum()
        cov = cov - np.einsum("gk,gl->gkl", delta, a) - np.einsum("gk,gl->gkl", a, delta)
        cov = cov + total_rs * np.einsum("gk,gl->gkl", delta, delta)
    return rep.scale * cov


def _replicate_cov(Y, S, design: Design, codes, G, theta) -> np.ndarray:
    """(G, k, k) replicate covariance of the item ratios (replicates in chunks)."""
    rep = design.replicates
    if rep.weights is None:
        return _jackknife_cov(Y, S, design, codes, G, theta)
    w = design.weights
    k = S.shape[1]
    R = rep.structure.n_replicates if rep.weights is None else rep.weights.shape[1]
    if rep.weights is not None:
        onehot = sparse.csr_matrix((np.ones(design.n), (codes, np.arange(design.n))), shape=(G, design.n))
    cov = np.zeros((G, k, k))
    reps_all = []
    chunk = max(1, 20_000_000 // max(1, G * k))
    for start in range(0, R, chunk):
        sl = slice(start, min(R, start + chunk))
        m = sl.stop - sl.start
        reps = np.empty((m, G, k))
        for j in range(k):
            if rep.weights is None:
                num = rep.structure.group_totals(w * Y[:, j], codes, G, sl)
                den = rep.structure.group_totals(w * S[:, j], codes, G, sl)
            else:
                Wc = rep.weights[:, sl]
                num = (onehot @ (Wc * Y[:, j : j + 1])).T
                den = (onehot @ (Wc * S[:, j : j + 1])).T
            with np.errstate(divide="ignore", invalid="ignore"):
                reps[:, :, j] = num / den
        if not np.isfinite(reps).all():
            raise ValueError(
                "groups: a group has zero weight in some replicate; its replicate SE is undefined"
            )
        if rep.mse:
            dev = reps - theta[None]
            cov += np.einsum("r,rgk,rgl->gkl", rep.rscales[sl], dev, dev)
        else:
            reps_all.append(reps)
    if not rep.mse:
        reps = np.concatenate(reps_all, axis=0)
        dev = reps - reps.mean(axis=0, keepdims=True)
        cov = np.einsum("r,rgk,rgl->gkl", rep.rscales, dev, dev)
    return rep.scale * cov


def _present_from(S: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Row has a substantive answer to at least one item of measure K: (n, K) bool."""
    return (S.astype(np.float32) @ (C != 0).astype(np.float32)) > 0


def sipas_index(
    answers,
    design: Design,
    items_by_pillar,
    *,
    items=None,
    groups=None,
    satisfied=(4, 5),
    missing=0,
    domain_df: bool = False,
    empty: str = "raise",
    compare_total: bool = False,
) -> IndexTable:
    """SIPAS satisfaction indices: items, pillars and the overall index, per domain.

    Parameters
    ----------
    answers : array_like (n, k) of int, or mapping {item: array (n,)}
        Answer codes 1..5 (substantive) or ``missing`` (no opinion / skipped). NaN in a
        float array also counts as missing.
    design : Design
    items_by_pillar : mapping {pillar: [item, ...]}
        Pillars in insertion order; every item named must be a column of ``answers``.
    items : sequence of str, optional
        Names of the columns of ``answers`` (required for an array).
    groups : array_like (n,) or GroupCodes, optional
        Domain of each row; one table row per level (sorted), each estimated as a domain of
        the full design (zero weight outside, strata and PSUs kept, as R ``svyby``).
    satisfied : sequence of int
        Answer codes counted as satisfied.
    missing : int
        Code of a non-substantive answer.
    domain_df : bool
        Degrees of freedom per cell = first-stage PSUs holding the cell minus the strata
        holding them (the peer library ``svy``, and R's ``degf()`` of a subset design, hence
        ``svyciprop`` on a subset); otherwise the design df (R ``svyby``). Either way cells get
        at least 1.
    empty : {"raise", "nan"}
        An item with no substantive answer in a domain raises ValueError, or gives NaN for
        the item and every pillar/overall index that uses it.
    compare_total : bool
        Also estimate the whole population and the covariance of each group minus it
        (``IndexTable.versus_total()``: a unit against the province, accounting for the unit
        being part of the province). Linearisation designs only.

    Returns
    -------
    IndexTable
        Measure codes: the items (pillar order), the pillars, then ``"sipas"``.

    Notes
    -----
    Item index in domain g: :math:`\\hat p_{gj} = \\sum_i w_i s_{ij} y_{ij} / \\sum_i w_i s_{ij}`
    with :math:`s_{ij}` = substantive answer, :math:`y_{ij}` = answer in ``satisfied``.
    Pillar :math:`P = |P|^{-1} \\sum_{j \\in P} \\hat p_j`; SIPAS = mean of the pillars. The
    influence of item j is :math:`w_i 1\\{g_i=g\\} s_{ij}(y_{ij} - \\hat p_{gj})/\\hat N_{gj}`;
    pillars and SIPAS use the same linear combination of these, so
    :math:`\\mathrm{Cov} = C' \\Sigma_{items} C` (R: ``svycontrast`` of the item ``svyratio``\\ s,
    or ``svyby`` of the combined linearised variable). Design effects are against simple
    random sampling with replacement of the same number of respondents.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, sections 2.4 and 3.4.
    Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex
    surveys. *International Statistical Review* 51, 279-292.
    """
    design = _check_design(design)
    A, names = _answer_matrix(answers, items, design.n)
    C, codes_k, kinds, cols = _coefficients(names, items_by_pillar)
    sat = np.atleast_1d(np.asarray(satisfied, dtype=float))
    if sat.ndim != 1 or sat.size == 0 or not np.isin(sat, (1, 2, 3, 4, 5)).all():
        raise ValueError(f"satisfied must be answer codes within 1..5, got {satisfied!r}")
    sub = A[:, cols]
    subst, _ = _codes_scale(sub, missing, "answers", values=False)
    S = subst  # booleans: cast one column at a time below (no n x k float copies)
    Y = subst & np.isin(sub, sat)
    levels, gcodes, G = _groups(groups, design.n)
    present = _present_from(subst, C)
    est, se, cov, deff, n_cell, df, total, diff_cov = _ratio_table(
        Y,
        S,
        design,
        gcodes,
        G,
        C,
        present,
        empty=empty,
        domain_df=domain_df,
        what="substantive answer",
        item_names=codes_k,
        group_levels=levels,
        compare_total=compare_total,
    )
    return IndexTable(levels, tuple(codes_k), tuple(kinds), est, se, deff, n_cell, df, cov, total, diff_cov)


def mean_scores(
    answers,
    design: Design,
    *,
    items=None,
    groups=None,
    missing=0,
    domain_df: bool = False,
    empty: str = "raise",
    compare_total: bool = False,
) -> IndexTable:
    """Mean answer (1..5) of each item among its substantive answers, per domain.

    Parameters
    ----------
    answers, design, items, groups, missing, domain_df, empty, compare_total :
        As for :func:`sipas_index`.

    Returns
    -------
    IndexTable
        One measure per item, kind ``"mean"``.

    Notes
    -----
    :math:`\\bar x_{gj} = \\sum_i w_i s_{ij} x_{ij} / \\sum_i w_i s_{ij}` (a domain ratio mean,
    R ``svyby(~x, ~g, subset(d, !is.na(x)), svymean)``), influence
    :math:`w_i 1\\{g_i=g\\} s_{ij}(x_{ij} - \\bar x_{gj})/\\hat N_{gj}`.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, section 3.4.
    """
    design = _check_design(design)
    A, names = _answer_matrix(answers, items, design.n)
    subst, Af = _codes_scale(A, missing, "answers")
    k = len(names)
    C = np.eye(k)
    levels, gcodes, G = _groups(groups, design.n)
    est, se, cov, deff, n_cell, df, total, diff_cov = _ratio_table(
        Af,
        subst.astype(float),
        design,
        gcodes,
        G,
        C,
        subst,
        empty=empty,
        domain_df=domain_df,
        what="substantive answer",
        item_names=names,
        group_levels=levels,
        compare_total=compare_total,
    )
    return IndexTable(levels, tuple(names), ("mean",) * k, est, se, deff, n_cell, df, cov, total, diff_cov)


def expectation_shares(
    chosen, design: Design, *, areas, groups=None, domain_df: bool = False, compare_total: bool = False
) -> IndexTable:
    """Share of respondents choosing each improvement area ("expectation"), per domain.

    Parameters
    ----------
    chosen : array_like (n, A) of bool
        Row i chose area a. Every respondent is in every denominator.
    design : Design
    areas : sequence of str
        Names of the A columns.
    groups : array_like (n,) or GroupCodes, optional
    domain_df, compare_total : bool
        As for :func:`sipas_index`.

    Returns
    -------
    IndexTable
        One measure per area, kind ``"expectation"``.

    Notes
    -----
    :math:`\\hat p_{ga} = \\sum_i w_i 1\\{g_i=g\\} c_{ia} / \\sum_i w_i 1\\{g_i=g\\}` (R
    ``svyby(~chosen, ~g, d, svymean)``).

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, section 3.4.
    """
    design = _check_design(design)
    X = np.asarray(chosen)
    names = [str(a) for a in areas]
    if X.ndim != 2 or X.shape[0] != design.n:
        raise ValueError(f"chosen must be a 2-D array with {design.n} rows, got shape {X.shape}")
    if X.shape[1] != len(names):
        raise ValueError(f"areas has {len(names)} names but chosen has {X.shape[1]} columns")
    if len(set(names)) != len(names):
        raise ValueError("areas contains duplicated names")
    if X.dtype != bool:
        if X.dtype.kind not in ("i", "u", "f") or not np.isin(X, (0, 1)).all():
            raise ValueError("chosen must be boolean (or 0/1)")
        X = X.astype(bool)
    k = len(names)
    S = np.ones(X.shape, dtype=bool)
    levels, gcodes, G = _groups(groups, design.n)
    est, se, cov, deff, n_cell, df, total, diff_cov = _ratio_table(
        X,
        S,
        design,
        gcodes,
        G,
        np.eye(k),
        np.ones(X.shape, dtype=bool),
        empty="raise",
        domain_df=domain_df,
        what="respondent with positive weight",
        item_names=names,
        group_levels=levels,
        compare_total=compare_total,
    )
    return IndexTable(
        levels, tuple(names), ("expectation",) * k, est, se, deff, n_cell, df, cov, total, diff_cov
    )


# ---------------------------------------------------------------------------------------------
# Several domain families at once (province, units, fields, ...): one pass over the rows
# ---------------------------------------------------------------------------------------------


class DomainFamilies:
    """A design and several domain families, prepared once for many index tables.

    Parameters
    ----------
    design : Design
    by : mapping {name: groups or None}
        The groups argument of each family (array_like or :class:`GroupCodes`); None is the
        whole population.

    Pass it as ``by=`` to :func:`sipas_index_by`, :func:`mean_scores_by` and
    :func:`expectation_shares_by` (with the same ``design``) to cross-classify the rows only once.
    """

    __slots__ = ("design", "by", "families", "_cells")

    def __init__(self, design: Design, by) -> None:
        self.design = _check_design(design)
        if not isinstance(by, Mapping) or not by:
            raise ValueError("by must be a non-empty mapping {name: groups or None}")
        self.by = {str(name): g for name, g in by.items()}
        self.families = {name: _groups(g, self.design.n) for name, g in self.by.items()}
        self._cells = None

    def cells(self):
        """Rows cross-classified by stratum and every family (:func:`analysis.moments.cells_of`)."""
        if self._cells is None:
            from .moments import cells_of

            self._cells = (cells_of(self.design, {name: (codes, G) for name, (_lv, codes, G) in self.families.items()}), self.design.df)
        return self._cells


def _families(by, design: Design) -> DomainFamilies:
    if isinstance(by, DomainFamilies):
        if by.design is not design:
            raise ValueError("by: these DomainFamilies were prepared for another design")
        return by
    return DomainFamilies(design, by)


def _tables_by(states, y_of, s_of, fams: DomainFamilies, C, codes_k, kinds, *, empty: str, what: str):
    """IndexTables of every family from the cell moments (:mod:`analysis.moments`)."""
    from .moments import ratio_tables

    if empty not in ("raise", "nan"):
        raise ValueError(f"empty must be 'raise' or 'nan', got {empty!r}")
    cells, df = fams.cells()
    tables = ratio_tables(states, y_of, s_of, fams.design.weights, cells, C, df)
    out = {}
    for name, (levels, _codes, _G) in fams.families.items():
        t = tables[name]
        if t.bad.any() and empty == "raise":
            g, j = np.argwhere(t.bad)[0]
            where = "" if levels is None else f" in group {_plain(levels[g])!r}"
            raise ValueError(
                f"answers: item {codes_k[j]!r} has no {what}{where} "
                f"({int(t.bad.sum())} empty cell(s)); pass empty='nan' to report them as missing"
            )
        out[name] = IndexTable(levels, tuple(codes_k), tuple(kinds), t.est, t.se, t.deff, t.n_cell, t.df, t.cov)
    return out


def _satisfaction_states(sub: np.ndarray, subst: np.ndarray, sat: np.ndarray, missing) -> np.ndarray:
    """0 no substantive answer, 1 not satisfied, 2 satisfied (int8) of checked 1..5 answer codes.

    One-byte codes go through a 256-entry table (one gather, no ``isin`` over the matrix)."""
    if sub.dtype.kind in ("i", "u") and sub.dtype.itemsize == 1:
        lut = np.zeros(256, dtype=np.int8)
        lut[1:6] = 1
        lut[sat.astype(np.int64)] = 2
        if isinstance(missing, (int, np.integer)) and -128 <= int(missing) <= 255:
            lut[int(missing) & 0xFF] = 0
        return lut[sub.view(np.uint8)]
    return subst.astype(np.int8) + (subst & np.isin(sub, sat)).astype(np.int8)


def _use_moments(design: Design, b: int, k: int) -> bool:
    from .moments import MAX_PATTERNS, moments_apply

    return moments_apply(design) and b**k <= MAX_PATTERNS


def sipas_index_by(answers, design: Design, items_by_pillar, *, by, items=None, satisfied=(4, 5), missing=0, empty: str = "raise") -> dict[str, IndexTable]:
    """:func:`sipas_index` for several domain families at once: ``by`` maps a name to the groups
    argument of that family (None: the whole population).  Returns {name: IndexTable}.

    For designs whose rows are their own first-stage units (R ``ids = ~1``; strata and fpc allowed,
    no calibration or replicates) the tables come from one pass over the rows: the moments of the
    answer patterns per (stratum x cell) (:mod:`analysis.moments`); other designs call
    :func:`sipas_index` once per family.  Same numbers either way.
    """
    design = _check_design(design)
    fams = _families(by, design)
    A, names = _answer_matrix(answers, items, design.n)
    C, codes_k, kinds, cols = _coefficients(names, items_by_pillar)
    sat = np.atleast_1d(np.asarray(satisfied, dtype=float))
    if sat.ndim != 1 or sat.size == 0 or not np.isin(sat, (1, 2, 3, 4, 5)).all():
        raise ValueError(f"satisfied must be answer codes within 1..5, got {satisfied!r}")
    if not _use_moments(design, 3, len(cols)):
        return {
            name: sipas_index(answers, design, items_by_pillar, items=items, groups=g, satisfied=satisfied, missing=missing, empty=empty)
            for name, g in fams.by.items()
        }
    sub = A[:, cols]
    subst, _ = _codes_scale(sub, missing, "answers", values=False)
    states = _satisfaction_states(sub, subst, sat, missing)
    return _tables_by(states, np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0]), fams, C, codes_k, kinds,
                      empty=empty, what="substantive answer")


def mean_scores_by(
    answers, design: Design, *, by, items=None, missing=0, empty: str = "raise", covariance: str = "full"
) -> dict[str, IndexTable]:
    """:func:`mean_scores` for several domain families at once (see :func:`sipas_index_by`).

    ``covariance="diagonal"`` leaves the covariances between items out (NaN in ``cov``): each item
    is then its own small table (six answer values), which is much cheaper than the joint
    patterns of all items when only each item's SE is wanted.
    """
    if covariance not in ("full", "diagonal"):
        raise ValueError(f"covariance must be 'full' or 'diagonal', got {covariance!r}")
    design = _check_design(design)
    fams = _families(by, design)
    A, names = _answer_matrix(answers, items, design.n)
    subst, Af = _codes_scale(A, missing, "answers", values=A.dtype.kind == "f")
    # 0 = no substantive answer, else the answer 1..5 (integer codes: no float copy of the matrix)
    states_all = Af.astype(np.int8) if Af is not None else np.where(subst, A, 0).astype(np.int8)
    k = len(names)
    y_of, s_of = np.arange(6, dtype=float), np.array([0.0, 1, 1, 1, 1, 1])
    if covariance == "full" or not _use_moments(design, 6, 1):
        if covariance == "full" and _use_moments(design, 6, k):
            states = states_all
            return _tables_by(states, y_of, s_of, fams, np.eye(k), names, ("mean",) * k, empty=empty, what="substantive answer")
        out = {name: mean_scores(answers, design, items=items, groups=g, missing=missing, empty=empty) for name, g in fams.by.items()}
        return out if covariance == "full" else {name: _diagonal_only(t) for name, t in out.items()}
    per_item = [
        _tables_by(np.ascontiguousarray(states_all[:, j : j + 1]), y_of, s_of, fams, np.eye(1), [names[j]], ("mean",), empty=empty,
                   what="substantive answer")
        for j in range(k)
    ]
    out = {}
    for name, (levels, _codes, G) in fams.families.items():
        parts = [p[name] for p in per_item]
        cov = np.full((G, k, k), np.nan)
        cov[:, np.arange(k), np.arange(k)] = np.concatenate([p.cov[:, :, 0] for p in parts], axis=1)
        cols = {attr: np.concatenate([getattr(p, attr) for p in parts], axis=1) for attr in ("estimate", "se", "deff", "n", "df")}
        out[name] = IndexTable(levels, tuple(names), ("mean",) * k, cols["estimate"], cols["se"], cols["deff"], cols["n"], cols["df"], cov)
    return out


def _diagonal_only(t: IndexTable) -> IndexTable:
    k = len(t.codes)
    cov = np.full(t.cov.shape, np.nan)
    cov[:, np.arange(k), np.arange(k)] = t.cov[:, np.arange(k), np.arange(k)]
    return IndexTable(t.groups, t.codes, t.kinds, t.estimate, t.se, t.deff, t.n, t.df, cov)


def expectation_shares_by(chosen, design: Design, *, areas, by) -> dict[str, IndexTable]:
    """:func:`expectation_shares` for several domain families at once (see :func:`sipas_index_by`)."""
    design = _check_design(design)
    fams = _families(by, design)
    X = np.asarray(chosen)
    names = [str(a) for a in areas]
    if X.ndim != 2 or X.shape[0] != design.n or X.shape[1] != len(names) or X.dtype != bool or not _use_moments(design, 2, len(names)):
        return {name: expectation_shares(chosen, design, areas=areas, groups=g) for name, g in fams.by.items()}
    if len(set(names)) != len(names):
        raise ValueError("areas contains duplicated names")
    k = len(names)
    return _tables_by(X.astype(np.int8), np.array([0.0, 1.0]), np.array([1.0, 1.0]), fams, np.eye(k), names,
                      ("expectation",) * k, empty="raise", what="respondent with positive weight")


__all__ += ["DomainFamilies", "sipas_index_by", "mean_scores_by", "expectation_shares_by"]
