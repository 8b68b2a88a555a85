"""Template helpers of the results pages and the report (formatters, labels, axes); the same for web and PDF."""

from __future__ import annotations

from datetime import date
from typing import Any

from survey import i18n
from survey.results import charts

EXCLUSION_LABELS = {
    "review_pending": "Đang chờ xem xét (kiosk bị gắn cờ)",
    "review_rejected": "Bị từ chối khi xem xét",
    "questionnaire": "Phiếu hỏi không tương thích",
    "kiosk_window_excess": "Kiosk vượt mức bất thường trong cửa sổ thời gian",
    "no_answer": "Không trả lời câu nào",
}
CHANNEL_LABELS = {"qr": "QR trên phiếu hẹn", "kiosk": "Kiosk tại quầy", "campaign": "Khảo sát mẫu", "expert": "Chuyên gia", "web": "Trang web", "paper": "Phiếu giấy",
                  "direct": "Nộp trực tiếp", "online": "Nộp trực tuyến", "postal": "Qua bưu chính"}
VARIABLE_LABELS = {"unit": "Đơn vị", "field": "Lĩnh vực", "channel": "Kênh", "stratum": "Tầng"}


def exclusion_label(rule: str) -> str:
    return EXCLUSION_LABELS.get(rule, rule)


def channel_label(name: str) -> str:
    return CHANNEL_LABELS.get(name, name)


def variable_label(name: str) -> str:
    return VARIABLE_LABELS.get(name, name)


def axis_for(table: Any) -> tuple[float, float, list[float]]:
    """The CI-bar axis of a league table (shared by its rows)."""
    return charts.share_axis([r.cell.low for r in table.rows if r.cell.shown])


def helpers(lang: str, tz: str = "Asia/Ho_Chi_Minh") -> dict[str, Any]:
    """Everything the results templates call besides the data."""

    def fmt_iso(value: str | date | None) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return value
        return i18n.fmt_date(value, lang, tz)

    return {
        "fmt_margin": lambda v, digits=1: i18n.fmt_margin(v, lang, digits),
        "fmt_points": lambda v, digits=1: i18n.fmt_points(v, lang, digits),
        "fmt_iso": fmt_iso,
        "axis_for": axis_for,
        "exclusion_label": exclusion_label,
        "variable_label": variable_label,
        "channel_label": channel_label,
    }


def base_context(lang: str, tz: str = "Asia/Ho_Chi_Minh") -> dict[str, Any]:
    """The full formatting context for rendering outside a request (the PDF, the CLI, benchmarks)."""
    return {
        "lang": lang,
        "_": i18n.translator(lang),
        "fmt_number": lambda v, digits=2: i18n.fmt_number(v, lang, digits),
        "fmt_percent": lambda v, digits=1: i18n.fmt_percent(v, lang, digits),
        "fmt_date": lambda v: i18n.fmt_date(v, lang, tz),
        "fmt_datetime": lambda v: i18n.fmt_datetime(v, lang, tz),
        **helpers(lang, tz),
    }
