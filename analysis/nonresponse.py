"""Nonresponse adjustment in weighting classes from AAPOR final dispositions, and raking
alternated with weight trimming until both the margins and the caps hold.

References
----------
The American Association for Public Opinion Research (2023). *Standard Definitions: Final
Dispositions of Case Codes and Outcome Rates for Surveys*, 10th ed.
Valliant, R., Dever, J. A., Kreuter, F. (2018). *Practical Tools for Designing and Weighting
Survey Samples*, 2nd ed., Springer, chapters 13-14.
Kalton, G., Flores-Cervantes, I. (2003). Weighting methods. *J. Official Statistics* 19, 81-97.
"""

from __future__ import annotations

import numpy as np

from ._arrays import as_float, as_labels, factorize
from .calibration import rake
from .design import Design, ReplicateWeights
from .estimators import _check_design, missing_labels

__all__ = ["nonresponse_adjust", "rake_trim", "AAPOR_GROUPS", "response_groups"]

#: AAPOR final disposition codes (survey/db/models/campaigns.py MEMBER_STATUSES) by group.
AAPOR_GROUPS = {
    "respondent": ("I", "P"),
    "eligible_nonrespondent": ("R", "NC", "O"),
    "unknown": ("UH", "UO", "pending"),
    "ineligible": ("NE",),
}
_GROUP_CODE = {"respondent": 0, "eligible_nonrespondent": 1, "unknown": 2, "ineligible": 3}


def response_groups(status, respondents=("I", "P")) -> np.ndarray:
    """Group code per member: 0 respondent, 1 eligible nonrespondent, 2 unknown eligibility,
    3 ineligible. ``respondents`` chooses which of I (complete) / P (partial) count as responding;
    the other then counts as an eligible nonrespondent. "pending" counts as unknown eligibility."""
    st = as_labels(status, "status").astype(str)
    resp = tuple(respondents)
    if not resp or not set(resp) <= {"I", "P"}:
        raise ValueError(f"respondents must be a non-empty subset of ('I', 'P'), got {respondents!r}")
    code = np.full(st.shape[0], -1, dtype=np.int8)
    for grp, codes in AAPOR_GROUPS.items():
        code[np.isin(st, codes)] = _GROUP_CODE[grp]
    code[np.isin(st, [c for c in ("I", "P") if c not in resp])] = 1
    code[np.isin(st, resp)] = 0
    bad = code < 0
    if bad.any():
        known = sorted({c for v in AAPOR_GROUPS.values() for c in v})
        raise ValueError(f"status: unknown disposition {st[bad][0]!r} (expected one of {known})")
    return code


def nonresponse_adjust(weights, status, classes=None, *, respondents=("I", "P")) -> np.ndarray:
    """Adjust base weights for unknown eligibility and nonresponse within weighting classes.

    Parameters
    ----------
    weights : array_like (n,)
        Base (design) weights of every sampled member, respondents or not; non-negative.
    status : array_like (n,) of str
        AAPOR final disposition: I complete, P partial (respondents); R refusal/break-off,
        NC non-contact, O other (eligible nonrespondents); UH, UO unknown eligibility (also
        "pending"); NE not eligible.
    classes : array_like (n,), optional
        Weighting class of each member (e.g. unit x channel); ``None`` = one class.
    respondents : tuple
        Which of ``("I", "P")`` count as respondents.

    Returns
    -------
    ndarray (n,)
        Adjusted weights: positive for respondents, 0 for everyone else. They add up, in each
        class and overall, to the estimated number of eligible members.

    Notes
    -----
    In class c, with :math:`W_X = \\sum_{i \\in X} w_i` for respondents R, eligible
    nonrespondents E, unknown eligibility U and ineligibles N:

    1. unknown eligibility: members of known eligibility get
       :math:`a_{1c} = (W_R + W_E + W_U + W_N)/(W_R + W_E + W_N)` (U is spread in proportion,
       i.e. with the eligibility rate :math:`e_c = (W_R+W_E)/(W_R+W_E+W_N)`);
    2. nonresponse: respondents get :math:`a_{2c} = (W_R + W_E)/W_R`.

    So :math:`\\sum_R w_i a_{1c} a_{2c} = W_R + W_E + e_c W_U`, the eligible total of the class.

    References
    ----------
    AAPOR (2023). *Standard Definitions*, 10th ed. (outcome rate RR3 uses the same e).
    Valliant, R., Dever, J. A., Kreuter, F. (2018). *Practical Tools for Designing and Weighting
    Survey Samples*, section 13.5.
    """
    w = as_float(weights, "weights", allow_nan=False)
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    n = w.shape[0]
    grp = response_groups(as_labels(status, "status", n), respondents)
    if classes is None:
        levels, codes = np.array(["all"]), np.zeros(n, dtype=np.intp)
    else:
        lab = as_labels(classes, "classes", n)
        if missing_labels(lab).any():
            raise ValueError("classes contains missing values")
        levels, codes = factorize(lab)
    C = levels.shape[0]
    W = np.bincount(codes * 4 + grp, weights=w, minlength=C * 4).reshape(C, 4)
    WR, WE, WU, WN = W.T
    known = WR + WE + WN
    bad_u = (WU > 0) & (known <= 0)
    if bad_u.any():
        raise ValueError(
            f"classes: class {levels[np.argmax(bad_u)].item()!r} has only members of unknown eligibility; "
            "collapse it with another class"
        )
    bad_r = (WE + WU * np.divide(WR + WE, known, out=np.zeros(C), where=known > 0) > 0) & (WR <= 0)
    if bad_r.any():
        raise ValueError(
            f"classes: class {levels[np.argmax(bad_r)].item()!r} has eligible members but no respondent "
            "with positive weight; collapse it with another class"
        )
    a1 = np.divide(known + WU, known, out=np.ones(C), where=known > 0)
    a2 = np.divide(WR + WE, WR, out=np.zeros(C), where=WR > 0)
    return np.where(grp == 0, w * (a1 * a2)[codes], 0.0)


def _with_weights(design: Design, w: np.ndarray) -> Design:
    """``design`` with new full-sample weights; replicate weights scaled row by row alike."""
    if not design.is_replicate or design.replicates.weights is None:  # a jackknife follows w
        return design._evolve(w=w)
    rep = design.replicates
    factor = np.divide(w, design.weights, out=np.zeros_like(w), where=design.weights > 0)
    return design._evolve(
        w=w, rep=ReplicateWeights(rep.weights * factor[:, None], rep.rscales, rep.scale, rep.mse, rep.kind)
    )


def rake_trim(
    design: Design,
    margins,
    *,
    k_median: float | None = None,
    upper_quantile: float | None = None,
    lower: float | None = None,
    epsilon: float = 1e-8,
    max_iter: int = 100,
) -> Design:
    """Rake to the margins and cap the weights, alternating until both hold.

    Parameters
    ----------
    design : Design
    margins : sequence of (groups, totals)
        As for :func:`analysis.rake`.
    k_median : float, optional
        Cap every weight at ``k_median * median`` of the positive weights (e.g. 3.5 or 5).
    upper_quantile : float, optional
        Cap every weight at this quantile of the positive weights (e.g. 0.99).
    lower : float, optional
        Floor for positive weights (absolute value).
    epsilon : float
        Tolerance for the margins (relative, as :func:`analysis.rake`) and the caps
        (``w <= cap * (1 + epsilon ** 0.5)``).
    max_iter : int
        Maximum number of rake/trim rounds; failing raises ValueError.

    Returns
    -------
    Design
        The last step is a rake, so its linearisation SEs account for the calibration to the
        margins (the capping itself is treated as fixed, as usual).

    Notes
    -----
    Round t: rake; compute the cap :math:`c_t = \\min(k\\,\\mathrm{med}(w), Q_q(w))` of the raked
    weights; stop when every weight is at most :math:`c_t`; otherwise set
    :math:`w_i \\leftarrow \\min(w_i, c_t)` (and :math:`\\max(w_i, \\ell)`) and rake again.

    References
    ----------
    Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling weights.
    *Proc. ASA Survey Research Methods Section*, 225-230.
    Izrael, D., Battaglia, M. P., Frankel, M. R. (2009). Extreme survey weight adjustment as a
    component of sample balancing (a.k.a. raking). *Proc. SAS Global Forum*, paper 247.
    """
    design = _check_design(design)
    if k_median is None and upper_quantile is None and lower is None:
        raise ValueError("give k_median, upper_quantile or lower")
    if k_median is not None and not k_median > 1:
        raise ValueError(f"k_median must be greater than 1, got {k_median!r}")
    if upper_quantile is not None and not 0.5 < upper_quantile < 1:
        raise ValueError(f"upper_quantile must lie in (0.5, 1), got {upper_quantile!r}")
    if lower is not None and not lower > 0:
        raise ValueError(f"lower must be positive, got {lower!r}")
    if int(max_iter) < 1:
        raise ValueError("max_iter must be at least 1")
    slack = 1.0 + np.sqrt(epsilon)
    current = design
    for _ in range(int(max_iter)):
        raked = rake(current, margins, epsilon=epsilon, max_iter=1000)
        w = np.array(raked.weights)
        pos = w > 0
        caps = []
        if k_median is not None:
            caps.append(k_median * float(np.median(w[pos])))
        if upper_quantile is not None:
            caps.append(float(np.quantile(w[pos], upper_quantile)))
        cap = min(caps) if caps else np.inf
        floor = 0.0 if lower is None else float(lower)
        if floor >= cap:
            raise ValueError(f"lower ({floor:g}) must be below the cap ({cap:g})")
        if np.all(w[pos] <= cap * slack) and np.all(w[pos] * slack >= floor):
            return raked
        trimmed = np.where(pos, np.clip(w, floor, cap), 0.0)
        current = _with_weights(design, trimmed)
    raise ValueError(
        f"rake_trim did not converge in max_iter={max_iter} rounds; the caps may be inconsistent "
        "with the margins (raise k_median or upper_quantile)"
    )
