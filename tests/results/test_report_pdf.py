"""The published report as PDF: generated, A4, numbered, fonts embedded, pages render, figures equal the stored run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from survey.reports import pdf
from tests.conftest import require
from tests.results.helpers import UNITS, arrange, arrange_par

#: cover, method, province results, league tables, heat map, the PAR Index chapter (each chapter starts a page;
#: its 4 departments fit on one), unit annex
EXPECTED_PAGES = 7


def pct(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + "%"


def tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} (poppler-utils) not installed")
    return path


@pytest.fixture
def pdf_tools():
    require(pdf.available(), "WeasyPrint cannot load pango here")
    return {name: tool(name) for name in ("pdfinfo", "pdftoppm", "pdftotext", "pdffonts")}


async def test_report_pdf_pages_fonts_and_league_figures(client, db, tmp_path: Path, pdf_tools):
    arranged = await arrange(db)
    run = arranged.runs["sample"]
    par_ids = await arrange_par(db, run)  # a published PAR Index ranking fed by this run (4 departments) and a draft one
    r = await client.get(f"/cong-khai/bao-cao/{run}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(r.content)

    info = subprocess.run([pdf_tools["pdfinfo"], str(path)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) == EXPECTED_PAGES
    w, h = (float(x) for x in re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(w - 595.28) < 1 and abs(h - 841.89) < 1  # A4

    fonts = subprocess.run([pdf_tools["pdffonts"], str(path)], capture_output=True, text=True, check=True).stdout
    dejavu = [line for line in fonts.splitlines() if "DejaVu" in line]
    assert dejavu and all(" yes " in line for line in dejavu)  # embedded (and subset)

    subprocess.run([pdf_tools["pdftoppm"], "-r", "30", "-png", str(path), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == EXPECTED_PAGES
    from PIL import Image

    for p in pages:
        lo, hi = Image.open(p).convert("L").getextrema()
        assert lo < 100 and hi > 200, p  # something is drawn on every page

    text = subprocess.run([pdf_tools["pdftotext"], str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages_text = text.split("\f")
    assert all(f"Trang {i} / {EXPECTED_PAGES}" in pages_text[i - 1] for i in range(1, EXPECTED_PAGES + 1))  # page numbers
    assert pages_text[0].startswith("TỈNH THỬ NGHIỆM") and pages_text[1].startswith("Báo cáo kết quả")  # running head after the cover
    assert "Báo cáo kết quả đo lường sự hài lòng" in pages_text[0] and "Tỉnh Thử Nghiệm".upper() in pages_text[0]
    layout = subprocess.run([pdf_tools["pdftotext"], "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    league = next(t for t in layout.split("\f") if "3. Bảng xếp hạng theo khối" in t)
    lines = league.splitlines()
    for group in ("department", "commune_level"):
        kinds = {"department"} if group == "department" else {"commune", "ward", "special_zone"}
        shown = sorted((u for u in UNITS if u[2] in kinds and (u[3] >= 30 or u[4] == 1.0)), key=lambda u: -u[4])
        rows = []
        for _code, name, _kind, _n, share in shown:
            i = next(k for k, line in enumerate(lines) if name in line)
            found = [(m.start(), m.group(0)) for k in (i - 1, i, i + 1) for m in re.finditer(r"\d+,\d%", lines[k])]
            assert min(found)[1] == pct(share), (name, found)  # the SIPAS column is the leftmost figure of the row
            rows.append(i)
        assert rows == sorted(rows)  # in the order of the index
    assert "Đặc khu Hòn Ngọc" in league and "Không công bố" in league
    par_page = next(t for t in layout.split("\f") if "5. Chỉ số cải cách hành chính (Chỉ số CCHC)" in t)
    assert par_page.count("(đồng") == 2  # "2 (đồng hạng)": a shared rank (the narrow cell may wrap) and "par-department-2025-v1" in par_page and "Khối phường" not in par_page
    from survey.par import services as par

    for row in (await par.get_composition(db, par_ids["department"])).results:
        line = next(ln for ln in par_page.splitlines() if row.unit_name in ln)
        assert f"{row.total:.2f}".replace(".", ",") in line, row.unit_name  # the stored total on the unit's line
    annex = pages_text[-2] if "Phụ lục" not in pages_text[-1] else pages_text[-1]
    assert "Phụ lục" in annex and "73,5–100,0" in annex  # the 12-of-12 unit's interval in the annex


async def test_report_html_is_the_same_report(client, db):
    arranged = await arrange(db)
    r = await client.get(f"/cong-khai/bao-cao/{arranged.runs['sample']}")
    assert r.status_code == 200 and "Báo cáo kết quả đo lường sự hài lòng" in r.text
    assert f'href="/cong-khai/bao-cao/{arranged.runs["sample"]}.pdf"' in r.text
    for bad in ("/cong-khai/bao-cao/abc", "/cong-khai/bao-cao/2.docx", "/cong-khai/bao-cao/999"):
        assert (await client.get(bad)).status_code == 404, bad


async def test_pdf_unavailable_is_a_clear_503(client, db, monkeypatch):
    arranged = await arrange(db)
    monkeypatch.setattr(pdf, "available", lambda: False)
    r = await client.get(f"/cong-khai/bao-cao/{arranged.runs['sample']}.pdf")
    assert r.status_code == 503 and "pango" in r.text


#: the demo (make run): cover, method (2 pages: the composition table), province results, league tables (2), heat map,
#: the PAR Index chapter (one page: 3 blocks, 13 units), annex
DEMO_PAGES = 9


async def test_the_demo_report_pdf(client, db, settings, tmp_path: Path, pdf_tools):
    from survey.demo import ensure_demo_async
    from survey.results import services

    info = await ensure_demo_async(settings, "127.0.0.1", 8000)
    assert info.seeded
    published = services.choose(await services.list_runs(db, published_only=True), None)
    assert published is not None and published.source == "sample"  # make run seeds a published sample run
    assert f"/cong-khai/bao-cao/{published.id}.pdf" in "\n".join(info.lines())
    r = await client.get(f"/cong-khai/bao-cao/{published.id}.pdf")
    assert r.status_code == 200
    path = tmp_path / "demo.pdf"
    path.write_bytes(r.content)
    info_txt = subprocess.run([pdf_tools["pdfinfo"], str(path)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info_txt).group(1)) == DEMO_PAGES
    subprocess.run([pdf_tools["pdftoppm"], "-r", "20", "-png", str(path), str(tmp_path / "d")], check=True)
    assert len(list(tmp_path.glob("d-*.png"))) == DEMO_PAGES
    # every unit's SIPAS in the league tables is the stored one
    run = await services.read_run(db, published)
    layout = subprocess.run([pdf_tools["pdftotext"], "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    league = "\f".join(t for t in layout.split("\f") if "Bảng xếp hạng" in t or "Thứ" in t)
    for c in run.cells:
        if c.domain == "unit" and c.measure == "sipas" and c.estimate is not None and c.ci_low is not None:
            assert pct(c.estimate) in league, c.domain_label
