"""Checks that a sample (or its respondents) looks like the frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .aapor import AAPORRates

__all__ = [
    "CompositionTest",
    "FrequencyTest",
    "RepresentativenessSummary",
    "composition_test",
    "standardized_mean_differences",
    "selection_frequency_test",
    "representativeness_summary",
]


@dataclass(frozen=True, slots=True, eq=False)
class CompositionTest:
    """Result of :func:`composition_test`.

    Attributes
    ----------
    statistic, pvalue, df : float, float, int
        Pearson chi-square goodness-of-fit of the sample counts to the frame shares.
    categories : ndarray
        Category labels (frame categories, sorted).
    observed, expected : ndarray
        Sample counts and the counts expected from the frame shares.
    sample_share, frame_share : ndarray
        Shares in the sample and in the frame.
    min_expected : float
        Smallest expected count (the chi-square approximation wants >= 5).
    """

    statistic: float
    pvalue: float
    df: int
    categories: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    sample_share: np.ndarray
    frame_share: np.ndarray
    min_expected: float

    @property
    def max_abs_share_difference(self) -> float:
        """Largest |sample share - frame share| over categories."""
        return float(np.max(np.abs(self.sample_share - self.frame_share))) if self.categories.size else 0.0


def _tabulate(sample: Any, frame: Any, counts: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if counts:
        obs = np.asarray(sample, dtype=float)
        fr = np.asarray(frame, dtype=float)
        if obs.ndim != 1 or fr.ndim != 1 or obs.shape != fr.shape:
            raise ValueError("sample and frame counts must be 1-D arrays of the same length")
        if obs.size == 0:
            raise ValueError("sample must not be empty")
        for nm, a in (("sample", obs), ("frame", fr)):
            if np.isnan(a).any() or (a < 0).any():
                raise ValueError(f"{nm} counts must be non-negative (no NaN)")
        return np.arange(obs.size), obs, fr
    s = np.asarray(sample)
    f = np.asarray(frame)
    if s.ndim != 1 or f.ndim != 1:
        raise ValueError("sample and frame must be 1-D label arrays")
    if s.size == 0:
        raise ValueError("sample must not be empty")
    if f.size == 0:
        raise ValueError("frame must not be empty")
    cats, fr = np.unique(f, return_counts=True)
    pos = np.searchsorted(cats, s)
    pos_c = np.minimum(pos, cats.size - 1)
    bad = cats[pos_c] != s
    if bad.any():
        raise ValueError(f"sample has categories absent from the frame: {np.unique(s[bad])[:5].tolist()}")
    obs = np.bincount(pos_c, minlength=cats.size).astype(float)
    return cats, obs, fr.astype(float)


def composition_test(sample: Any, frame: Any, counts: bool = False, fpc: bool = False) -> CompositionTest:
    r"""Chi-square goodness of fit of the sample composition against the frame.

    Parameters
    ----------
    sample : array_like
        Category label of every sample unit (or respondent), or counts when ``counts``.
    frame : array_like
        Category label of every frame row, or counts per category when ``counts``.
    counts : bool, default False
        Treat ``sample`` and ``frame`` as aligned count vectors.
    fpc : bool, default False
        Divide the statistic by :math:`1 - n/N`: under simple random sampling without
        replacement from the frame, the counts vary less than multinomially.

    Returns
    -------
    CompositionTest

    Notes
    -----
    .. math:: X^2 = \sum_c \frac{(n_c - n P_c)^2}{n P_c}, \qquad df = C - 1,

    over the :math:`C` categories with :math:`P_c > 0`; sample units in a category that has
    no frame rows make the test impossible and raise ``ValueError``. A stratified sample is
    *designed* to differ from proportional shares when allocation is not proportional; test
    the respondents against the sample, or compare weighted shares, in that case.

    References
    ----------
    Cochran, W. G. (1952). The chi-square test of goodness of fit. *Ann. Math. Statist.* 23, 315-345.
    """
    cats, obs, fr = _tabulate(sample, frame, counts)
    n, Nf = obs.sum(), fr.sum()
    if Nf <= 0:
        raise ValueError("frame has no rows")
    if n <= 0:
        raise ValueError("sample has no units")
    if (obs[fr == 0] > 0).any():
        raise ValueError("sample has units in categories with no frame rows")
    keep = fr > 0
    share_f = fr / Nf
    exp = n * share_f
    k = int(keep.sum())
    if k < 2:
        stat, p = 0.0, 1.0
    else:
        stat = float(np.sum((obs[keep] - exp[keep]) ** 2 / exp[keep]))
        if fpc:
            f = n / Nf
            if f >= 1:
                raise ValueError("fpc=True needs a sample smaller than the frame")
            stat /= 1.0 - f
        p = float(stats.chi2.sf(stat, k - 1))
    return CompositionTest(
        statistic=stat,
        pvalue=p,
        df=max(k - 1, 0),
        categories=cats,
        observed=obs,
        expected=exp,
        sample_share=obs / n,
        frame_share=share_f,
        min_expected=float(exp[keep].min()) if k else math.nan,
    )


def _as_2d(X: Any, name: str) -> np.ndarray:
    a = np.asarray(X, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (rows x variables)")
    if a.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows")
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN; drop or impute missing values first")
    return a


def standardized_mean_differences(sample_X: Any, frame_X: Any, sample_weights: Any = None) -> np.ndarray:
    r"""Absolute standardised mean differences between sample and frame, per variable.

    Parameters
    ----------
    sample_X : array_like, shape (n,) or (n, p)
        Auxiliary variables of the sample (0/1 dummies for categories).
    frame_X : array_like, shape (N,) or (N, p)
        The same variables for the whole frame.
    sample_weights : array_like, shape (n,), optional
        Design weights for a weighted sample mean and variance.

    Returns
    -------
    ndarray, shape (p,)
        :math:`|\bar x_s - \bar x_f| / \sqrt{(s_s^2 + s_f^2)/2}`; 0 where both variances
        are 0 and the means agree, ``inf`` where they are 0 and the means differ.

    Notes
    -----
    Values below 0.1 are conventionally taken as negligible imbalance (Austin 2009).

    References
    ----------
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups. *Statistics in Medicine* 28, 3083-3107.
    Stuart, E. A. (2010). Matching methods for causal inference. *Statistical Science* 25, 1-21.
    """
    S = _as_2d(sample_X, "sample_X")
    F = _as_2d(frame_X, "frame_X")
    if S.shape[1] != F.shape[1]:
        raise ValueError(f"sample_X has {S.shape[1]} variables but frame_X has {F.shape[1]}")
    if sample_weights is None:
        ms, vs = S.mean(axis=0), S.var(axis=0, ddof=1)
    else:
        w = np.asarray(sample_weights, dtype=float)
        if w.shape != (S.shape[0],):
            raise ValueError("sample_weights must have one weight per sample row")
        if np.isnan(w).any() or (w < 0).any() or w.sum() <= 0:
            raise ValueError("sample_weights must be non-negative, not all zero, without NaN")
        ms = w @ S / w.sum()
        vs = (w @ (S - ms) ** 2) / w.sum() * S.shape[0] / (S.shape[0] - 1)
    mf, vf = F.mean(axis=0), F.var(axis=0, ddof=1)
    diff = np.abs(ms - mf)
    sd = np.sqrt((vs + vf) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, diff / np.where(sd > 0, sd, 1.0), np.where(diff > 1e-12, np.inf, 0.0))
    return out


@dataclass(frozen=True, slots=True, eq=False)
class FrequencyTest:
    """Result of :func:`selection_frequency_test`."""

    statistic: float
    pvalue: float
    df: int
    observed: np.ndarray
    expected: np.ndarray


def selection_frequency_test(counts: Any, reps: int, probs: Any) -> FrequencyTest:
    r"""Do units' selection frequencies over repeated draws match their inclusion probabilities?

    Parameters
    ----------
    counts : array_like of int
        How many times each frame unit was selected over ``reps`` independent draws.
    reps : int
        Number of draws.
    probs : array_like of float
        Stated inclusion probabilities :math:`\pi_i` (sum = n).

    Returns
    -------
    FrequencyTest

    Notes
    -----
    Pearson's statistic :math:`X^2 = \sum_i (c_i - R\pi_i)^2 / (R\pi_i)` over units with
    :math:`0 < \pi_i < 1`, referred to :math:`\chi^2_{k-1}`. For a fixed-size design whose
    joint inclusion probabilities satisfy :math:`\pi_{ij} \le \pi_i\pi_j` (SRS, stratified
    SRS, Brewer, Sampford), :math:`\operatorname{Var} c_i = R\pi_i(1-\pi_i)` is below the
    multinomial variance, so the test is conservative: a rejection signals a sampler whose
    selection frequencies do not match its stated probabilities.
    """
    c = np.asarray(counts, dtype=float)
    p = np.asarray(probs, dtype=float)
    if c.shape != p.shape or c.ndim != 1:
        raise ValueError("counts and probs must be 1-D arrays of the same length")
    if int(reps) < 1:
        raise ValueError("reps must be >= 1")
    keep = (p > 0) & (p < 1)
    cert = (p >= 1) & (c != reps)
    exp = reps * p
    if cert.any() or (c[p <= 0] > 0).any():
        return FrequencyTest(math.inf, 0.0, int(keep.sum()) - 1, c, exp)
    k = int(keep.sum())
    stat = float(np.sum((c[keep] - exp[keep]) ** 2 / exp[keep]))
    return FrequencyTest(stat, float(stats.chi2.sf(stat, max(k - 1, 1))), k - 1, c, exp)


@dataclass(frozen=True, slots=True, eq=False)
class RepresentativenessSummary:
    """A readable check of a sample (or its respondents) against the frame.

    Attributes
    ----------
    n_sample, n_frame : int
    composition : CompositionTest or None
    smd : ndarray or None
        Absolute standardised mean differences per auxiliary variable.
    variable_names : tuple of str
    rates : AAPORRates or None
    alpha, smd_threshold : float
    """

    n_sample: int
    n_frame: int
    composition: CompositionTest | None
    smd: np.ndarray | None
    variable_names: tuple[str, ...]
    rates: AAPORRates | None
    alpha: float
    smd_threshold: float

    @property
    def composition_ok(self) -> bool:
        return self.composition is None or self.composition.pvalue >= self.alpha

    @property
    def balance_ok(self) -> bool:
        return self.smd is None or bool(np.all(self.smd < self.smd_threshold))

    @property
    def ok(self) -> bool:
        """True when the composition test does not reject and every SMD is below the threshold."""
        return self.composition_ok and self.balance_ok

    def to_text(self) -> str:
        """Plain-English report for a statistician."""
        lines = [f"Sample of {self.n_sample:,} units from a frame of {self.n_frame:,} rows."]
        c = self.composition
        if c is not None:
            verdict = "consistent with" if self.composition_ok else "significantly different from"
            lines.append(
                f"Composition: chi-square = {c.statistic:.2f} on {c.df} df, p = {c.pvalue:.3g}; "
                f"the sample's category shares are {verdict} the frame's at the {self.alpha:g} level."
            )
            lines.append(
                f"Largest share difference: {100 * c.max_abs_share_difference:.1f} percentage points."
            )
            if c.min_expected < 5:
                lines.append(
                    f"Caution: smallest expected count is {c.min_expected:.1f} (< 5); the chi-square "
                    "approximation is rough - merge small categories."
                )
            order = np.argsort(-np.abs(c.sample_share - c.frame_share), kind="stable")[:5]
            for j in order:
                lines.append(
                    f"  {c.categories[j]}: sample {c.sample_share[j]:.1%} vs frame {c.frame_share[j]:.1%}"
                )
        if self.smd is not None:
            bad = [
                nm for nm, v in zip(self.variable_names, self.smd, strict=True) if not v < self.smd_threshold
            ]
            worst = int(np.argmax(self.smd)) if self.smd.size else 0
            lines.append(
                f"Balance: largest absolute standardised mean difference {self.smd[worst]:.3f} "
                f"({self.variable_names[worst]}); threshold {self.smd_threshold:g}."
            )
            for nm, v in zip(self.variable_names, self.smd, strict=True):
                lines.append(f"  {nm}: SMD {v:.3f}")
            if bad:
                lines.append("Imbalanced variables: " + ", ".join(bad) + ".")
            else:
                lines.append("All auxiliary variables are balanced.")
        if self.rates is not None:
            lines.append(self.rates.to_text())
        lines.append(
            "Overall: no evidence that the sample is unrepresentative on these checks."
            if self.ok
            else "Overall: the sample departs from the frame on the checks above; consider weighting "
            "adjustments (post-stratification / raking in analysis)."
        )
        return "\n".join(lines)


def representativeness_summary(
    sample_labels: Any = None,
    frame_labels: Any = None,
    sample_X: Any = None,
    frame_X: Any = None,
    variable_names: Any = None,
    rates: AAPORRates | None = None,
    sample_weights: Any = None,
    alpha: float = 0.05,
    smd_threshold: float = 0.1,
) -> RepresentativenessSummary:
    """Combine a composition test, standardised mean differences and AAPOR rates.

    Parameters
    ----------
    sample_labels, frame_labels : array_like, optional
        Category (e.g. commune, procedure field) of every sample unit and every frame row.
    sample_X, frame_X : array_like, optional
        Auxiliary variables for :func:`standardized_mean_differences`.
    variable_names : sequence of str, optional
        Names of the columns of ``sample_X``.
    rates : AAPORRates, optional
        Outcome rates from :func:`sampling.aapor_rates`.
    sample_weights : array_like, optional
        Weights for the SMDs.
    alpha : float, default 0.05
        Level of the composition test.
    smd_threshold : float, default 0.1
        SMD regarded as a meaningful imbalance (Austin 2009).

    Returns
    -------
    RepresentativenessSummary
        With ``.ok`` and ``.to_text()``.
    """
    if not (0 < float(alpha) < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (float(smd_threshold) > 0):
        raise ValueError(f"smd_threshold must be > 0, got {smd_threshold!r}")
    if (sample_labels is None) != (frame_labels is None):
        raise ValueError("sample_labels and frame_labels must be given together")
    if (sample_X is None) != (frame_X is None):
        raise ValueError("sample_X and frame_X must be given together")
    comp = composition_test(sample_labels, frame_labels) if sample_labels is not None else None
    smd = None
    names: tuple[str, ...] = ()
    n_s = n_f = 0
    if comp is not None:
        n_s, n_f = int(comp.observed.sum()), int(np.asarray(frame_labels).size)
    if sample_X is not None:
        smd = standardized_mean_differences(sample_X, frame_X, sample_weights)
        if variable_names is None:
            names = tuple(f"x{j + 1}" for j in range(smd.size))
        else:
            names = tuple(str(v) for v in variable_names)
            if len(names) != smd.size:
                raise ValueError(f"variable_names must have {smd.size} names, got {len(names)}")
        if comp is None:
            n_s, n_f = int(np.asarray(sample_X).shape[0]), int(np.asarray(frame_X).shape[0])
    return RepresentativenessSummary(
        n_sample=n_s,
        n_frame=n_f,
        composition=comp,
        smd=smd,
        variable_names=names,
        rates=rates,
        alpha=float(alpha),
        smd_threshold=float(smd_threshold),
    )
