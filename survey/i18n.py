"""Languages: Vietnamese first, English available. Babel catalogues and Vietnamese number/date formats.

Templates write their text in Vietnamese inside ``_("...")``; ``survey/locale/en/LC_MESSAGES/messages.po``
holds the English.  ``pybabel extract -F babel.cfg`` refreshes the template (see README).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid -> msgstr for ``lang`` (empty for Vietnamese, the source language)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    return {m.id: m.string for m in cat if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def translator(lang: str) -> Callable[..., str]:
    """A gettext-like ``_``: ``_("Xin chào {name}", name=...)`` formats after translating."""
    table = catalogue(lang) if lang != DEFAULT_LANGUAGE else {}

    def _(message: str, **kwargs: object) -> str:
        text = table.get(message, message)
        return text.format(**kwargs) if kwargs else text

    return _


def normalise_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def fmt_number(value: float | int | None, lang: str, digits: int = 2) -> str:
    """90.54 -> '90,54' in Vietnamese, '90.54' in English."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale="vi_VN" if lang == "vi" else "en_US")


def fmt_percent(share: float | None, lang: str, digits: int = 1) -> str:
    """0.9054 -> '90,5%' in Vietnamese."""
    if share is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(share, format=pattern, locale="vi_VN" if lang == "vi" else "en_US")


def fmt_date(value: date | datetime | None, lang: str, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """22/11/2026 on Vietnamese pages; 22 Nov 2026 on English pages."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz)).date() if value.tzinfo else value.date()
    return format_date(value, "dd/MM/yyyy" if lang == "vi" else "d MMM yyyy", locale="vi_VN" if lang == "vi" else "en_US")


def fmt_datetime(value: datetime | None, lang: str, tz: str = "Asia/Ho_Chi_Minh") -> str:
    """22/11/2026 14:05 (local time of the province)."""
    if value is None:
        return "–"
    local = value.astimezone(ZoneInfo(tz)) if value.tzinfo else value
    return format_datetime(local, "dd/MM/yyyy HH:mm" if lang == "vi" else "d MMM yyyy HH:mm", locale="vi_VN" if lang == "vi" else "en_US")


def fmt_margin(half_width: float | None, lang: str, digits: int = 1) -> str:
    """A margin of error in percentage points: 0.021 -> '±2,1 điểm %' (Vietnamese), '±2.1 pp' (English)."""
    if half_width is None:
        return "–"
    number = fmt_number(abs(half_width) * 100, lang, digits)
    return f"±{number} điểm %" if lang == "vi" else f"±{number} pp"


def fmt_points(value: float | None, lang: str, digits: int = 1) -> str:
    """A signed change in percentage points: 0.034 -> '+3,4 điểm %' / '+3.4 pp' (−, not -, for decreases)."""
    if value is None:
        return "–"
    number = fmt_number(abs(value) * 100, lang, digits)
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{number} điểm %" if lang == "vi" else f"{sign}{number} pp"


# --------------------------------------------------------------------------- Vietnamese alphabetical order

#: the Vietnamese alphabet; ă, â, đ, ê, ô, ơ, ư are letters of their own (after a, a, d, e, o, o, u)
_VI_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_MARKS = {"\u0306": "ă", "\u0302": "â", "\u031b": "ơ"}  # breve, circumflex, horn (combining)
#: tone marks, in the dictionary order of the tones: none, huyền, sắc, hỏi, ngã, nặng
_TONES = {"\u0300": 1, "\u0301": 2, "\u0309": 3, "\u0303": 4, "\u0323": 5}


def _vi_letters(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    import unicodedata

    primary: list[int] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if ch in _TONES:
            if tones:
                tones[-1] = _TONES[ch]
            continue
        if ch in _LETTER_MARKS and primary:
            base = _VI_ALPHABET[primary[-1] - 1000] if primary[-1] >= 1000 else ""
            marked = {"a\u0306": "ă", "a\u0302": "â", "e\u0302": "ê", "o\u0302": "ô", "o\u031b": "ơ", "u\u031b": "ư"}.get(base + ch)
            if marked:
                primary[-1] = 1000 + _VI_ALPHABET.index(marked)
            continue
        if ch == "đ":
            primary.append(1000 + _VI_ALPHABET.index("đ"))
        elif ch in _VI_ALPHABET:
            primary.append(1000 + _VI_ALPHABET.index(ch))
        else:
            primary.append(ord(ch))  # digits, spaces and punctuation sort before letters
        tones.append(0)
    return tuple(primary), tuple(tones)


def vi_sort_key(text: str) -> tuple:
    """Sort key for Vietnamese text in dictionary order: "Đặc khu" after "Dược", "Ủy ban" after "Uông"; tones
    break ties (a, à, á, ả, ã, ạ).  Python's default order puts Đ after Z and mixes the marked vowels."""
    primary, tones = _vi_letters(text or "")
    return (primary, tones, text)
