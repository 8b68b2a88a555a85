"""Replicate-weight (jackknife) designs; their variance is in :mod:`analysis.variance`."""

from __future__ import annotations

import numpy as np

from .design import Design, JackknifeStructure, ReplicateWeights

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

    The replicate weights are kept as a :class:`~analysis.design.JackknifeStructure` (unit,
    stratum and factor of each replicate), never as an n x R matrix: replicate totals come from
    PSU totals, so a JK1 design with one replicate per respondent costs O(n + R) per statistic.
    Calibrating or trimming a jackknife design materialises the matrix (up to a size limit).
    """
    if design.is_replicate:
        raise ValueError("design is already a replicate design")
    if design.calibrations:
        raise ValueError("jackknife() must be called before calibration; calibrate the replicate design")
    st = design.stages[0]
    u = st.n_units
    if u < 2:
        raise ValueError("jackknife needs at least two PSUs")
    if st.n_strata == 1:
        rep_unit = np.arange(u)
        rscales = st.omf.copy()
        scale, kind = (u - 1.0) / u, "JK1"
    else:
        rep_unit = np.flatnonzero(st.n_h[st.stratum] > 1)
        nh = st.n_h[st.stratum[rep_unit]].astype(float)
        rscales = (nh - 1.0) / nh * st.omf[rep_unit]
        scale, kind = 1.0, "JKn"
    rep_stratum = st.stratum[rep_unit]
    nh = st.n_h[rep_stratum].astype(float)
    structure = JackknifeStructure(
        unit=st.codes,
        n_units=u,
        unit_stratum=st.stratum,
        n_strata=st.n_strata,
        rep_unit=rep_unit,
        rep_stratum=rep_stratum,
        factor=nh / (nh - 1.0),
    )
    return design._evolve(rep=ReplicateWeights(None, rscales, scale, mse, kind, structure))
