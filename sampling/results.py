"""Small frozen result objects returned by the sampling library.

All arrays held by these objects are made read-only, so a result can be passed
around (to ``analysis/``, to the web layer) without defensive copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Selection", "StratifiedSample"]


def _ro(a: Any, dtype: Any = None) -> np.ndarray | None:
    if a is None:
        return None
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class Selection:
    """A drawn sample: which frame rows, with what inclusion probabilities, in what order.

    Attributes
    ----------
    indices : ndarray of int64
        Row positions (0-based) of the selected units in the frame that was passed in.
        Stratified and two-stage draws list them grouped by stratum / PSU (sorted labels),
        each group in selection order; other draws list them in selection order.
    probs : ndarray of float64
        First-order inclusion probability ``pi_i`` of each selected unit (same order as
        ``indices``). For draws with replacement it is the expected number of hits ``n/N``
        (Hansen-Hurwitz), which is what design weights need. Weight = ``1 / probs``.
    order : ndarray of int64
        1-based selection order of each unit, within its stratum (or PSU for two-stage
        draws; for a reserve, the order in which replacements are to be used).
    strata : ndarray or None
        Stratum label of each selected unit (stratified draws).
    psu : ndarray or None
        Primary sampling unit label of each selected unit (two-stage draws).
    stage_probs : tuple of ndarrays or None
        Per-stage (conditional) inclusion probabilities; ``probs`` is their product.
    method : str
        Short name of the selection method.
    frame_size : int
        Number of rows in the frame.
    seed : object
        The seed that reproduces this draw.
    replace : bool
        True for with-replacement draws (``indices`` may repeat).

    Notes
    -----
    To analyse the responses, build ``analysis.Design(probs=sel.probs, strata=sel.strata,
    psu=[sel.psu])`` (or ``weights=sel.weights``) for the responding rows, e.g. through
    :meth:`design_arguments`.
    """

    indices: np.ndarray
    probs: np.ndarray
    order: np.ndarray
    method: str
    frame_size: int
    seed: Any = None
    strata: np.ndarray | None = None
    psu: np.ndarray | None = None
    stage_probs: tuple[np.ndarray, ...] | None = None
    replace: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "indices", _ro(self.indices, np.int64))
        object.__setattr__(self, "probs", _ro(self.probs, np.float64))
        object.__setattr__(self, "order", _ro(self.order, np.int64))
        object.__setattr__(self, "strata", _ro(self.strata))
        object.__setattr__(self, "psu", _ro(self.psu))
        if self.stage_probs is not None:
            object.__setattr__(self, "stage_probs", tuple(_ro(p, np.float64) for p in self.stage_probs))
        n = self.indices.shape[0]
        for name in ("probs", "order", "strata", "psu"):
            a = getattr(self, name)
            if a is not None and a.shape[0] != n:
                raise ValueError(f"{name} must have one entry per selected unit ({n}), got {a.shape[0]}")

    @property
    def n(self) -> int:
        """Number of selected units (with replacement: number of draws)."""
        return int(self.indices.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def weights(self) -> np.ndarray:
        """Design (base) weights ``1 / probs``."""
        return 1.0 / self.probs

    def mask(self) -> np.ndarray:
        """Boolean array over the frame, True for selected rows."""
        m = np.zeros(self.frame_size, dtype=bool)
        m[self.indices] = True
        return m

    def design_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``analysis.Design``: ``probs``, ``strata`` and ``psu``.

        ``psu`` is a list of per-stage cluster labels (``[sel.psu]``) or None.
        """
        return {
            "probs": self.probs,
            "strata": self.strata,
            "psu": None if self.psu is None else [self.psu],
        }

    def __repr__(self) -> str:
        extra = ""
        if self.strata is not None:
            extra += f", strata={np.unique(self.strata).size}"
        if self.psu is not None:
            extra += f", psu={np.unique(self.psu).size}"
        return f"Selection(method={self.method!r}, n={self.n}, frame_size={self.frame_size}{extra}, seed={self.seed!r})"


@dataclass(frozen=True, slots=True, eq=False)
class StratifiedSample:
    """Result of :func:`sampling.draw_stratified_sample`.

    Attributes
    ----------
    sample : Selection
        The main sample (``indices``, ``probs``, ``strata``, ``order``).
    reserve : Selection
        Replacement units drawn from the non-selected rows of each stratum, in the order
        they should be used (``order`` restarts at 1 in every stratum).
    labels : ndarray
        Stratum labels (sorted unique labels of the frame).
    population : ndarray of int64
        Frame rows per stratum ``N_h``.
    allocation : ndarray of int64
        Sample size per stratum ``n_h`` (sums to the requested ``n``).
    reserve_allocation : ndarray of int64
        Reserve size per stratum.
    """

    sample: Selection
    reserve: Selection
    labels: np.ndarray
    population: np.ndarray
    allocation: np.ndarray
    reserve_allocation: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _ro(self.labels))
        object.__setattr__(self, "population", _ro(self.population, np.int64))
        object.__setattr__(self, "allocation", _ro(self.allocation, np.int64))
        object.__setattr__(self, "reserve_allocation", _ro(self.reserve_allocation, np.int64))

    # Convenience pass-throughs, so callers can treat this like the main Selection.
    @property
    def indices(self) -> np.ndarray:
        return self.sample.indices

    @property
    def probs(self) -> np.ndarray:
        return self.sample.probs

    @property
    def strata(self) -> np.ndarray | None:
        return self.sample.strata

    @property
    def weights(self) -> np.ndarray:
        return self.sample.weights

    def table(self) -> list[dict[str, Any]]:
        """One plain dict per stratum (label, N_h, n_h, reserve_h, sampling fraction) for display."""
        return [
            {
                "stratum": lab.item() if hasattr(lab, "item") else lab,
                "population": int(N),
                "sample": int(n),
                "reserve": int(r),
                "fraction": float(n) / float(N),
            }
            for lab, N, n, r in zip(
                self.labels, self.population, self.allocation, self.reserve_allocation, strict=True
            )
        ]
