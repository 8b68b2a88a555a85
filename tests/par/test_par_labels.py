"""Pages show the PAR methodology's codes (criterion sources, SIPAS measures and pillars) by their labels."""

from survey.labels import LABELS, label
from survey.par import methodology as meth


def test_every_source_measure_and_pillar_has_a_label_in_both_languages():
    for kind, codes in (("par_source", meth.SOURCES), ("par_measure", meth.SIPAS_MEASURES), ("sipas_pillar", meth.SIPAS_PILLARS)):
        assert set(codes) <= set(LABELS[kind]), kind
        for code in codes:
            assert label(kind, code, "en") != LABELS[kind][code], (kind, code)  # the catalogue has its English
