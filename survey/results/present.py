"""Template helpers of the results pages and the report (formatters, labels, axes); the same for web and PDF."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

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


_QUANTUM = {d: Decimal(1).scaleb(-d) for d in range(8)}
_VI = str.maketrans(",.", ".,")


def fast_number(value: float | int | None, lang: str, digits: int = 2, scale: int = 0) -> str:
    """``i18n.fmt_number`` (``scale=2``: the number part of ``i18n.fmt_percent``) without Babel's per-call parsing.

    Same arithmetic as Babel: ``Decimal(str(value))`` scaled, quantized half-even, grouped by thousands;
    Vietnamese swaps the separators (90,54; 1.137).  The results pages format thousands of numbers, so this
    matters; ``tests/results/test_views.py`` checks it against Babel.
    """
    if value is None:
        return "–"
    q = Decimal(str(value)).scaleb(scale).quantize(_QUANTUM[digits])
    text = f"{q:,.{digits}f}"
    return text.translate(_VI) if lang == "vi" else text


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

    def fmt_percent(share: float | None, digits: int = 1) -> str:
        return "–" if share is None else fast_number(share, lang, digits, scale=2) + "%"

    def fmt_margin(half: float | None, digits: int = 1) -> str:
        if half is None:
            return "–"
        return f"±{fast_number(abs(half), lang, digits, scale=2)}" + (" điểm %" if lang == "vi" else " pp")

    _ = i18n.translator(lang)
    model_title = escape(_("Ước lượng mô hình (Fay–Herriot) vì mẫu nhỏ"))
    model_mark = escape(_("mô hình"))
    ci_word = escape(_("KTC"))

    def show_value(cell: Any, min_n: int | None = None) -> Markup:
        """A figure with its margin of error (or its interval when lopsided), or why it is not shown."""
        if cell is None:
            return Markup('<span class="na">–</span>')
        if not cell.shown:
            if cell.reason == "suppressed":
                why = _("Không công bố") + (f" ({_('dưới {n} người trả lời', n=min_n)})" if min_n else "")
            elif cell.reason == "missing":
                why = "–"
            else:
                why = _("Không công bố (không tính được khoảng tin cậy)")
            return Markup('<span class="suppressed">%s</span>') % why
        out = Markup("<strong>%s</strong>") % fmt_percent(cell.estimate)
        if cell.method != "administrative":
            if cell.asymmetric:
                out += Markup(' <span class="ci">(%s %s–%s)</span>') % (ci_word, fmt_percent(cell.low), fmt_percent(cell.high))
            else:
                out += Markup(' <span class="ci">(%s)</span>') % fmt_margin(cell.margin)
        if cell.model_based:
            out += Markup(' <abbr class="mark-model" title="%s">%s</abbr>') % (model_title, model_mark)
        return out

    def show_interval(cell: Any) -> str:
        if cell is None or not cell.shown or cell.low is None:
            return "–"
        return f"{fmt_percent(cell.low)}–{fmt_percent(cell.high)}"

    return {
        "show_value": show_value,
        "show_interval": show_interval,
        "pos": charts.pos,
        "fmt_number": lambda v, digits=2: fast_number(v, lang, digits),
        "fmt_percent": fmt_percent,
        "fmt_margin": fmt_margin,
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
        "fmt_date": lambda v: i18n.fmt_date(v, lang, tz),
        "fmt_datetime": lambda v: i18n.fmt_datetime(v, lang, tz),
        **helpers(lang, tz),
    }
