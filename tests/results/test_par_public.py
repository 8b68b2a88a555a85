"""The PAR Index (Chỉ số CCHC) on /cong-khai and in the published report: published rankings only, ties shown as shared."""

from __future__ import annotations

import csv
import io
import re

from survey.par import services as par
from tests.results.helpers import arrange, arrange_par
from tests.results.test_results_pages import text_of
from tests.survey.test_admin_auth import HTML

SECTION = "Chỉ số cải cách hành chính (Chỉ số CCHC)"


def vi(x: float, digits: int = 2) -> str:
    return f"{x:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def rows_of(html: str, prefix: str, block: str) -> list[list[str]]:
    """The cells (text) of each row of one block's ranking table, in page order."""
    out = []
    for m in re.finditer(rf'<tr id="{prefix}-{block}-[^"]+"[^>]*>(.*?)</tr>', html, re.S):
        out.append([text_of(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", m.group(1), re.S)])
    return out


async def test_public_page_shows_the_published_ranking_with_a_shared_rank(client, db):
    a = await arrange(db)
    ids = await arrange_par(db, a.runs["sample"])
    stored = await par.get_composition(db, ids["department"])
    by_code = {r.unit_code: r for r in stored.results}
    assert by_code["D01"].total == by_code["D03"].total and by_code["D01"].rank == by_code["D03"].rank  # the arranged tie

    r = await client.get("/cong-khai", headers=HTML)
    assert r.status_code == 200
    html, body = r.text, text_of(r.text)
    assert SECTION in body
    rows = rows_of(html, "par", "department")
    assert all(row[1].endswith(" *") == (by_code[c].rescale_factor != 1) for row, c in zip(rows, [x.unit_code for x in sorted(stored.results, key=lambda x: (x.rank, x.unit_name))], strict=True))
    for row in rows:
        row[1] = row[1].removesuffix(" *")  # the mark of a unit rescaled to 100 (no survey points here)
    assert [row[1] for row in rows] == [x.unit_name for x in sorted(stored.results, key=lambda x: (x.rank, x.unit_name))]
    ranks = [row[0] for row in rows]
    tie = by_code["D01"].rank
    assert ranks.count(f"{tie} (đồng hạng)") == 2  # both tied units show the shared rank as such
    after = [x.rank for x in stored.results if x.rank > tie]
    if after:
        assert min(after) == tie + 2 and str(tie + 1) not in [x.split()[0] for x in ranks]  # the next rank is skipped
    for row in rows:
        x = next(s for s in stored.results if s.unit_name == row[1])
        assert row[2] == vi(x.total) and row[4] == vi(x.appraisal) and row[5] == vi(x.survey) and row[6] == vi(x.satisfaction)
        assert row[3].startswith(x.unit_class) and row[9] == str(x.appraisal_rank)
        assert row[10].startswith("–")  # no ranking last year
    s = stored.summary
    assert f"chênh lệch giữa đầu và cuối bảng {vi(s['spread'])} điểm" in body
    assert "par-department-2025-v1" in body  # the methodology version
    # the unpublished ward composition is not reachable from /cong-khai
    assert 'id="par-ward' not in html and "Khối phường" not in body
    assert (await client.get("/cong-khai/csv/chi-so-cchc-ward.csv")).status_code == 404
    # the CSV of the published block holds the stored figures
    dl = await client.get("/cong-khai/csv/chi-so-cchc-department.csv")
    assert dl.status_code == 200 and dl.headers["content-type"].startswith("text/csv")
    assert 'href="/cong-khai/csv/chi-so-cchc-department.csv"' in html
    got = {row["unit_code"]: row for row in csv.DictReader(io.StringIO(dl.content.decode("utf-8-sig")))}
    assert set(got) == set(by_code)
    assert all(float(got[c]["total"]) == by_code[c].total and int(got[c]["rank"]) == by_code[c].rank for c in got)
    assert got["D01"]["tied"] == got["D03"]["tied"] == "1"
    # English through the catalogue, English number format
    en = await client.get("/cong-khai?lang=en", headers=HTML)
    assert "Administrative reform index (PAR Index)" in en.text and "(tied)" in en.text and f"{by_code['D01'].total:.2f}" in en.text


async def test_a_draft_ranking_alone_shows_no_section(client, db):
    from survey.par import services as par_services
    from tests.par.helpers import DEPARTMENTS, appraisal_csv
    from tests.results.helpers import PAR_APPRAISAL, PAR_YEAR

    a = await arrange(db)
    await par_services.import_appraisal(db, appraisal_csv(DEPARTMENTS, "department", PAR_APPRAISAL), year=PAR_YEAR, methodology_id=DEPARTMENTS, actor="test")
    draft = await par_services.compose_block(db, year=PAR_YEAR, methodology_id=DEPARTMENTS, block="department", actor="test",
                                             index_run_id=a.runs["sample"], satisfaction={"D01": {"sipas": 0.9}}, panel_ids=[])
    assert draft.status == "draft"
    r = await client.get("/cong-khai", headers=HTML)
    assert r.status_code == 200 and SECTION not in text_of(r.text) and 'id="par-department' not in r.text
    assert (await client.get("/cong-khai/csv/chi-so-cchc-department.csv")).status_code == 404
    rep = await client.get(f"/cong-khai/bao-cao/{a.runs['sample']}")
    assert rep.status_code == 200 and SECTION not in text_of(rep.text)


async def test_report_html_includes_the_ranking_of_its_run(client, db):
    a = await arrange(db)
    ids = await arrange_par(db, a.runs["sample"])
    stored = await par.get_composition(db, ids["department"])
    r = await client.get(f"/cong-khai/bao-cao/{a.runs['sample']}")
    assert r.status_code == 200
    body = text_of(r.text)
    assert f"5. {SECTION}" in body and "par-department-2025-v1" in body
    rows = rows_of(r.text, "r-par", "department")
    assert len(rows) == len(stored.results) and sum("(đồng hạng)" in row[0] for row in rows) == 2
    assert 'id="r-par-ward' not in r.text
    # the report of another run (the previous period) does not carry this run's ranking
    other = await client.get(f"/cong-khai/bao-cao/{a.runs['previous']}")
    assert other.status_code == 200 and SECTION not in text_of(other.text)


async def test_departments_stand_before_the_commune_level_blocks(client, db):
    """Blocks are ordered as the tiers are (departments, then wards and communes in their methodology's order), not by file name."""
    from survey.par.methodology import block_order

    assert block_order("par-department-2025-v1", "department") < block_order("par-commune-2025-v1", "ward") < block_order("par-commune-2025-v1", "commune")
    assert block_order("par-commune-2025-v1", "commune") < block_order("no-such-methodology", "x")
    a = await arrange(db)
    ids = await arrange_par(db, a.runs["sample"])
    await par.publish_composition(db, ids["ward_draft"], "test")
    ranked = await par.published_rankings(db)
    assert [c.block for c in ranked] == ["department", "ward"]
    html = (await client.get("/cong-khai", headers=HTML)).text
    assert 0 < html.index('id="par-department-') < html.index('id="par-ward-')
    report = (await client.get(f"/cong-khai/bao-cao/{a.runs['sample']}", headers=HTML)).text
    assert 0 < report.index('id="r-par-department-') < report.index('id="r-par-ward-')
