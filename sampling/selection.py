"""Equal-probability, stratified and two-stage selection, reserve samples.

Every function takes a ``seed`` (anything ``numpy.random.default_rng`` accepts, or a
Generator) and is reproducible: the same inputs and seed give the same sample. Work is
vectorised: one stable sort groups the frame by stratum, then each stratum draws its
positions with ``Generator.choice`` (a loop over strata, never over rows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._checks import as_count, as_labels, as_positive_sizes, group_rows, make_rng
from .allocation import allocate
from .pps import _sort_order, pps_brewer, pps_systematic
from .results import Selection, StratifiedSample

__all__ = [
    "srs",
    "systematic",
    "stratified",
    "two_stage",
    "reserve",
    "draw_stratified_sample",
]


def _frame_size(N: Any) -> int:
    return as_count(N, "N", minimum=1)


def _systematic_positions(N: int, n: int, u: float) -> np.ndarray:
    # Fractional interval k = N/n: positions floor((u + j) * N / n), u in [0, 1).
    if n == 0:
        return np.zeros(0, np.int64)
    pos = np.floor((u + np.arange(n)) * (N / n)).astype(np.int64)
    return np.minimum(pos, N - 1)


def srs(N: Any, n: Any, seed: Any, replace: bool = False) -> Selection:
    r"""Simple random sample of ``n`` of the rows ``0 .. N-1``.

    Parameters
    ----------
    N : int
        Frame size.
    n : int
        Sample size (``n <= N`` without replacement).
    seed : int or numpy.random.Generator
    replace : bool, default False
        With replacement, rows may repeat and ``probs`` holds the expected number of hits
        ``n/N``.

    Returns
    -------
    Selection
        Indices in (random) selection order, ``probs = n/N``.

    Notes
    -----
    Without replacement every subset of size :math:`n` has probability
    :math:`1/\binom{N}{n}` and :math:`\pi_i = n/N` (Cochran 1977, ch. 2).

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 2.
    """
    N = _frame_size(N)
    n = as_count(n, "n")
    if not replace and n > N:
        raise ValueError(f"n ({n}) is larger than the frame (N={N}) for sampling without replacement")
    rng = make_rng(seed)
    idx = rng.choice(N, size=n, replace=bool(replace))
    return Selection(
        indices=idx,
        probs=np.full(n, n / N),
        order=np.arange(1, n + 1),
        method="srs_with_replacement" if replace else "srs",
        frame_size=N,
        seed=seed,
        replace=bool(replace),
    )


def systematic(N: Any, n: Any, seed: Any, sort_key: Any = None) -> Selection:
    r"""Systematic sample with a random start and a fractional interval ``k = N/n``.

    Parameters
    ----------
    N : int
        Frame size.
    n : int
        Sample size, ``n <= N``; the draw always has exactly ``n`` units.
    seed : int or numpy.random.Generator
    sort_key : array_like or tuple of array_like, optional
        Sort the frame by this key (primary first, stable) before the pass: implicit
        stratification, e.g. by receipt date or by commune then date.

    Returns
    -------
    Selection
        Indices in the order of the systematic pass; ``probs = n/N``.

    Notes
    -----
    With :math:`u \sim U[0, 1)` the sorted positions
    :math:`\lfloor (u + j) N / n \rfloor`, :math:`j = 0, \dots, n-1`, are taken. Since
    :math:`N/n \ge 1` every unit is hit with probability exactly :math:`n/N`.

    References
    ----------
    Madow, W. G. & Madow, L. H. (1944). On the theory of systematic sampling, I.
    *Ann. Math. Statist.* 15, 1-24.
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 8.
    """
    N = _frame_size(N)
    n = as_count(n, "n")
    if n > N:
        raise ValueError(f"n ({n}) is larger than the frame (N={N})")
    rng = make_rng(seed)
    perm = _sort_order(sort_key, N)
    pos = _systematic_positions(N, n, rng.random())
    idx = pos if perm is None else perm[pos]
    return Selection(
        indices=idx,
        probs=np.full(n, n / N),
        order=np.arange(1, n + 1),
        method="systematic",
        frame_size=N,
        seed=seed,
    )


def _per_stratum(value: Any, labels: np.ndarray, name: str) -> np.ndarray:
    """Resolve a scalar / mapping / array (aligned with sorted unique labels) per stratum."""
    K = labels.size
    if isinstance(value, Mapping):
        keys = {k.item() if hasattr(k, "item") else k for k in value}
        lab_list = [lab.item() if hasattr(lab, "item") else lab for lab in labels]
        unknown = keys - set(lab_list)
        if unknown:
            raise ValueError(f"{name} names strata not in the frame: {sorted(map(str, unknown))[:5]}")
        out = np.array([as_count(value.get(lab, 0), name) for lab in lab_list], dtype=np.int64)
        return out
    arr = np.asarray(value)
    if arr.ndim == 0:
        return np.full(K, as_count(arr.item(), name), dtype=np.int64)
    if arr.shape != (K,):
        raise ValueError(
            f"{name} must be an int, a mapping label -> int, or have one value per stratum "
            f"({K}, in sorted label order), got shape {arr.shape}"
        )
    return np.array([as_count(v, name) for v in arr.tolist()], dtype=np.int64)


def _stratified_core(
    strata: np.ndarray,
    n_h: Any,
    r_h: Any,
    rng: np.random.Generator,
    method: str,
    sort_key: Any,
    grouped: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, ...]:
    """Draw n_h (+ a reserve of r_h) rows per stratum. Returns arrays for main and reserve."""
    if sort_key is not None:
        order = _sort_order(sort_key, strata.size)
        # re-sort by stratum, keeping the key order inside strata
        perm0 = order[np.argsort(strata[order], kind="stable")]
        srt = strata[perm0]
        change = np.flatnonzero(srt[1:] != srt[:-1]) + 1
        starts = np.concatenate(([0], change)).astype(np.int64)
        counts = np.diff(np.concatenate((starts, [srt.size]))).astype(np.int64)
        perm, labels = perm0, srt[starts]
    else:
        perm, labels, starts, counts = grouped if grouped is not None else group_rows(strata)
    n_h = _per_stratum(n_h, labels, "n_per_stratum")
    r_h = _per_stratum(r_h, labels, "reserve")
    too_big = np.flatnonzero(n_h > counts)
    if too_big.size:
        h = too_big[0]
        raise ValueError(
            f"n_per_stratum ({int(n_h[h])}) is larger than stratum {labels[h]!r} ({int(counts[h])} rows)"
        )
    r_h = np.minimum(r_h, counts - n_h)
    main_idx = np.empty(int(n_h.sum()), np.int64)
    res_idx = np.empty(int(r_h.sum()), np.int64)
    mo = np.concatenate(([0], np.cumsum(n_h)))
    ro = np.concatenate(([0], np.cumsum(r_h)))
    for h in range(labels.size):  # loop over strata, not rows
        Nh, nh, rh, s = int(counts[h]), int(n_h[h]), int(r_h[h]), int(starts[h])
        if nh + rh == 0:
            continue
        if method == "srs":
            pos = rng.choice(Nh, size=nh + rh, replace=False)
            main_pos, res_pos = pos[:nh], pos[nh:]
        else:
            main_pos = _systematic_positions(Nh, nh, rng.random())
            if rh:
                free = np.ones(Nh, bool)
                free[main_pos] = False
                res_pos = rng.choice(np.flatnonzero(free), size=rh, replace=False)
            else:
                res_pos = main_pos[:0]
        main_idx[mo[h] : mo[h + 1]] = perm[s + main_pos]
        res_idx[ro[h] : ro[h + 1]] = perm[s + res_pos]
    return labels, counts, n_h, r_h, main_idx, res_idx


def _labels_probs_order(labels: np.ndarray, counts: np.ndarray, k_h: np.ndarray, denom: np.ndarray):
    lab = np.repeat(labels, k_h)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_h = np.where(denom > 0, k_h / np.where(denom > 0, denom, 1), 0.0)
    probs = np.repeat(p_h, k_h)
    offs = np.repeat(np.concatenate(([0], np.cumsum(k_h)[:-1])), k_h)
    order = np.arange(int(k_h.sum())) - offs + 1
    return lab, probs, order


def stratified(
    strata: Any,
    n_per_stratum: Any,
    seed: Any,
    method: str = "srs",
    sort_key: Any = None,
) -> Selection:
    r"""Stratified sample: an independent SRS or systematic draw in every stratum.

    Parameters
    ----------
    strata : array_like
        Stratum label of every frame row (e.g. commune code, or commune x procedure field).
    n_per_stratum : int, mapping or array_like of int
        Sample size per stratum: one int for all strata, a ``{label: n_h}`` mapping
        (missing labels get 0), or an array in sorted-label order (``np.unique(strata)``),
        e.g. the output of :func:`sampling.allocate`.
    seed : int or numpy.random.Generator
    method : {"srs", "systematic"}
        Selection within strata.
    sort_key : array_like or tuple of array_like, optional
        Within-stratum order for ``"systematic"`` (implicit stratification).

    Returns
    -------
    Selection
        Indices grouped by stratum (sorted labels), each group in selection order;
        ``probs = n_h/N_h``; ``strata`` the label of each selected row; ``order`` restarts
        at 1 in each stratum.

    Notes
    -----
    :math:`\pi_{hi} = n_h / N_h`. One stable sort groups the rows (:math:`O(N \log N)`),
    then each stratum costs :math:`O(n_h)` (``Generator.choice`` without replacement) or
    :math:`O(n_h)` (systematic). A 10-million-row frame takes about a second.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 5.
    """
    if method not in ("srs", "systematic"):
        raise ValueError(f"method must be 'srs' or 'systematic', got {method!r}")
    strata = as_labels(strata, "strata")
    rng = make_rng(seed)
    labels, counts, n_h, _, idx, _ = _stratified_core(strata, n_per_stratum, 0, rng, method, sort_key)
    lab, probs, order = _labels_probs_order(labels, counts, n_h, counts)
    return Selection(
        indices=idx,
        probs=probs,
        order=order,
        strata=lab,
        method=f"stratified_{method}",
        frame_size=strata.size,
        seed=seed,
    )


def reserve(
    selection: Any,
    n: Any,
    seed: Any,
    strata: Any = None,
    frame_size: Any = None,
) -> Selection:
    r"""Reserve (replacement) sample drawn from the rows *not* selected, in its own random order.

    Parameters
    ----------
    selection : Selection or array_like of int
        The main sample (or its row indices; then ``frame_size`` or ``strata`` is needed).
    n : int, mapping or array_like of int
        Reserve size: in total, or per stratum when ``strata`` is given (as in
        :func:`stratified`). Capped at the number of non-selected rows available.
    seed : int or numpy.random.Generator
        Use a seed different from the main draw's.
    strata : array_like, optional
        Stratum label of every frame row: the reserve for stratum ``h`` comes from its
        non-selected rows, so a replacement stays in the non-respondent's stratum.
    frame_size : int, optional
        Number of frame rows (taken from ``selection`` or ``strata`` when omitted).

    Returns
    -------
    Selection
        ``order`` is the order in which replacements are used (within each stratum);
        ``probs`` is the conditional probability ``r_h / (N_h - n_h)`` of entering the
        reserve given the main sample.

    Notes
    -----
    Replacing a non-respondent by the next reserve unit of the same stratum keeps the
    achieved stratum sizes; weights should then be computed from the achieved sample
    (nonresponse adjustment / calibration in ``analysis``), as the substitution is a
    nonresponse adjustment, not a new probability design (Kish 1965, sec. 13.4).

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    """
    if isinstance(selection, Selection):
        sel_idx = selection.indices
        fs = selection.frame_size
    else:
        sel_idx = np.asarray(selection)
        if sel_idx.ndim != 1 or (sel_idx.size and sel_idx.dtype.kind not in "iu"):
            raise ValueError("selection must be a Selection or a 1-D array of integer row indices")
        fs = None
    if strata is not None:
        strata = as_labels(strata, "strata")
        fs2 = strata.size
        if fs is not None and fs != fs2:
            raise ValueError(f"strata has {fs2} rows but the selection's frame has {fs}")
        fs = fs2
    if frame_size is not None:
        fs_arg = as_count(frame_size, "frame_size", minimum=1)
        if fs is not None and fs != fs_arg:
            raise ValueError(f"frame_size ({fs_arg}) does not match the frame ({fs})")
        fs = fs_arg
    if fs is None:
        raise ValueError("frame_size is required when selection is a plain index array and strata is None")
    if sel_idx.size and (sel_idx.min() < 0 or sel_idx.max() >= fs):
        raise ValueError(f"selection holds row indices outside 0..{fs - 1}")
    rng = make_rng(seed)
    taken = np.zeros(fs, bool)
    taken[sel_idx] = True
    if strata is None:
        r = as_count(n, "n")
        avail = np.flatnonzero(~taken)
        r = min(r, avail.size)
        idx = avail[rng.choice(avail.size, size=r, replace=False)]
        return Selection(
            indices=idx,
            probs=np.full(r, r / avail.size if avail.size else 0.0),
            order=np.arange(1, r + 1),
            method="reserve",
            frame_size=fs,
            seed=seed,
        )
    perm, labels, starts, counts = group_rows(strata)
    r_h = _per_stratum(n, labels, "n")
    taken_sorted = taken[perm]
    n_taken = np.add.reduceat(taken_sorted.astype(np.int64), starts) if starts.size else starts
    avail_h = counts - n_taken
    r_h = np.minimum(r_h, avail_h)
    out = np.empty(int(r_h.sum()), np.int64)
    ro = np.concatenate(([0], np.cumsum(r_h)))
    for h in range(labels.size):
        rh = int(r_h[h])
        if rh == 0:
            continue
        s, Nh = int(starts[h]), int(counts[h])
        free = np.flatnonzero(~taken_sorted[s : s + Nh])
        out[ro[h] : ro[h + 1]] = perm[s + free[rng.choice(free.size, size=rh, replace=False)]]
    lab, probs, order = _labels_probs_order(labels, counts, r_h, avail_h)
    return Selection(
        indices=out, probs=probs, order=order, strata=lab, method="reserve", frame_size=fs, seed=seed
    )


def _psu_sizes(psu_sizes: Any, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    if psu_sizes is None:
        return counts.astype(float)
    if isinstance(psu_sizes, Mapping):
        lab_list = [lab.item() if hasattr(lab, "item") else lab for lab in labels]
        missing = [lab for lab in lab_list if lab not in psu_sizes]
        if missing:
            raise ValueError(f"psu_sizes has no size for PSU(s) {missing[:5]}")
        x = np.array([psu_sizes[lab] for lab in lab_list], dtype=float)
    else:
        x = np.asarray(psu_sizes, dtype=float)
        if x.shape != labels.shape:
            raise ValueError(
                f"psu_sizes must have one value per PSU ({labels.size}, in sorted label order), got shape {x.shape}"
            )
    return as_positive_sizes(x, "psu_sizes")


def two_stage(
    psu_ids: Any,
    psu_sizes: Any,
    n_psu: Any,
    n_per_psu: Any,
    seed: Any,
    first_stage: str = "pps_systematic",
    strata: Any = None,
) -> Selection:
    r"""Two-stage sample: PSUs by PPS (or SRS), then an SRS of rows within each selected PSU.

    Typical use: communes selected with probability proportional to their transaction
    counts, then ``n_per_psu`` receipts by SRS inside each selected commune.

    Parameters
    ----------
    psu_ids : array_like
        PSU label of every frame row (e.g. commune code of each receipt).
    psu_sizes : array_like, mapping or None
        Measure of size per PSU (in sorted-label order, or ``{label: size}``); ``None``
        uses the number of frame rows in each PSU.
    n_psu : int, mapping or array_like of int
        Number of PSUs to select (per stratum when ``strata`` is given).
    n_per_psu : int
        Rows to select in each selected PSU (all rows when the PSU has fewer).
    seed : int or numpy.random.Generator
    first_stage : {"pps_systematic", "pps_brewer", "srs"}
        First-stage method.
    strata : array_like, optional
        Stratum label of every row; PSUs must be nested in strata. The first stage is then
        run independently in every stratum.

    Returns
    -------
    Selection
        ``probs`` = first-stage :math:`\pi_i` times second-stage :math:`m_i / M_i`;
        ``stage_probs = (pi_psu, m_i/M_i)`` per selected row; ``psu`` (and ``strata``)
        labels per row; ``order`` restarts at 1 within each PSU. ``info["psu"]`` and
        ``info["psu_probs"]`` list the selected PSUs and their probabilities.

    Notes
    -----
    .. math:: \pi_{ij} = \pi_i \cdot \frac{m_i}{M_i}, \qquad
              \pi_i = \frac{n_{\mathrm{psu}} x_i}{\sum_k x_k} \text{ (capped at 1, iterated)}

    With :math:`x_i = M_i` and a fixed :math:`m` the design is self-weighting apart from
    certainty PSUs and PSUs with fewer than :math:`m` rows. For analysis, use
    ``psu=[sel.psu]`` (ultimate-cluster variance) and ``strata=sel.strata``.

    References
    ----------
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 11.
    Madow, W. G. (1949). On the theory of systematic sampling, II. *Ann. Math. Statist.* 20.
    Brewer, K. R. W. (1975). *Australian Journal of Statistics* 17, 166-172.
    """
    if first_stage not in ("pps_systematic", "pps_brewer", "srs"):
        raise ValueError(f"first_stage must be 'pps_systematic', 'pps_brewer' or 'srs', got {first_stage!r}")
    psu_ids = as_labels(psu_ids, "psu_ids")
    m = as_count(n_per_psu, "n_per_psu", minimum=1)
    rng = make_rng(seed)
    perm, labels, starts, counts = group_rows(psu_ids)
    x = _psu_sizes(psu_sizes, labels, counts)
    if strata is not None:
        strata = as_labels(strata, "strata")
        if strata.size != psu_ids.size:
            raise ValueError(f"strata must have one label per row ({psu_ids.size}), got {strata.size}")
        s_sorted = strata[perm]
        psu_str = s_sorted[starts]
        if np.any(s_sorted != np.repeat(psu_str, counts)):
            raise ValueError("strata: every PSU must lie within a single stratum (PSUs nested in strata)")
        sperm, slabels, sstarts, scounts = group_rows(psu_str)
        k_h = _per_stratum(n_psu, slabels, "n_psu")
        groups = [sperm[sstarts[h] : sstarts[h] + scounts[h]] for h in range(slabels.size)]
        bad = np.flatnonzero(k_h > scounts)
        if bad.size:
            h = bad[0]
            raise ValueError(
                f"n_psu ({int(k_h[h])}) is larger than the {int(scounts[h])} PSUs of stratum {slabels[h]!r}"
            )
    else:
        psu_str = None
        k = as_count(n_psu, "n_psu")
        if k > labels.size:
            raise ValueError(f"n_psu ({k}) is larger than the number of PSUs ({labels.size})")
        groups, k_h = [np.arange(labels.size)], np.array([k])
    sel_psu, sel_pi = [], []
    for g, k in zip(groups, k_h, strict=True):
        k = int(k)
        if k == 0:
            continue
        if first_stage == "srs":
            pick = rng.choice(g.size, size=k, replace=False)
            pi = np.full(k, k / g.size)
        else:
            fn = pps_systematic if first_stage == "pps_systematic" else pps_brewer
            s1 = fn(x[g], k, rng)
            pick, pi = s1.indices, s1.probs
        sel_psu.append(g[pick])
        sel_pi.append(pi)
    psel = np.concatenate(sel_psu) if sel_psu else np.zeros(0, np.int64)
    ppi = np.concatenate(sel_pi) if sel_pi else np.zeros(0)
    o = np.argsort(psel, kind="stable")  # list PSUs in label order
    psel, ppi = psel[o], ppi[o]
    M = counts[psel]
    m_i = np.minimum(m, M)
    rows = np.empty(int(m_i.sum()), np.int64)
    off = np.concatenate(([0], np.cumsum(m_i)))
    for j, c in enumerate(psel):  # loop over selected PSUs
        pos = rng.choice(int(M[j]), size=int(m_i[j]), replace=False)
        rows[off[j] : off[j + 1]] = perm[starts[c] + pos]
    p1 = np.repeat(ppi, m_i)
    p2 = np.repeat(m_i / M, m_i)
    order = np.arange(rows.size) - np.repeat(off[:-1], m_i) + 1
    return Selection(
        indices=rows,
        probs=p1 * p2,
        order=order,
        psu=np.repeat(labels[psel], m_i),
        strata=None if psu_str is None else np.repeat(psu_str[psel], m_i),
        stage_probs=(p1, p2),
        method=f"two_stage_{first_stage}_srs",
        frame_size=psu_ids.size,
        seed=seed,
        info={
            "psu": labels[psel],
            "psu_probs": ppi,
            "psu_rows": M,
            "psu_sample": m_i,
        },
    )


def draw_stratified_sample(
    frame_strata: Any,
    n: Any,
    seed: Any,
    allocation: str = "proportional",
    minimum: Any = 0,
    sd: Any = None,
    power: float = 0.5,
    method: str = "srs",
    reserve_fraction: float = 0.0,
    sort_key: Any = None,
) -> StratifiedSample:
    """Allocate ``n`` across the strata of a frame, draw the sample and a reserve, in one call.

    This is the entry point for the web app / ``hailong sample``: pass the stratum of every
    frame row (e.g. the commune code of each receipt) and get back row indices, inclusion
    probabilities, stratum labels, the allocation table and a reserve list.

    Parameters
    ----------
    frame_strata : array_like
        Stratum label of every frame row. Integer codes are fastest (a radix sort groups
        10 million rows in well under a second); strings work but sort more slowly.
    n : int
        Total sample size (see :func:`sampling.slovin`, :func:`sampling.sample_size_proportion`).
    seed : int or numpy.random.Generator
        Record it: it reproduces the sample.
    allocation : {"proportional", "equal", "neyman", "power"}
        See :func:`sampling.allocate`.
    minimum : int or array_like of int
        Minimum per stratum (capped at the stratum size).
    sd, power
        For Neyman / power allocation (per stratum, sorted-label order).
    method : {"srs", "systematic"}
        Selection within strata.
    reserve_fraction : float, default 0
        Reserve size per stratum as a fraction of ``n_h`` (rounded up), e.g. 0.3 when about
        30 % non-response is expected; capped at the rows left in the stratum.
    sort_key : array_like, optional
        Within-stratum order for systematic selection.

    Returns
    -------
    StratifiedSample
        ``.sample`` and ``.reserve`` (Selections), ``.labels``, ``.population`` (N_h),
        ``.allocation`` (n_h), ``.reserve_allocation`` and ``.table()``.

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.repeat(["A", "B", "C"], [500, 300, 200])
    >>> s = draw_stratified_sample(frame, 100, seed=1, minimum=30, reserve_fraction=0.2)
    >>> s.allocation.tolist(), s.reserve_allocation.tolist()
    ([40, 30, 30], [8, 6, 6])
    """
    if method not in ("srs", "systematic"):
        raise ValueError(f"method must be 'srs' or 'systematic', got {method!r}")
    try:
        rf = float(reserve_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"reserve_fraction must be a number >= 0, got {reserve_fraction!r}") from None
    if not math.isfinite(rf) or rf < 0:
        raise ValueError(f"reserve_fraction must be a finite number >= 0, got {reserve_fraction!r}")
    strata = as_labels(frame_strata, "frame_strata")
    grouped = group_rows(strata) if sort_key is None else None
    if grouped is not None:
        labels, counts = grouped[1], grouped[3]
    else:
        labels, counts = np.unique(strata, return_counts=True)
    n = as_count(n, "n")
    if n > strata.size:
        raise ValueError(f"n ({n}) is larger than the frame ({strata.size} rows)")
    n_h = allocate(n, counts, method=allocation, sd=sd, power=power, minimum=minimum)
    r_h = np.minimum(np.ceil(rf * n_h - 1e-9).astype(np.int64), counts - n_h)
    rng = make_rng(seed)
    labels, counts, n_h, r_h, idx, ridx = _stratified_core(strata, n_h, r_h, rng, method, sort_key, grouped)
    lab, probs, order = _labels_probs_order(labels, counts, n_h, counts)
    main = Selection(
        indices=idx,
        probs=probs,
        order=order,
        strata=lab,
        method=f"stratified_{method}",
        frame_size=strata.size,
        seed=seed,
        info={"allocation": allocation},
    )
    rlab, rprobs, rorder = _labels_probs_order(labels, counts, r_h, counts - n_h)
    res = Selection(
        indices=ridx,
        probs=rprobs,
        order=rorder,
        strata=rlab,
        method="reserve",
        frame_size=strata.size,
        seed=seed,
    )
    return StratifiedSample(
        sample=main, reserve=res, labels=labels, population=counts, allocation=n_h, reserve_allocation=r_h
    )
