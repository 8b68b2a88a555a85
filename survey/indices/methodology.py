"""Methodology versions: how a run turns answers into indices.  A version is never edited once used;
a changed method is a new version (the version is stored with every run and is part of its hash)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_METHODOLOGY = "sipas-2023-v1"


@dataclass(frozen=True, slots=True)
class Methodology:
    """Index definitions (DESIGN §4) and the weighting and integrity choices of one version."""

    version: str
    description: str
    #: answers counted as satisfied (item index = weighted share of these among substantive answers)
    satisfied: tuple[int, ...] = (4, 5)
    #: overall ratings counted as "không hài lòng" for the QĐ 766 administrative rate
    dissatisfied: tuple[int, ...] = (1, 2)
    #: questionnaire of the probability-sample (campaign) survey and of the self-selected channels
    sample_questionnaire: str = "sipas-full"
    self_selected_questionnaire: str = "sipas-short"
    self_selected_channels: tuple[str, ...] = ("qr", "kiosk")
    #: confidence level and interval method for shares (Korn-Graubard "beta": finite at p = 0 or 1)
    level: float = 0.95
    interval: str = "beta"
    #: receipt margins the weights are raked to
    raking: tuple[str, ...] = ("unit", "field")
    #: self-selected runs: "fixed_weights" = standard errors treat the raked weights as fixed (the figures are
    #: model-based anyway: not a probability sample); "calibrated" = linearisation through the raking
    self_selected_variance: str = "fixed_weights"
    #: strata with one respondent (R options(survey.lonely.psu))
    lonely_psu: str = "adjust"
    #: QĐ 766: full points at this rate or above, proportional below
    admin_766_full_points_at: float = 0.90
    #: kiosk rolling-window rule (survey/indices/integrity.py)
    kiosk_window_days: int = 7
    kiosk_window_alpha: float = 0.001
    kiosk_window_min_device: int = 10
    kiosk_window_min_reference: int = 20

    def as_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


METHODOLOGIES: dict[str, Methodology] = {
    "sipas-2023-v1": Methodology(
        version="sipas-2023-v1",
        description=(
            "SIPAS (QĐ 1001/QĐ-BNV 2023): item index = weighted share answering 4 or 5 among substantive answers; "
            "pillar = mean of its items; SIPAS = mean of the 5 pillars. Weights 1/π, nonresponse adjustment within "
            "strata, raking to the receipts' unit and field margins."
        ),
    ),
}


class UnknownMethodology(LookupError):
    def __init__(self, version: str):
        super().__init__(f"methodology version {version!r} does not exist (known: {', '.join(sorted(METHODOLOGIES))})")
        self.version = version


def get_methodology(version: str) -> Methodology:
    try:
        return METHODOLOGIES[version]
    except KeyError:
        raise UnknownMethodology(version) from None
