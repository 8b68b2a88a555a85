"""Probability-proportional-to-size (PPS) selection without replacement."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_count, as_positive_sizes, make_rng
from .results import Selection

__all__ = ["inclusion_probabilities", "pps_systematic", "pps_brewer", "pps_sampford"]


def inclusion_probabilities(sizes: Any, n: Any) -> np.ndarray:
    r"""πps inclusion probabilities ``pi_i = n x_i / sum(x)``, capped at 1 with certainty units.

    Parameters
    ----------
    sizes : array_like of float
        Measures of size ``x_i`` (> 0, finite), e.g. transaction counts per commune.
    n : int
        Sample size, ``0 <= n <= len(sizes)``.

    Returns
    -------
    ndarray of float64
        ``pi_i`` in (0, 1], summing to ``n``.

    Notes
    -----
    Units with :math:`x_i \ge \sum_{j \in U'} x_j / n'` (size at least the sampling step)
    are certainty units (:math:`\pi_i = 1`); they are removed, the step is recomputed on
    the remaining units :math:`U'` with :math:`n' = n - \#\text{certainty}`, and so on
    until no remaining unit reaches the step. Then :math:`\pi_i = n' x_i / \sum_{U'} x_j`.

    References
    ----------
    Madow, W. G. (1949). On the theory of systematic sampling, II. *Ann. Math. Statist.* 20, 333-354.
    Tillé, Y. (2006). *Sampling Algorithms*. Springer, sec. 2.10.
    """
    x = as_positive_sizes(sizes, "sizes")
    n = as_count(n, "n")
    if n > x.size:
        raise ValueError(f"n ({n}) is larger than the number of units in sizes ({x.size})")
    pi = np.zeros(x.size)
    if n == 0:
        return pi
    certain = np.zeros(x.size, dtype=bool)
    while True:
        rest = ~certain
        n_rest = n - int(certain.sum())
        if n_rest == 0:
            break
        total = x[rest].sum()
        new = rest & (x * n_rest >= total)
        if not new.any():
            pi[rest] = n_rest * x[rest] / total
            break
        certain |= new
    pi[certain] = 1.0
    return pi


def _certainty_split(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    pi = inclusion_probabilities(x, n)
    return pi, pi >= 1.0


def _sort_order(sort_key: Any, size: int, name: str = "sort_key") -> np.ndarray | None:
    if sort_key is None:
        return None
    if isinstance(sort_key, tuple | list) and len(sort_key) > 0 and np.ndim(sort_key[0]) == 1:
        keys = [np.asarray(k) for k in sort_key]
    else:
        keys = [np.asarray(sort_key)]
    for k in keys:
        if k.ndim != 1 or k.shape[0] != size:
            raise ValueError(f"{name} must have one value per unit ({size})")
    if len(keys) == 1:
        return np.argsort(keys[0], kind="stable")
    return np.lexsort(keys[::-1])


def pps_systematic(sizes: Any, n: Any, seed: Any, sort_key: Any = None) -> Selection:
    r"""Systematic PPS selection (Madow 1949) with certainty units.

    Parameters
    ----------
    sizes : array_like of float
        Measures of size (> 0).
    n : int
        Number of units to select.
    seed : int or numpy.random.Generator
        Seed for ``numpy.random.default_rng``; the same seed gives the same sample.
    sort_key : array_like or tuple of array_like, optional
        Order the list by this key (primary key first) before the systematic pass:
        implicit stratification (e.g. by district, then size). Default: frame order.

    Returns
    -------
    Selection
        ``probs`` are the πps probabilities of :func:`inclusion_probabilities`;
        certainty units come first in ``order``; ``info["certainty"]`` is their count.

    Notes
    -----
    Certainty units (size >= step, iterated) are taken with probability 1. For the rest,
    with cumulated probabilities :math:`C_k = \sum_{i \le k} \pi_i` (in list order) and one
    random start :math:`u \sim U[0, 1)`, unit :math:`k` is selected when a point
    :math:`u + j`, :math:`j = 0, \dots, n'-1`, falls in :math:`[C_{k-1}, C_k)`. Each unit
    is then selected with probability exactly :math:`\pi_k`; joint probabilities can be
    zero, so variance is estimated with the usual with-replacement approximation.

    References
    ----------
    Madow, W. G. (1949). On the theory of systematic sampling, II. *Ann. Math. Statist.* 20, 333-354.
    Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, sec. 9A.6.
    """
    x = as_positive_sizes(sizes, "sizes")
    n = as_count(n, "n")
    rng = make_rng(seed)
    pi, certain = _certainty_split(x, n)
    perm = _sort_order(sort_key, x.size)
    cert_idx = np.flatnonzero(certain)
    if perm is not None:
        cert_idx = perm[certain[perm]]
    rest = np.flatnonzero(~certain) if perm is None else perm[~certain[perm]]
    n_rest = n - cert_idx.size
    if n_rest > 0:
        cum = np.cumsum(pi[rest])
        cum *= n_rest / cum[-1]
        u = rng.random()
        points = u + np.arange(n_rest)
        pos = np.minimum(np.searchsorted(cum, points, side="right"), rest.size - 1)
        chosen = rest[pos]
    else:
        chosen = np.zeros(0, np.int64)
    return _pps_selection(cert_idx, chosen, pi, "pps_systematic", seed)


def pps_brewer(sizes: Any, n: Any, seed: Any) -> Selection:
    r"""Brewer's draw-by-draw πps selection without replacement (exact inclusion probabilities).

    Parameters
    ----------
    sizes : array_like of float
        Measures of size (> 0).
    n : int
        Number of units to select.
    seed : int or numpy.random.Generator

    Returns
    -------
    Selection
        Units in draw order (certainty units first).

    Notes
    -----
    After removing certainty units, with target probabilities :math:`\pi_k`
    (:math:`\sum \pi_k = n`), at draw :math:`i = 1, \dots, n` a not-yet-selected unit
    :math:`k` is chosen with probability proportional to

    .. math:: \pi_k \frac{(n - a) - \pi_k}{(n - a) - \pi_k (n - i + 1)}, \qquad
              a = \sum_{\ell \in s} \pi_\ell,

    where :math:`s` is the set already selected. The resulting design has inclusion
    probabilities exactly :math:`\pi_k` and all joint probabilities positive. Cost:
    :math:`O(nN)`.

    References
    ----------
    Brewer, K. R. W. (1975). A simple procedure for sampling πpswor.
    *Australian Journal of Statistics* 17(3), 166-172.
    Tillé, Y. (2006). *Sampling Algorithms*. Springer, Algorithm 6.10.
    """
    x = as_positive_sizes(sizes, "sizes")
    n = as_count(n, "n")
    rng = make_rng(seed)
    pi, certain = _certainty_split(x, n)
    cert_idx = np.flatnonzero(certain)
    rest = np.flatnonzero(~certain)
    n_rest = n - cert_idx.size
    p_rest = pi[rest]
    chosen = np.empty(n_rest, dtype=np.int64)
    avail = np.ones(rest.size, dtype=bool)
    for i in range(1, n_rest + 1):  # loop over draws, vectorised over units
        R = p_rest[avail].sum()  # = n - a, recomputed to avoid drift
        r = n_rest - i + 1
        w = brewer_step_weights(p_rest, avail, R, r)
        cw = np.cumsum(w)
        k = int(np.searchsorted(cw, rng.random() * cw[-1], side="right"))
        k = min(k, rest.size - 1)
        while not avail[k]:  # guard against a zero-width slot at the float boundary
            k -= 1
        avail[k] = False
        chosen[i - 1] = rest[k]
    return _pps_selection(cert_idx, chosen, pi, "pps_brewer", seed)


def brewer_step_weights(p: np.ndarray, avail: np.ndarray, R: float, r: int) -> np.ndarray:
    """Unnormalised Brewer selection weights for one draw (0 for units already selected).

    ``p``: target probabilities (< 1), ``avail``: not yet selected, ``R``: sum of ``p``
    over available units, ``r``: draws remaining including this one.
    """
    num = p * (R - p)
    den = R - p * r
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(avail & (den > 0), num / np.where(den > 0, den, 1.0), 0.0)
    w = np.clip(w, 0.0, None)
    if not (w > 0).any():
        w = np.where(avail, p, 0.0)
    return w


def pps_sampford(sizes: Any, n: Any, seed: Any, max_attempts: int = 100_000) -> Selection:
    r"""Sampford's rejective πps selection (exact inclusion probabilities).

    Parameters
    ----------
    sizes : array_like of float
    n : int
    seed : int or numpy.random.Generator
    max_attempts : int, default 100000
        Give up (``RuntimeError``) after this many rejected attempts; use
        :func:`pps_brewer` when the sample is a large share of the frame.

    Notes
    -----
    After certainty units: draw one unit with probabilities :math:`\pi_k / n` and
    :math:`n - 1` further units with replacement with probabilities proportional to
    :math:`\pi_k / (1 - \pi_k)`; accept when all :math:`n` are distinct, otherwise start
    again. Attempts are drawn in vectorised batches.

    References
    ----------
    Sampford, M. R. (1967). On sampling without replacement with unequal probabilities of
    selection. *Biometrika* 54(3/4), 499-513.
    """
    x = as_positive_sizes(sizes, "sizes")
    n = as_count(n, "n")
    max_attempts = as_count(max_attempts, "max_attempts", minimum=1)
    rng = make_rng(seed)
    pi, certain = _certainty_split(x, n)
    cert_idx = np.flatnonzero(certain)
    rest = np.flatnonzero(~certain)
    n_rest = n - cert_idx.size
    chosen = np.zeros(0, np.int64)
    if n_rest > 0:
        p = pi[rest]
        c1 = np.cumsum(p / n_rest)
        q = p / (1.0 - p)
        c2 = np.cumsum(q / q.sum())
        tried = 0
        batch = 8  # doubled after every unsuccessful batch, up to ~2M drawn numbers
        cap = max(1, min(4096, 2_000_000 // max(n_rest, 1)))
        while tried < max_attempts:
            b = min(batch, max_attempts - tried)
            batch = min(2 * batch, cap)
            first = np.searchsorted(c1, rng.random(b) * c1[-1], side="right")
            more = np.searchsorted(c2, rng.random((b, n_rest - 1)) * c2[-1], side="right")
            draws = np.minimum(np.column_stack((first, more)), rest.size - 1)
            srt = np.sort(draws, axis=1)
            ok = np.all(srt[:, 1:] != srt[:, :-1], axis=1) if n_rest > 1 else np.ones(b, bool)
            hit = np.flatnonzero(ok)
            tried += b
            if hit.size:
                chosen = rest[draws[hit[0]]]
                break
        else:
            raise RuntimeError(f"pps_sampford: no distinct sample in {max_attempts} attempts; use pps_brewer")
    idx = np.concatenate((cert_idx, chosen)).astype(np.int64)
    return Selection(
        indices=idx,
        probs=pi[idx],
        order=np.arange(1, idx.size + 1),
        method="pps_sampford",
        frame_size=x.size,
        seed=seed,
        info={"certainty": int(cert_idx.size)},
    )


def _pps_selection(cert_idx: np.ndarray, chosen: np.ndarray, pi: np.ndarray, method: str, seed) -> Selection:
    """Certainty units first, then the drawn ones, in selection order, with their inclusion probabilities."""
    idx = np.concatenate((cert_idx, chosen)).astype(np.int64)
    return Selection(
        indices=idx,
        probs=pi[idx],
        order=np.arange(1, idx.size + 1),
        method=method,
        frame_size=pi.size,
        seed=seed,
        info={"certainty": int(cert_idx.size)},
    )
