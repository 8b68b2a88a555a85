"""Hài Lòng sampling: sample size, allocation, selection and representativeness checks.

A pure library (numpy and scipy only): plain arrays in, small frozen result objects out.

Typical use (e.g. from ``survey/stats.py`` or the ``hailong sample`` command)::

    import sampling

    n = sampling.sample_size_proportion(p=0.5, margin=0.03, deff=1.5, response_rate=0.7)
    s = sampling.draw_stratified_sample(commune_of_receipt, n, seed=2025,
                                        allocation="power", minimum=30, reserve_fraction=0.3)
    s.indices, s.probs, s.strata        # the sample
    s.reserve.indices, s.reserve.order  # replacements, in the order to use them
    s.table()                           # allocation per stratum

To analyse responses, build ``analysis.Design(probs=sel.probs, strata=sel.strata,
psu=[sel.psu])`` for the responding rows (``Selection.design_arguments()`` gives these).
Every draw takes a ``seed`` and is reproducible.
"""

from .aapor import AAPORRates, aapor_rates, disposition_counts
from .allocation import allocate, round_allocation
from .pps import inclusion_probabilities, pps_brewer, pps_sampford, pps_systematic
from .results import Selection, StratifiedSample
from .selection import draw_stratified_sample, reserve, srs, stratified, systematic, two_stage
from .size import (
    design_effect_cluster,
    margin_of_error,
    sample_size_by_stratum,
    sample_size_mean,
    sample_size_proportion,
    slovin,
)
from .validation import (
    CompositionTest,
    FrequencyTest,
    RepresentativenessSummary,
    composition_test,
    representativeness_summary,
    selection_frequency_test,
    standardized_mean_differences,
)

__all__ = [
    "AAPORRates",
    "CompositionTest",
    "FrequencyTest",
    "RepresentativenessSummary",
    "Selection",
    "StratifiedSample",
    "aapor_rates",
    "allocate",
    "composition_test",
    "design_effect_cluster",
    "disposition_counts",
    "draw_stratified_sample",
    "inclusion_probabilities",
    "margin_of_error",
    "pps_brewer",
    "pps_sampford",
    "pps_systematic",
    "representativeness_summary",
    "reserve",
    "round_allocation",
    "sample_size_by_stratum",
    "sample_size_mean",
    "sample_size_proportion",
    "selection_frequency_test",
    "slovin",
    "srs",
    "standardized_mean_differences",
    "stratified",
    "systematic",
    "two_stage",
]
