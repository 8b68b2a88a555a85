"""Replicate-weight (jackknife) designs; their variance is in :mod:`analysis.variance`."""

from __future__ import annotations

import numpy as np

from .design import Design, ReplicateWeights

__all__ = ["jackknife"]


def jackknife(design: Design, mse: bool = True) -> Design:
    """Delete-one-PSU jackknife replicate design (R ``as.svrepdesign``).

    Unstratified designs give JK1 (scale (n-1)/n, rscales 1-f); stratified designs give
    JKn (rscales (n_h-1)/n_h (1-f_h)), R's default for ``type="auto"``.

    Parameters
    ----------
    design : Design
        A linearisation design (not yet calibrated).
    mse : bool
        Centre replicates on the full-sample estimate (True) or on their mean.

    Notes
    -----
    Replicate weight r is ``w_i n_h/(n_h-1)`` for rows of stratum h outside PSU r, 0 in
    PSU r, and ``w_i`` elsewhere. Post-stratify, rake or calibrate the replicate design
    afterwards to calibrate every replicate (R semantics).

    References
    ----------
    Lumley, T. (2010). *Complex Surveys*, section 2.3.
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., chapter 4.

    The n x R replicate-weight matrix is dense: fine for survey-sized data, not meant for
    millions of rows with thousands of PSUs.
    """
    if design.is_replicate:
        raise ValueError("design is already a replicate design")
    if design.calibrations:
        raise ValueError("jackknife() must be called before calibration; calibrate the replicate design")
    st = design.stages[0]
    u = st.n_units
    if u < 2:
        raise ValueError("jackknife needs at least two PSUs")
    row_stratum = st.stratum[st.codes]
    if st.n_strata == 1:
        factor = np.full((design.n, u), u / (u - 1.0))
        factor[np.arange(design.n), st.codes] = 0.0
        return design._evolve(
            rep=ReplicateWeights(design.weights[:, None] * factor, st.omf.copy(), (u - 1.0) / u, mse, "JK1")
        )
    keep_units = np.flatnonzero(st.n_h[st.stratum] > 1)
    rep_stratum = st.stratum[keep_units]
    nh = st.n_h[rep_stratum].astype(float)
    same = row_stratum[:, None] == rep_stratum[None, :]
    factor = np.where(same, nh / (nh - 1.0), 1.0)
    factor[st.codes[:, None] == keep_units[None, :]] = 0.0
    rscales = (nh - 1.0) / nh * st.omf[keep_units]
    return design._evolve(rep=ReplicateWeights(design.weights[:, None] * factor, rscales, 1.0, mse, "JKn"))
