"""HTML -> PDF with WeasyPrint: A4, page numbers, table headers repeated on every page, fonts embedded.

WeasyPrint needs Debian's pango (libpango-1.0-0, libpangoft2-1.0-0) and a font with Vietnamese glyphs
(fonts-dejavu-core).  It is imported only when a PDF is asked for, so the rest of the application
(``make run``) works without them; :func:`available` says whether PDFs can be made here.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STYLESHEETS = ("results.css", "report.css")
_cache: OrderedDict[tuple, bytes] = OrderedDict()
CACHE_SIZE = 4


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (pango) are missing."""


@cache
def _weasyprint():
    import logging

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)  # page-by-page progress is not for the server log
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango / gobject libraries not found
        raise PdfUnavailable(f"WeasyPrint cannot be loaded: {exc}") from exc
    return weasyprint


def available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


def html_to_pdf(html: str) -> bytes:
    """Render ``html`` (the report in its ``pdf=True`` form) with the report stylesheets."""
    wp = _weasyprint()
    sheets = [wp.CSS(filename=str(STATIC_DIR / name)) for name in STYLESHEETS]
    return wp.HTML(string=html, base_url=str(STATIC_DIR)).write_pdf(stylesheets=sheets)


def cached_pdf(key: tuple, make) -> bytes:
    """PDF bytes for an immutable run version ``key`` (run id, status, inputs hash, language), made once."""
    body = _cache.get(key)
    if body is None:
        body = make()
        _cache[key] = body
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return body
