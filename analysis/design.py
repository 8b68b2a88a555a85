"""The survey design object: weights, strata, clusters at every stage, finite population corrections.

A :class:`Design` is validated once and never changes; domains (:meth:`Design.subset`),
calibration (``analysis.calibration``) and replicate weights (:meth:`Design.jackknife`)
return new designs that share the sample structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import as_float, as_labels, combine_codes, factorize

__all__ = [
    "Design",
    "Stage",
    "CalibrationRecord",
    "ReplicateWeights",
    "JackknifeStructure",
    "LONELY_PSU_OPTIONS",
]

LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")


@dataclass(frozen=True, slots=True)
class Stage:
    """One sampling stage, coded for vectorised variance computation.

    Attributes
    ----------
    codes : ndarray of intp, shape (n,)
        Sampling unit (cluster) of each row at this stage, 0..U-1; units are nested in
        the units of the previous stage.
    stratum : ndarray of intp, shape (U,)
        Stratum of each unit (for stage > 1: the enclosing unit crossed with any stage strata).
    n_h : ndarray, shape (H,)
        Number of sampled units per stratum.
    omf : ndarray, shape (U,)
        One minus the sampling fraction, 1 - f, of each unit (1 with replacement, 0 complete).
    f : ndarray, shape (U,)
        Sampling fraction of each unit (0 when sampled with replacement / no fpc).
    mult : ndarray, shape (U,)
        Product of the sampling fractions of the enclosing units at earlier stages.
    """

    codes: np.ndarray
    stratum: np.ndarray
    n_h: np.ndarray
    omf: np.ndarray
    f: np.ndarray
    mult: np.ndarray

    @property
    def n_units(self) -> int:
        return int(self.stratum.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self.n_h.shape[0])


@dataclass(frozen=True, slots=True)
class CalibrationRecord:
    """What a calibration leaves behind for variance estimation.

    The calibration variables are stored as blocks: ``("codes", codes, L)`` for the
    indicator columns of a categorical variable, or ``("column", x)`` for one numeric
    column. ``a`` are the regression weights (original weight / sigma^2), ``w_cal`` the
    weights right after calibration and ``a_pinv`` the pseudo-inverse of X' diag(a) X.
    A raking record (``rake_weights`` set) is adjusted for as R ``rake()`` is: ten rounds of
    ``x <- x - w_m * ave(x / w_m)`` over the margins m (unweighted cell means).
    """

    blocks: tuple
    a: np.ndarray
    w_cal: np.ndarray
    a_pinv: np.ndarray
    #: R ``rake()``: per margin, the weights right after that margin's post-stratification in
    #: the last sweep; the variance then iterates projections on the margins (R ``svyrecvar``)
    rake_weights: tuple | None = None
    #: precomputed (inverse margin weights, cross tables, cell counts) of a raking record
    rake_tables: tuple | None = None

    @property
    def n_columns(self) -> int:
        return sum(b[2] if b[0] == "codes" else 1 for b in self.blocks)

    def column_weights(self) -> tuple:
        """Row weights multiplying each block's columns in the residual term."""
        if self.rake_weights is not None:
            return self.rake_weights
        return tuple(self.w_cal for _ in self.blocks)


_DENSE_REPLICATE_CELLS = 50_000_000  # n x R cells a jackknife may materialise (calibration, trimming)


@dataclass(frozen=True, slots=True)
class JackknifeStructure:
    """Delete-one-PSU jackknife weights without the n x R matrix.

    Replicate r deletes first-stage unit ``rep_unit[r]`` of stratum ``rep_stratum[r]``:
    ``w_ir = w_i * (0 in that unit; factor[r] = n_h/(n_h-1) elsewhere in the stratum; 1 outside)``,
    ``w`` being the design's current full-sample weights (zero outside a domain).
    """

    unit: np.ndarray
    n_units: int
    unit_stratum: np.ndarray
    n_strata: int
    rep_unit: np.ndarray
    rep_stratum: np.ndarray
    factor: np.ndarray

    @property
    def n_replicates(self) -> int:
        return int(self.rep_unit.shape[0])

    def _combine(self, P: np.ndarray, reps) -> np.ndarray:
        """Replicate totals from unit totals ``P`` (U, m): ``T - P_u + (f - 1)(S_h - P_u)``."""
        S = np.zeros((self.n_strata, P.shape[1]))
        for j in range(P.shape[1]):
            S[:, j] = np.bincount(self.unit_stratum, weights=P[:, j], minlength=self.n_strata)
        T = P.sum(axis=0)
        ru, rh, f = self.rep_unit[reps], self.rep_stratum[reps], self.factor[reps]
        Pu = P[ru]
        return T[None, :] - Pu + (f - 1.0)[:, None] * (S[rh] - Pu)

    def totals(self, w: np.ndarray, Y: np.ndarray, reps=slice(None)) -> np.ndarray:
        """``sum_i w_ir Y_ik`` for every replicate: shape (R, k)."""
        Y2 = Y[:, None] if Y.ndim == 1 else Y
        P = np.empty((self.n_units, Y2.shape[1]))
        for j in range(Y2.shape[1]):
            P[:, j] = np.bincount(self.unit, weights=w * Y2[:, j], minlength=self.n_units)
        return self._combine(P, reps)

    def group_totals(self, wy: np.ndarray, codes: np.ndarray, G: int, reps=slice(None)) -> np.ndarray:
        """``sum_i w_ir y_i 1{g_i = g}`` for every replicate and group (``wy = w * y``): (R, G)."""
        key = self.unit.astype(np.int64) * G + codes
        P = np.bincount(key, weights=wy, minlength=self.n_units * G).reshape(self.n_units, G)
        return self._combine(P, reps)

    def dense(self, w: np.ndarray) -> np.ndarray:
        """The n x R replicate-weight matrix (refused beyond a size limit)."""
        n, R = w.shape[0], self.n_replicates
        if n * R > _DENSE_REPLICATE_CELLS:
            raise ValueError(
                f"design: {n} rows x {R} replicates is too large to materialise for calibration or "
                "trimming; use a linearisation design, or cluster the jackknife by PSU"
            )
        row_h = self.unit_stratum[self.unit]
        W = np.where(row_h[:, None] == self.rep_stratum[None, :], self.factor[None, :], 1.0)
        W[self.unit[:, None] == self.rep_unit[None, :]] = 0.0
        return w[:, None] * W


@dataclass(frozen=True, slots=True)
class ReplicateWeights:
    """Replicate weights ``weights`` (n x R) with variance ``scale * sum_r rscales_r (t_r - c)^2``.

    A jackknife keeps ``weights=None`` and a :class:`JackknifeStructure` instead (no n x R matrix).
    """

    weights: np.ndarray | None
    rscales: np.ndarray
    scale: float
    mse: bool
    kind: str
    structure: JackknifeStructure | None = None

    def matrix(self, w: np.ndarray) -> np.ndarray:
        """The n x R replicate weights (materialised for a jackknife structure)."""
        return self.structure.dense(w) if self.weights is None else self.weights


def _as_stage_list(x, name: str) -> list | None:
    """``None``, one array, or a list/tuple of arrays (one per stage)."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)) and len(x) > 0 and all(np.ndim(v) == 1 for v in x):
        return list(x)
    if isinstance(x, (list, tuple)) and len(x) == 0:
        raise ValueError(f"{name} must not be empty")
    return [x]


def _first_length(arrays, stage_lists) -> int | None:
    for arr in arrays:
        if arr is not None:
            return int(np.shape(arr)[0]) if np.ndim(arr) >= 1 else None
    for lst in stage_lists:
        for arr in lst or []:
            if arr is not None:
                return int(np.shape(arr)[0])
    return None


class Design:
    """A complex survey design (R ``svydesign``): weights, strata, multi-stage clusters, fpc.

    Parameters
    ----------
    weights : array_like, optional
        Sampling weights (non-negative). If omitted they are derived from ``probs``, or
        from ``fpc`` (product over stages of N/n), or set to 1.
    strata : array_like or list of array_like, optional
        First-stage strata (a list gives strata per stage, outermost first).
    psu : array_like or list of array_like, optional
        Cluster identifiers; a list gives one array per stage, outermost first. Omitted:
        every row is its own unit (R ``ids=~1``).
    fpc : array_like or list of array_like, optional
        Finite population correction per stage, as in R: population sizes (values > 1)
        or sampling fractions (all values <= 1). Stages after the last one given are
        taken as completely enumerated (R convention).
    probs : array_like, optional
        Inclusion probabilities; weights = 1/probs.
    nest : bool
        If true, PSU identifiers are only unique within strata and are re-coded.
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}
        Treatment of strata with a single sampled unit (R ``options(survey.lonely.psu)``).
    pps : {None, "brewer"}
        ``"brewer"``: PPS without replacement with Brewer's approximation; ``fpc`` then
        holds each PSU's inclusion probability.
    n : int, optional
        Number of rows, needed only when no array is given.

    Notes
    -----
    The variance of a linearised statistic with influence values ``z_i`` (already
    multiplied by the weights) is, for stage ``s``, stratum ``h`` with ``n_h`` units and
    unit totals ``z_hi``,

    .. math:: V_s = \\sum_h \\prod_{t<s} f_t \\, (1-f_h) \\frac{n_h}{n_h-1} \\sum_i (z_{hi} - \\bar z_h)^2,

    summed over stages when an fpc is given (R ``svyrecvar``); otherwise only the first
    stage is used (ultimate-cluster, with-replacement approximation).
    Degrees of freedom are #PSU - #strata at the first stage (counting units with a
    positive weight).

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
    Särndal, C.-E., Swensson, B., Wretman, J. (1992). *Model Assisted Survey Sampling*. Springer.
    """

    __slots__ = (
        "_n",
        "_w",
        "_stages",
        "_var_stages",
        "_lonely",
        "_cal",
        "_rep",
        "_pps",
        "_has_fpc",
        "_trimmed",
    )

    def __init__(
        self,
        weights=None,
        strata=None,
        psu=None,
        fpc=None,
        probs=None,
        nest: bool = False,
        lonely_psu: str = "fail",
        pps: str | None = None,
        n: int | None = None,
    ) -> None:
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise ValueError(f"lonely_psu must be one of {LONELY_PSU_OPTIONS}, got {lonely_psu!r}")
        if pps not in (None, "brewer"):
            raise ValueError(f"pps must be None or 'brewer', got {pps!r}")
        psu_l = _as_stage_list(psu, "psu")
        strata_l = _as_stage_list(strata, "strata")
        fpc_l = _as_stage_list(fpc, "fpc")
        nrows = _first_length((weights, probs), (psu_l, strata_l, fpc_l))
        if nrows is None:
            if n is None:
                raise ValueError("n is required when no weights, strata, psu, fpc or probs are given")
            nrows = int(n)
        elif n is not None and int(n) != nrows:
            raise ValueError(f"n={n} does not match the length of the design arrays ({nrows})")
        if nrows < 1:
            raise ValueError("the design has no rows")
        if weights is not None and probs is not None:
            raise ValueError("give either weights or probs, not both")
        n_stages = len(psu_l) if psu_l is not None else 1
        if psu_l is None:
            psu_l = [None]
        if strata_l is not None and len(strata_l) > n_stages:
            raise ValueError(f"strata has {len(strata_l)} stages but psu has {n_stages}")
        if fpc_l is not None and len(fpc_l) > n_stages:
            raise ValueError(f"fpc has {len(fpc_l)} stages but psu has {n_stages}")
        if pps == "brewer" and (fpc_l is None or n_stages > 1):
            raise ValueError("pps='brewer' needs fpc (inclusion probabilities) and a single stage")

        stages = []
        prev: Stage | None = None
        for s in range(n_stages):
            stages.append(_build_stage(s, nrows, psu_l[s], strata_l, fpc_l, prev, nest, pps))
            prev = stages[-1]

        if weights is not None:
            w = as_float(weights, "weights", nrows, allow_nan=False)
            if (w < 0).any():
                raise ValueError("weights must be non-negative")
        elif probs is not None:
            p = as_float(probs, "probs", nrows, allow_nan=False)
            if ((p <= 0) | (p > 1)).any():
                raise ValueError("probs must lie in (0, 1]")
            w = 1.0 / p
        elif fpc_l is not None:
            w = np.ones(nrows)
            for st in stages[: len(fpc_l)]:
                w = w / st.f[st.codes]
        else:
            w = np.ones(nrows)
        if not (w > 0).any():
            raise ValueError("weights are all zero")

        var_stages = tuple(stages[:1] if fpc_l is None else stages[: len(fpc_l)])
        if lonely_psu == "fail":
            for s, st in enumerate(var_stages):
                lone = (st.n_h[st.stratum] == 1) & (st.omf > 1e-7)
                if lone.any():
                    raise ValueError(
                        f"strata: {int(lone.sum())} stratum/strata with a single sampled unit at stage "
                        f"{s + 1} (lonely_psu='fail'); choose lonely_psu='remove', 'certainty', "
                        "'adjust' or 'average'"
                    )
        w.setflags(write=False)
        self._n = nrows
        self._w = w
        self._stages = tuple(stages)
        self._var_stages = var_stages
        self._lonely = lonely_psu
        self._cal: tuple[CalibrationRecord, ...] = ()
        self._rep: ReplicateWeights | None = None
        self._pps = pps
        self._has_fpc = fpc_l is not None
        self._trimmed: np.ndarray | None = None

    # ----------------------------------------------------------------- construction helpers
    def _evolve(self, **changes) -> Design:
        new = object.__new__(Design)
        for name in Design.__slots__:
            object.__setattr__(new, name, changes.get(name.lstrip("_"), getattr(self, name)))
        if "w" in changes:
            changes["w"].setflags(write=False)
        return new

    # ----------------------------------------------------------------------------- accessors
    @property
    def n(self) -> int:
        """Number of rows (sampled units, including zero-weight domain rows)."""
        return self._n

    @property
    def weights(self) -> np.ndarray:
        """Analysis weights (read-only view); zero outside a domain."""
        return self._w

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._stages

    @property
    def lonely_psu(self) -> str:
        return self._lonely

    @property
    def calibrations(self) -> tuple[CalibrationRecord, ...]:
        """Calibration records applied to this design, oldest first."""
        return self._cal

    @property
    def replicates(self) -> ReplicateWeights | None:
        """Replicate weights, or ``None`` for a linearisation (Taylor) design."""
        return self._rep

    @property
    def trimmed(self) -> np.ndarray | None:
        """Boolean mask of rows whose weight was trimmed by ``trim_weights`` (else ``None``)."""
        return self._trimmed

    @property
    def is_replicate(self) -> bool:
        return self._rep is not None

    @property
    def df(self) -> int:
        """Design degrees of freedom: #PSU - #strata among units with positive weight."""
        st = self._stages[0]
        pos = self._w > 0
        unit_pos = np.bincount(st.codes[pos], minlength=st.n_units) > 0
        strata_pos = np.bincount(st.stratum[unit_pos], minlength=st.n_strata) > 0
        return int(unit_pos.sum() - strata_pos.sum())

    def __repr__(self) -> str:
        st = self._stages[0]
        kind = f"{self._rep.kind} replicate" if self._rep is not None else "Taylor"
        return (
            f"Design(n={self._n}, stages={len(self._stages)}, strata={st.n_strata}, psu={st.n_units}, "
            f"fpc={self._has_fpc}, calibrations={len(self._cal)}, variance={kind})"
        )

    # ------------------------------------------------------------------------------ domains
    def subset(self, mask) -> Design:
        """Domain design: weights set to zero outside ``mask``; strata and PSUs are kept.

        This is R's ``subset.survey.design`` semantics, so standard errors of domain
        estimates account for the random domain size.
        """
        m = np.asarray(mask)
        if m.ndim != 1 or m.shape[0] != self._n:
            raise ValueError(f"mask must be a boolean array of length {self._n}")
        if m.dtype != bool:
            raise ValueError("mask must be boolean")
        w = np.where(m, self._w, 0.0)
        rep = self._rep
        if rep is not None and rep.weights is not None:  # a jackknife structure follows w itself
            rep = ReplicateWeights(rep.weights * m[:, None], rep.rscales, rep.scale, rep.mse, rep.kind)
        return self._evolve(w=w, rep=rep)

    def _all_weights(self) -> np.ndarray:
        """Full-sample weights then replicate weights, shape (n, 1 + R)."""
        if self._rep is None:
            return self._w[:, None]
        return np.column_stack([self._w, self._rep.matrix(self._w)])

    # --------------------------------------------------------------------------- replicates
    def jackknife(self, mse: bool = True) -> Design:
        """Delete-one-PSU jackknife replicate design (R ``as.svrepdesign``); see
        :func:`analysis.replicate.jackknife`."""
        from .replicate import jackknife  # local import: replicate builds on this module

        return jackknife(self, mse=mse)


def _build_stage(s, nrows, psu, strata_l, fpc_l, prev, nest, pps) -> Stage:
    enclosing = prev.codes if prev is not None else np.zeros(nrows, dtype=np.intp)
    if strata_l is not None and s < len(strata_l) and strata_l[s] is not None:
        st_codes = factorize(as_labels(strata_l[s], "strata", nrows))[1]
    else:
        st_codes = np.zeros(nrows, dtype=np.intp)
    row_stratum, n_strata = combine_codes(enclosing, st_codes)
    unit_lab = np.arange(nrows, dtype=np.intp) if psu is None else factorize(as_labels(psu, "psu", nrows))[1]
    if s == 0 and not nest:
        codes = unit_lab
        n_units = int(codes.max()) + 1
        _, n_pairs = combine_codes(row_stratum, unit_lab)
        if n_pairs != n_units:
            raise ValueError(
                "psu: clusters are not nested in strata (the same id occurs in several strata); pass nest=True"
            )
    else:
        codes, n_units = combine_codes(row_stratum, unit_lab)
    stratum = np.empty(n_units, dtype=np.intp)
    stratum[codes] = row_stratum
    n_h = np.bincount(stratum, minlength=n_strata)

    if fpc_l is None:
        f = np.zeros(n_units)
    elif s >= len(fpc_l):
        f = np.ones(n_units)
    else:
        raw = as_float(fpc_l[s], "fpc", nrows, allow_nan=False)
        if (raw <= 0).any():
            raise ValueError("fpc must be positive")
        per_unit = np.empty(n_units)
        per_unit[codes] = raw
        if not np.allclose(per_unit[codes], raw):
            raise ValueError(f"fpc must be constant within each sampling unit at stage {s + 1}")
        if pps != "brewer":
            per_stratum = np.empty(n_strata)
            per_stratum[stratum] = per_unit
            if not np.allclose(per_stratum[stratum], per_unit):
                raise ValueError(f"fpc must be constant within each stratum at stage {s + 1}")
        if raw.max() <= 1.0:
            f = per_unit
        else:
            if pps == "brewer":
                raise ValueError("with pps='brewer', fpc must hold inclusion probabilities (<= 1)")
            sampled = n_h[stratum].astype(float)
            if (per_unit < sampled - 1e-9).any():
                raise ValueError(
                    f"fpc: population size smaller than the number of sampled units at stage {s + 1}"
                )
            f = sampled / per_unit
    omf = np.clip(1.0 - f, 0.0, None)
    if prev is None:
        mult = np.ones(n_units)
    else:
        enc_unit = np.empty(n_units, dtype=np.intp)
        enc_unit[codes] = prev.codes
        mult = prev.mult[enc_unit] * prev.f[enc_unit]
    return Stage(codes=codes, stratum=stratum, n_h=n_h, omf=omf, f=f, mult=mult)
