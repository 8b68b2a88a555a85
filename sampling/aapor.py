"""AAPOR outcome rates (response, cooperation, refusal, contact) from final dispositions."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["AAPORRates", "aapor_rates", "disposition_counts"]


@dataclass(frozen=True, slots=True)
class AAPORRates:
    """AAPOR Standard Definitions outcome rates (NaN where a denominator is 0).

    Attributes are ``rr1`` .. ``rr6``, ``coop1`` .. ``coop4``, ``ref1`` .. ``ref3``,
    ``con1`` .. ``con3``, plus the counts used and ``e``.
    """

    rr1: float
    rr2: float
    rr3: float
    rr4: float
    rr5: float
    rr6: float
    coop1: float
    coop2: float
    coop3: float
    coop4: float
    ref1: float
    ref2: float
    ref3: float
    con1: float
    con2: float
    con3: float
    e: float
    counts: tuple[tuple[str, float], ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (rates, ``e`` and the counts) for JSON / templates."""
        d = asdict(self)
        d["counts"] = dict(self.counts)
        return d

    def to_text(self) -> str:
        """Short plain-English summary."""
        return (
            f"Response rate RR1 {self.rr1:.1%} (RR3 {self.rr3:.1%} with e={self.e:.2f}); "
            f"cooperation COOP1 {self.coop1:.1%}; refusal REF1 {self.ref1:.1%}; contact CON1 {self.con1:.1%}."
        )


def _div(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def _count(v: Any, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative count, got {v!r}") from None
    if not math.isfinite(f) or f < 0:
        raise ValueError(f"{name} must be a finite non-negative count, got {v!r}")
    return f


def aapor_rates(
    I: Any,  # noqa: E741 - AAPOR's own symbol
    P: Any,
    R: Any,
    NC: Any,
    O: Any,  # noqa: E741
    UH: Any,
    UO: Any,
    e: Any = None,
    NE: Any = None,
) -> AAPORRates:
    r"""AAPOR response, cooperation, refusal and contact rates.

    Parameters
    ----------
    I, P : int
        Complete and partial interviews.
    R, NC, O : int
        Eligible non-interviews: refusals and break-offs, non-contacts, other.
    UH, UO : int
        Unknown eligibility: unknown if household/occupied (UH), other unknown (UO).
    e : float, optional
        Estimated share of unknown-eligibility cases that are eligible, in [0, 1].
        Default: from ``NE`` as the eligible share among cases of known eligibility
        (the "proportional allocation" estimate); without ``NE``, ``e = 1`` (most
        conservative; RR3 = RR1).
    NE : int, optional
        Cases known to be not eligible (used only to estimate ``e``).

    Returns
    -------
    AAPORRates

    Notes
    -----
    With :math:`E = (I+P) + (R+NC+O)` and :math:`U = UH + UO`:

    * RR1 = I / (E + U), RR2 = (I+P) / (E + U), RR3 = I / (E + eU), RR4 = (I+P) / (E + eU),
      RR5 = I / E, RR6 = (I+P) / E;
    * COOP1 = I / ((I+P)+R+O), COOP2 = (I+P) / ((I+P)+R+O), COOP3 = I / ((I+P)+R),
      COOP4 = (I+P) / ((I+P)+R);
    * REF1 = R / (E + U), REF2 = R / (E + eU), REF3 = R / E;
    * CON1 = ((I+P)+R+O) / (E + U), CON2 = ((I+P)+R+O) / (E + eU), CON3 = ((I+P)+R+O) / E.

    References
    ----------
    The American Association for Public Opinion Research (2023). *Standard Definitions:
    Final Dispositions of Case Codes and Outcome Rates for Surveys*, 10th edition. AAPOR.
    """
    i, p, r, nc, o, uh, uo = (
        _count(v, nm)
        for v, nm in zip((I, P, R, NC, O, UH, UO), ("I", "P", "R", "NC", "O", "UH", "UO"), strict=True)
    )
    E = i + p + r + nc + o
    if e is None:
        if NE is not None:
            ne = _count(NE, "NE")
            e_val = _div(E, E + ne)
            if math.isnan(e_val):
                e_val = 1.0
        else:
            e_val = 1.0
    else:
        try:
            e_val = float(e)
        except (TypeError, ValueError):
            raise ValueError(f"e must be a number in [0, 1], got {e!r}") from None
        if not (0.0 <= e_val <= 1.0):
            raise ValueError(f"e must be in [0, 1], got {e!r}")
    U = uh + uo
    ip = i + p
    contacted = ip + r + o
    counts = (("I", i), ("P", p), ("R", r), ("NC", nc), ("O", o), ("UH", uh), ("UO", uo))
    if NE is not None:
        counts = counts + (("NE", _count(NE, "NE")),)
    return AAPORRates(
        rr1=_div(i, E + U),
        rr2=_div(ip, E + U),
        rr3=_div(i, E + e_val * U),
        rr4=_div(ip, E + e_val * U),
        rr5=_div(i, E),
        rr6=_div(ip, E),
        coop1=_div(i, ip + r + o),
        coop2=_div(ip, ip + r + o),
        coop3=_div(i, ip + r),
        coop4=_div(ip, ip + r),
        ref1=_div(r, E + U),
        ref2=_div(r, E + e_val * U),
        ref3=_div(r, E),
        con1=_div(contacted, E + U),
        con2=_div(contacted, E + e_val * U),
        con3=_div(contacted, E),
        e=e_val,
        counts=counts,
    )


_GROUPS = ("I", "P", "R", "NC", "O", "UH", "UO", "NE")


def disposition_counts(codes: Any) -> dict[str, int]:
    """Tally AAPOR final disposition codes into the groups of :func:`aapor_rates`.

    Parameters
    ----------
    codes : array_like of str or float
        AAPOR codes such as ``"1.1"`` (complete), ``"1.2"`` (partial), ``"2.11"``/``"2.1"``
        (refusal/break-off), ``"2.2"`` (non-contact), ``"2.3"`` (other), ``"3.1"`` (unknown
        if household), ``"3.2"``-``"3.9"`` (other unknown), ``"4.x"`` (not eligible).

    Returns
    -------
    dict
        Counts for I, P, R, NC, O, UH, UO, NE; pass as ``aapor_rates(**counts)``.

    References
    ----------
    AAPOR (2023). *Standard Definitions*, 10th ed., Tables 1-4.
    """
    arr = np.asarray(codes).astype(str).ravel()
    out = dict.fromkeys(_GROUPS, 0)
    for code in arr.tolist():
        c = code.strip()
        parts = c.split(".")
        if len(parts) < 2 or not parts[0].isdigit() or not parts[1][:1].isdigit():
            raise ValueError(f"codes contains an invalid AAPOR disposition code {code!r}")
        major, minor = parts[0], parts[1][0]
        if major == "1" and minor == "1":
            out["I"] += 1
        elif major == "1" and minor == "2":
            out["P"] += 1
        elif major == "2" and minor == "1":
            out["R"] += 1
        elif major == "2" and minor == "2":
            out["NC"] += 1
        elif major == "2":
            out["O"] += 1
        elif major == "3" and minor == "1":
            out["UH"] += 1
        elif major == "3":
            out["UO"] += 1
        elif major == "4":
            out["NE"] += 1
        else:
            raise ValueError(f"codes contains an invalid AAPOR disposition code {code!r}")
    return out
