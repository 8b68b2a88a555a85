"""Design-based survey estimation (a pure numpy/scipy library reproducing R ``survey`` 4.5).

One design object (:class:`Design`) -> estimator influence values -> one variance engine
(:mod:`analysis.variance`) -> small frozen results (:mod:`analysis.results`).

>>> import numpy as np, analysis as an
>>> d = an.Design(weights=np.full(4, 2.0))
>>> round(an.mean(np.array([1.0, 2.0, 3.0, 4.0]), d).estimate, 2)
2.5
"""

from .by import by
from .calibration import calibrate, poststratify, rake, rake_weights, trim_weights
from .contrasts import contrast, difference_independent
from .design import Design
from .diagnostics import WeightDiagnostics, effective_sample_size, kish_deff, weight_diagnostics
from .estimators import mean, ratio, total, variance
from .indices import (
    DomainFamilies,
    GroupCodes,
    expectation_shares,
    expectation_shares_by,
    mean_scores,
    mean_scores_by,
    sipas_index,
    sipas_index_by,
)
from .nonresponse import nonresponse_adjust, rake_trim, response_groups
from .proportions import proportion
from .quantiles import quantile
from .results import ByTable, ContrastEstimate, Estimate, IndexTable, ProportionEstimate, QuantileEstimate
from .small_area import FayHerriotResult, fay_herriot

__all__ = [
    "Design",
    "Estimate",
    "ProportionEstimate",
    "QuantileEstimate",
    "ByTable",
    "WeightDiagnostics",
    "mean",
    "total",
    "ratio",
    "variance",
    "proportion",
    "quantile",
    "by",
    "poststratify",
    "rake",
    "rake_weights",
    "calibrate",
    "trim_weights",
    "weight_diagnostics",
    "kish_deff",
    "effective_sample_size",
    "IndexTable",
    "ContrastEstimate",
    "GroupCodes",
    "DomainFamilies",
    "sipas_index",
    "mean_scores",
    "expectation_shares",
    "sipas_index_by",
    "mean_scores_by",
    "expectation_shares_by",
    "contrast",
    "difference_independent",
    "nonresponse_adjust",
    "response_groups",
    "rake_trim",
    "fay_herriot",
    "FayHerriotResult",
]
