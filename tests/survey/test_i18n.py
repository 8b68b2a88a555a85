"""English coverage and Vietnamese formats.

Every message the templates (and Python, if any) pass to ``_()`` is extracted with Babel's own
extractor, driven by the repository's babel.cfg, and must have a real English translation in
survey/locale/en/LC_MESSAGES/messages.po — placeholders intact, no Vietnamese left in.  The kiosk
screens, whose text is switched in the browser, must have every string in both languages.  Vietnamese
pages write dates dd/mm/yyyy and decimals with a comma; English pages do not.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from survey.receipts.tokens import mint
from tests.conftest import REPO_ROOT, make_procedure, make_receipt, make_unit

PO = REPO_ROOT / "survey" / "locale" / "en" / "LC_MESSAGES" / "messages.po"
HTML = {"accept": "text/html"}
#: citizen- and kiosk-facing templates: all of them must be fully translated
PUBLIC = ("templates/citizen/", "templates/kiosk/", "templates/receipts/", "templates/_partials/", "templates/error.html", "templates/base.html", "templates/home.html")
#: letters only Vietnamese uses (and the accented vowels); an English string must not contain them
VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáãèéìíòóõùúýÀÁÃÈÉÌÍÒÓÕÙÚÝ\u1ea0-\u1ef9]")
#: proper names that stay Vietnamese in English text
NAMES = ("Hài Lòng", "NĐ-CP")
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def extracted() -> list[tuple[str, int, str]]:
    """(file, line, msgid) for every translatable message, as ``pybabel extract -F babel.cfg`` finds them."""
    with (REPO_ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = []
    for filename, lineno, message, _comments, _context in extract_from_dir(str(REPO_ROOT), method_map, options_map):
        msgid = message if isinstance(message, str) else message[0]
        if msgid:
            found.append((filename.replace("\\", "/"), lineno, msgid))
    return found


def english() -> dict[str, object]:
    with PO.open("rb") as fh:
        return {m.id: m for m in read_po(fh, locale="en") if m.id}


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, int, str]]:
    found = extracted()
    files = {f for f, _, _ in found}
    # the extractor really read the templates (a broken babel.cfg would find nothing and pass vacuously)
    for must in ("templates/citizen/survey.html", "templates/citizen/consent.html", "templates/receipts/slip.html", "templates/kiosk/enrol.html", "templates/base.html"):
        assert must in files, f"{must} not extracted"
    assert len(found) >= 100
    return found


def _missing(found, catalogue) -> list[str]:
    out = []
    for filename, lineno, msgid in found:
        entry = catalogue.get(msgid)
        if entry is None or not entry.string or entry.fuzzy or not str(entry.string).strip():
            out.append(f"{filename}:{lineno}: {msgid!r}")
    return out


def test_citizen_and_kiosk_messages_have_english(messages):
    catalogue = english()
    public = [m for m in messages if m[0].startswith(PUBLIC)]
    per_area = Counter(f.split("/")[1] if f.count("/") > 1 else f for f, _, _ in public)
    print("public messages per area:", dict(per_area), "unique:", len({m for _, _, m in public}))
    assert per_area["citizen"] >= 20 and per_area["receipts"] >= 5 and per_area["kiosk"] >= 3
    missing = _missing(public, catalogue)
    assert not missing, "no English for:\n" + "\n".join(missing)


def test_admin_and_python_messages_have_english(messages):
    rest = [m for m in messages if not m[0].startswith(PUBLIC)]
    assert any(f.startswith("templates/admin/") for f, _, _ in rest)
    missing = _missing(rest, english())
    assert not missing, "no English for:\n" + "\n".join(missing)


def test_translations_keep_placeholders_and_are_english():
    problems = []
    for msgid, entry in english().items():
        text = str(entry.string or "")
        if not text:
            continue
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text)):
            problems.append(f"placeholders differ: {msgid!r} -> {text!r}")  # .format() would raise on the English page
        bare = text
        for name in NAMES:
            bare = bare.replace(name, "")
        if VIETNAMESE.search(bare):
            problems.append(f"Vietnamese left in the English: {msgid!r} -> {text!r}")
    assert not problems, "\n".join(problems)


def test_kiosk_screens_have_every_string_in_both_languages():
    """The kiosk switches language in the browser: every ``data-t``/``data-tl`` key the page uses
    must exist, non-empty, in both the Vietnamese and the English table of kiosk.js."""
    js = (REPO_ROOT / "kiosk" / "static" / "kiosk.js").read_text(encoding="utf-8")
    tables = {}
    for lang in ("vi", "en"):
        m = re.search(rf"\b{lang}: \{{(.*?)\}}", js, re.S)
        assert m, f"no {lang} table in kiosk.js"
        tables[lang] = dict(re.findall(r"(\w+): '((?:[^'\\]|\\.)*)'", m.group(1)))
    assert tables["vi"].keys() == tables["en"].keys(), set(tables["vi"]) ^ set(tables["en"])
    assert all(v.strip() for t in tables.values() for v in t.values())
    assert VIETNAMESE.search(tables["vi"]["thanks"]) and not any(VIETNAMESE.search(v) for k, v in tables["en"].items() if k != "lang")
    page = (REPO_ROOT / "templates" / "kiosk" / "app.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-tl?="(\w+)"', page))
    assert {"send", "skip", "thanks", "exit", "exit_label"} <= used
    assert used <= tables["vi"].keys(), used - tables["vi"].keys()


# --------------------------------------------------------------------------- Vietnamese formats


async def test_slip_dates_are_dd_mm_yyyy_in_vietnamese(client, db, settings):
    unit = await make_unit(db)
    receipt = await make_receipt(db, unit, await make_procedure(db))
    kid, keys = settings.signing_keys()
    expires = date.today() + timedelta(days=45)
    token = mint("receipt", receipt.id, expires, kid, keys)
    appointment = receipt.appointment_at.astimezone(ZoneInfo(settings.timezone)).date()

    vi = await client.get(f"/slip/{token}?lang=vi", headers=HTML)
    assert vi.status_code == 200
    shown = re.search(r'class="appointment">([^<]+)<', vi.text).group(1)
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", shown) and shown == appointment.strftime("%d/%m/%Y")
    assert expires.strftime("%d/%m/%Y") in vi.text

    # a printed slip follows the unit's language (Vietnamese), not the clerk's browser (issue 14 item 10)
    client.cookies.set("lang", "en")
    en = await client.get(f"/slip/{token}?lang=en", headers=HTML)
    assert '<html lang="vi">' in en.text
    assert re.search(r'class="appointment">([^<]+)<', en.text).group(1) == shown
    from survey.i18n import fmt_date

    assert fmt_date(appointment, "en") == f"{appointment.day} {appointment:%b %Y}"  # "25 Nov 2026" on English pages


async def test_sampling_preview_writes_decimals_with_a_comma_in_vietnamese(client, db):
    """The admin preview shows each stratum's sampling fraction: 22,86% in Vietnamese, 22.86% in English."""
    from tests.survey.test_campaigns import arrange_world, csrf_from, design_form, sign_in

    await arrange_world(db)
    await sign_in(client, db)
    csrf = await csrf_from(client, "/admin/sampling?lang=vi")
    vi = await client.post("/admin/sampling/preview", data=design_form(csrf), headers=HTML)
    assert vi.status_code == 200, vi.text
    cells = re.findall(r"<td[^>]*>(\d+[.,]\d{2})%</td>", vi.text)
    assert cells and all("," in c for c in cells), cells
    en = await client.post("/admin/sampling/preview?lang=en", data=design_form(csrf), headers=HTML)
    cells_en = re.findall(r"<td[^>]*>(\d+[.,]\d{2})%</td>", en.text)
    assert cells_en == [c.replace(",", ".") for c in cells]


def test_vietnamese_source_strings_are_written_with_diacritics(messages):
    """Citizen/kiosk source text is real Vietnamese: the long messages carry diacritics (none typed without accents)."""
    plain = [m for f, _, m in messages if f.startswith(PUBLIC) and len(m.split()) >= 4 and not VIETNAMESE.search(m)]
    assert not plain, plain


def test_babel_cfg_covers_python_too():
    text = Path(REPO_ROOT / "babel.cfg").read_text()
    assert "[python: survey/**.py]" in text and "[jinja2: templates/**.html]" in text
