"""Citizens' comments are shown only after personal data is taken out (pure; no I/O).

:func:`redact` replaces, in this order: e-mail addresses; digit runs that are phone numbers
(10-11 digits from 0, or +84/84 then 9-10 digits, spaces, dots or dashes allowed between digits),
ID-card numbers (CCCD 12 digits, CMND 9 digits) and any other run of 9 or more digits; and the name
that follows "tôi là", "tên tôi là", "tôi tên là", "tên là", "tên:" or "tên" (up to five capitalised
words, after an optional kinship word such as "anh", "chị", "ông", "bà").  Over-redaction is the safe
side: a sum of money of 9+ digits is hidden too.  Text is NFC-normalised first, so decomposed
Vietnamese diacritics match.
"""

from __future__ import annotations

import re
import unicodedata

EMAIL_MARK = "[email đã ẩn]"
PHONE_MARK = "[số điện thoại đã ẩn]"
ID_MARK = "[số giấy tờ đã ẩn]"
NUMBER_MARK = "[số đã ẩn]"
NAME_MARK = "[tên đã ẩn]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
#: a digit, then digits with at most one separator (space, dot, dash) between them; optional leading +
_DIGITS = re.compile(r"(?<![\w+])\+?\d(?:[ .\-]?\d){7,}(?!\w)")
_TRIGGER = re.compile(r"(?i)(?<!\w)(tên\s+tôi\s+là|tôi\s+tên\s+là|tôi\s+tên|tên\s+tôi|tôi\s+là|mình\s+là|em\s+là|tên\s+là|tên)(\s*:\s*|\s+)")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)?")
_KIN = {"anh", "chị", "ông", "bà", "em", "cô", "chú", "bác", "cháu", "con", "dì", "cậu", "thím", "mợ"}
MAX_NAME_WORDS = 5


def _digits_mark(match: re.Match[str]) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 9:
        return raw
    international = raw.startswith("+84") or (digits.startswith("84") and len(digits) in (11, 12) and raw.startswith("84"))
    if international or (digits.startswith("0") and len(digits) in (10, 11)):
        return PHONE_MARK
    if len(digits) in (9, 12):
        return ID_MARK
    return NUMBER_MARK


def _redact_names(text: str) -> str:
    out: list[str] = []
    pos = 0
    for trig in _TRIGGER.finditer(text):
        if trig.start() < pos:
            continue
        cursor = trig.end()
        words: list[tuple[int, int]] = []
        kin_allowed = True
        while len(words) < MAX_NAME_WORDS:
            m = _WORD.match(text, cursor)
            if not m:
                break
            word = m.group(0)
            if kin_allowed and not words and word.lower() in _KIN and not word[0].isupper():
                kin_allowed = False
                gap = re.match(r"\s+", text[m.end():])
                if not gap:
                    break
                cursor = m.end() + gap.end()
                continue
            if not word[0].isupper():
                break
            words.append((m.start(), m.end()))
            gap = re.match(r"[ \t]+", text[m.end():])
            nxt = m.end() + (gap.end() if gap else 0)
            if not gap:
                break
            cursor = nxt
        if words:
            out.append(text[pos:words[0][0]])
            out.append(NAME_MARK)
            pos = words[-1][1]
    out.append(text[pos:])
    return "".join(out)


def redact(comment: str | None) -> str:
    """``comment`` with e-mails, phone and ID numbers and self-introduced names replaced by marks."""
    if not comment:
        return ""
    text = unicodedata.normalize("NFC", comment)
    text = _EMAIL.sub(EMAIL_MARK, text)
    text = _DIGITS.sub(_digits_mark, text)
    return _redact_names(text)
