"""Composition and ranking of the PAR Index: pure and vectorised (numpy only, no database, no web).

:func:`compose` takes a points matrix (units x criteria, NaN where a unit has no value for an applicable
criterion) and returns totals, rescaled components, ranks within blocks (ties shared, "1, 2, 2, 4"),
the rank on the appraisal component alone, the rank change against a previous ranking, the class,
and per-block spreads.  It ranks 3,000 units with 40 criteria in a few milliseconds (benchmarks/bench_par.py).

Notes
-----
Component sums (columns appraisal, survey, satisfaction, bonus, penalty) are ``P @ C`` with ``P`` the
points with absent values as 0 and ``C`` the criteria-to-component indicator.  With rescaling, the
counted components (appraisal, survey, satisfaction) are multiplied by ``100 / M_i`` where ``M_i`` is
the maximum of the criteria that apply to unit ``i`` and have a value, so a unit whose survey or
satisfaction component is absent is compared on the rest, scaled to 100 (Hà Nội's district variant);
bonus and penalty are added afterwards, unscaled.  Totals are rounded to the published number of
decimals before ranking, so two units shown as 90.03 share a rank ("standard competition ranking":
the next rank is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPONENTS = ("appraisal", "survey", "satisfaction", "bonus", "penalty")
COUNTED = 3  # the first three components count towards the 100 points


@dataclass(frozen=True, slots=True)
class BlockStats:
    n: np.ndarray  # (B,) units per block
    top: np.ndarray  # (B,) best total
    bottom: np.ndarray  # (B,) worst total
    spread: np.ndarray  # (B,) top - bottom
    top_half_gap: np.ndarray  # (B,) top - the last total of the top half (ceil(n/2) units)


@dataclass(frozen=True, slots=True)
class Ranking:
    total: np.ndarray  # (N,) rounded PAR Index
    components: np.ndarray  # (N, 5) appraisal, survey, satisfaction (rescaled), bonus, penalty (>= 0)
    rescale_factor: np.ndarray  # (N,)
    available_max: np.ndarray  # (N,) maximum of the applicable criteria with a value
    rank: np.ndarray  # (N,) int, 1 = best within the block
    appraisal_rank: np.ndarray  # (N,) int, rank on the appraisal points alone
    rank_change: np.ndarray  # (N,) float, previous rank - rank (positive = moved up); NaN without a previous rank
    class_index: np.ndarray  # (N,) int index into the class thresholds; -1 below every class
    blocks: np.ndarray  # (B,) block labels in sorted order
    block_stats: BlockStats


def competition_rank(scores: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Rank ``scores`` (higher is better) within each block; ties share the best rank and the next is skipped."""
    scores = np.asarray(scores, dtype=float)
    blocks = np.asarray(blocks)
    n = scores.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-scores, blocks))
    s, b = scores[order], blocks[order]
    idx = np.arange(n)
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = b[1:] != b[:-1]
    new_tie = new_block.copy()
    new_tie[1:] |= s[1:] != s[:-1]
    block_start = np.maximum.accumulate(np.where(new_block, idx, 0))
    tie_start = np.maximum.accumulate(np.where(new_tie, idx, 0))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = tie_start - block_start + 1
    return ranks


def block_spreads(total: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, BlockStats]:
    """Per block: size, top, bottom, spread (top - bottom) and the gap inside the top half."""
    labels, inverse, counts = np.unique(blocks, return_inverse=True, return_counts=True)
    order = np.lexsort((-total, inverse))
    s = total[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    top = s[starts]
    bottom = s[starts + counts - 1]
    half = starts + (counts + 1) // 2 - 1
    return labels, BlockStats(n=counts, top=top, bottom=bottom, spread=top - bottom, top_half_gap=top - s[half])


def compose(
    points: np.ndarray,
    applicable: np.ndarray,
    component: np.ndarray,
    max_points: np.ndarray,
    blocks: np.ndarray,
    *,
    rescale: bool = True,
    decimals: int = 2,
    previous_rank: np.ndarray | None = None,
    class_min: np.ndarray | None = None,
) -> Ranking:
    """Compose the PAR Index of N units from K criteria and rank them within their blocks.

    Parameters
    ----------
    points : (N, K) float
        Points per unit and criterion (already through the criterion's scoring rule); NaN = no value.
        Penalty criteria hold positive points (they are subtracted).
    applicable : (N, K) bool
        Whether the criterion applies to the unit's kind.
    component : (K,) int
        Index into :data:`COMPONENTS` for each criterion.
    max_points : (K,) float
        Maximum points per criterion.
    blocks : (N,)
        Block label of each unit (units are ranked against their block only).
    rescale : bool
        Rescale the counted components to 100 when some applicable criteria have no value.
    decimals : int
        Published decimals; totals are rounded before ranking.
    previous_rank : (N,) float, optional
        Last year's rank (NaN when none).
    class_min : (C,) float, optional
        Lower bounds of the classes, best class first (e.g. [90, 80, 70, 0]).
    """
    points = np.asarray(points, dtype=float)
    applicable = np.asarray(applicable, dtype=bool)
    component = np.asarray(component, dtype=np.int64)
    max_points = np.asarray(max_points, dtype=float)
    blocks = np.asarray(blocks)
    n, k = points.shape
    if applicable.shape != (n, k):
        raise ValueError(f"applicable must have shape {(n, k)}, got {applicable.shape}")
    if component.shape != (k,) or max_points.shape != (k,):
        raise ValueError("component and max_points must have one entry per criterion")
    if blocks.shape != (n,):
        raise ValueError(f"blocks must have shape {(n,)}, got {blocks.shape}")
    if component.size and (component.min() < 0 or component.max() >= len(COMPONENTS)):
        raise ValueError("component must index COMPONENTS")
    have = applicable & ~np.isnan(points)
    filled = np.where(have, points, 0.0)
    indicator = np.zeros((k, len(COMPONENTS)))
    indicator[np.arange(k), component] = 1.0
    sums = filled @ indicator  # (N, 5)
    counted = component < COUNTED
    available_max = (have & counted) @ max_points
    if rescale:
        factor = np.divide(100.0, available_max, out=np.ones(n), where=available_max > 0)
    else:
        factor = np.ones(n)
    comps = sums.copy()
    comps[:, :COUNTED] *= factor[:, None]
    total = np.round(sums[:, :COUNTED].sum(axis=1) * factor + sums[:, 3] - sums[:, 4], decimals)
    rank = competition_rank(total, blocks)
    appraisal_rank = competition_rank(np.round(sums[:, 0], decimals), blocks)  # the council's points, before rescaling
    change = np.full(n, np.nan) if previous_rank is None else np.asarray(previous_rank, dtype=float) - rank
    if class_min is None or len(class_min) == 0:
        class_index = np.full(n, -1)
    else:
        mins = np.asarray(class_min, dtype=float)
        # classes best first: the first class whose lower bound the total reaches
        reached = total[:, None] >= mins[None, :] - 1e-9
        class_index = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    labels, stats = block_spreads(total, blocks)
    return Ranking(
        total=total, components=np.round(comps, decimals), rescale_factor=factor, available_max=available_max,
        rank=rank, appraisal_rank=appraisal_rank, rank_change=change, class_index=class_index,
        blocks=labels, block_stats=stats,
    )


def trimmed_group_means(groups: np.ndarray, values: np.ndarray, trim: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``values`` per group after cutting ``floor(trim * n)`` values at each end (scipy's trim_mean).

    Returns (group labels, means, number of values per group before trimming); vectorised.
    """
    groups = np.asarray(groups)
    values = np.asarray(values, dtype=float)
    if not 0 <= trim < 0.5:
        raise ValueError("trim must be in [0, 0.5)")
    if values.size == 0:
        return groups[:0], np.zeros(0), np.zeros(0, dtype=np.int64)
    labels, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    order = np.lexsort((values, inverse))
    g, v = inverse[order], values[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    pos = np.arange(v.size) - starts[g]
    cut = np.floor(trim * counts).astype(np.int64)
    keep = (pos >= cut[g]) & (pos < counts[g] - cut[g])
    sums = np.bincount(g[keep], weights=v[keep], minlength=labels.size)
    kept = np.bincount(g[keep], minlength=labels.size)
    return labels, sums / kept, counts
