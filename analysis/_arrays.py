"""Small array helpers shared by the analysis modules: argument checks and integer coding."""

from __future__ import annotations

import numpy as np

__all__ = ["as_float", "as_labels", "factorize", "combine_codes", "group_sums"]


def as_float(x, name: str, n: int | None = None, *, allow_nan: bool = True) -> np.ndarray:
    """Return ``x`` as a 1-D float64 array, checking its length against ``n``.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D and numeric, has the wrong length, or holds NaN when
        ``allow_nan`` is false.
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {n}")
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} contains missing values (NaN)")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains infinite values")
    return arr


def as_labels(x, name: str, n: int | None = None) -> np.ndarray:
    """Return ``x`` as a 1-D array of labels (any dtype), checking its length."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {n}")
    return arr


def factorize(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique levels and integer codes (0..L-1) of a label array.

    Integer labels spanning fewer than ``4 n + 10^6`` values (negative ones too, such as a "no group"
    -1) are coded with one ``bincount`` (no sort).
    """
    if labels.dtype.kind in ("i", "u") and labels.size:
        lo, hi = int(labels.min()), int(labels.max())
        if hi - lo < 4 * labels.size + 1_000_000 and hi < 2**63:
            shifted = labels.astype(np.intp, copy=False) - lo if lo else labels.astype(np.intp, copy=False)
            present = np.flatnonzero(np.bincount(shifted, minlength=hi - lo + 1))
            if present.shape[0] == hi - lo + 1:  # every value of the range occurs: the codes are the shifted labels
                codes = shifted.copy() if shifted is labels else shifted  # never the caller's own array
                return (present + lo).astype(labels.dtype), codes
            lookup = np.zeros(hi - lo + 1, dtype=np.intp)
            lookup[present] = np.arange(present.shape[0], dtype=np.intp)
            return (present + lo).astype(labels.dtype), lookup[shifted]
    levels, codes = np.unique(labels, return_inverse=True)
    return levels, codes.astype(np.intp, copy=False).reshape(-1)


def combine_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes of the pairs ``(a_i, b_i)`` (dense, 0..K-1) and their number K."""
    nb = int(b.max()) + 1 if b.size else 1
    if b.size and int(b.min()) >= 0 and int(a.min()) == int(a.max()) == 0:
        _, codes = factorize(b.astype(np.int64, copy=False))  # e.g. unstratified: no sort
        return codes, int(codes.max()) + 1
    joint = a.astype(np.int64) * nb + b
    _, codes = factorize(joint)
    return codes, int(codes.max()) + 1 if codes.size else 0


def group_sums(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Sums of ``values`` (1-D or 2-D, rows = observations) within integer ``codes``.

    One ``np.bincount`` per column; no loop over rows.
    """
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_groups)
    out = np.empty((n_groups, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=n_groups)
    return out
