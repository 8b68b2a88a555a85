"""Read the admin design form into a :class:`SampleDesign` and a :class:`FrameFilter` (pure, no database).

Every problem names its field; numbers accept the Vietnamese decimal comma (``0,05``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from survey.campaigns.services import SampleDesign, check_design
from survey.responses.validation import FieldError
from survey.stats import FrameFilter

STRATA_CHOICES = ("unit", "field", "unit,field", "channel", "none")
CHANNELS = ("direct", "online", "postal")


@dataclass(frozen=True, slots=True)
class ParsedDesign:
    design: SampleDesign | None
    frame_filter: FrameFilter | None
    errors: list[FieldError]
    #: what was sent, as text, to re-render the form
    values: dict[str, Any]


def _many(form: Any, name: str) -> list[str]:
    if hasattr(form, "getall"):
        return [v.strip() for v in form.getall(name, []) if isinstance(v, str) and v.strip()]
    v = form.get(name)
    if isinstance(v, str):
        return [v.strip()] if v.strip() else []
    return [x.strip() for x in (v or []) if isinstance(x, str) and x.strip()]


def parse_design_form(form: Any, timezone: str = "Asia/Ho_Chi_Minh") -> ParsedDesign:
    def one(name: str) -> str:
        v = form.get(name)
        return v.strip() if isinstance(v, str) else ""

    errors: list[FieldError] = []

    def num(name: str, kind: type, default: Any, vi: str, en: str) -> Any:
        raw = one(name).replace(" ", "")
        if raw == "":
            return default
        try:
            return kind(raw.replace(",", ".")) if kind is float else int(raw)
        except ValueError:
            errors.append(FieldError(name, f"{vi} phải là một số (đang là “{raw}”).", f"{en} must be a number, got “{raw}”."))
            return default

    def day(name: str, vi: str, en: str) -> date | None:
        raw = one(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors.append(FieldError(name, f"{vi} không phải ngày hợp lệ (YYYY-MM-DD).", f"{en} is not a valid date (YYYY-MM-DD)."))
            return None

    values: dict[str, Any] = {k: one(k) for k in (
        "name", "period_from", "period_to", "strata", "size_method", "n", "margin", "confidence", "deff",
        "response_rate", "allocation", "power", "minimum", "seed", "reserve_fraction")}
    values["units"] = _many(form, "unit")
    values["fields"] = _many(form, "field")
    values["channels"] = _many(form, "channel")
    values["completed_only"] = one("completed_only") in ("1", "on", "true")
    period_from = day("period_from", "Từ ngày", "From date")
    period_to = day("period_to", "Đến ngày", "To date")
    if period_from and period_to and period_to < period_from:
        errors.append(FieldError("period_to", "“Đến ngày” phải sau “Từ ngày”.", "The end date is before the start date."))
    strata_text = values["strata"] or "unit"
    if strata_text not in STRATA_CHOICES:
        errors.append(FieldError("strata", "Cách phân tầng không hợp lệ.", "Unknown stratification."))
        strata_text = "unit"
    strata = () if strata_text == "none" else tuple(strata_text.split(","))
    bad_channels = [c for c in values["channels"] if c not in CHANNELS]
    if bad_channels:
        errors.append(FieldError("channel", "Kênh tiếp nhận không hợp lệ.", "Unknown channel."))
    size_method = values["size_method"] or "fixed"
    n = num("n", int, None, "Cỡ mẫu n", "n")
    margin = num("margin", float, None, "Sai số", "margin")
    confidence = num("confidence", float, 0.95, "Độ tin cậy", "confidence")
    deff = num("deff", float, 1.0, "Hiệu ứng thiết kế", "deff")
    response_rate = num("response_rate", float, 1.0, "Tỷ lệ trả lời", "response_rate")
    power = num("power", float, 0.5, "Số mũ", "power")
    minimum = num("minimum", int, 0, "Tối thiểu mỗi tầng", "minimum")
    seed = num("seed", int, None, "Hạt giống", "seed")
    reserve = num("reserve_fraction", float, 0.0, "Tỷ lệ dự phòng", "reserve_fraction")
    if errors:
        return ParsedDesign(None, None, errors, values)
    design = SampleDesign(
        name=values["name"], strata=strata, size_method=size_method, n=n, margin=margin, confidence=confidence,
        deff=deff, response_rate=response_rate, allocation=values["allocation"] or "proportional", power=power,
        minimum=minimum, seed=seed, reserve_fraction=reserve,
    )
    errors = check_design(design)
    flt = FrameFilter(
        period_from=period_from, period_to=period_to, unit_codes=tuple(values["units"]), fields=tuple(values["fields"]),
        channels=tuple(values["channels"]), completed_only=values["completed_only"], timezone=timezone,
    )
    return ParsedDesign(None if errors else design, flt, errors, values)
