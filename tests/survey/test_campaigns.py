"""Sampling campaigns: preview, seeded draw, bad input writes nothing, CLI, exports, invitations, admin pages."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

import sampling
from survey.campaigns import services
from survey.campaigns.services import CALL_LIST_COLUMNS, SampleDesign, SamplingInputError
from survey.db.engine import make_engine, make_sessionmaker
from survey.db.models import AuditLog, CampaignMember, Receipt, Response, SamplingCampaign
from survey.questionnaires import registry
from survey.receipts.tokens import mint
from survey.stats import FrameFilter, load_campaign_responses, load_frame
from tests.conftest import make_procedure, make_unit

HTML = {"accept": "text/html"}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
FULL = registry.get("sipas-full")
PASSWORD = "correct horse battery"
#: receipts per (unit, field) in the test frame
LAYOUT = {("XA", "Đất đai"): 30, ("XA", "Hộ tịch"): 30, ("PB", "Đất đai"): 25, ("PB", "Hộ tịch"): 15, ("DZ", "Hộ tịch"): 5}


@pytest.fixture
async def world(db):
    return await arrange_world(db)


async def arrange_world(db):
    units = {c: await make_unit(db, code=c, name=f"Đơn vị {c}", kind="commune") for c in ("XA", "PB", "DZ")}
    procs = {
        "Đất đai": await make_procedure(db, code="1.1", name="Đăng ký đất đai", field="Đất đai"),
        "Hộ tịch": await make_procedure(db, code="2.2", name="Trích lục hộ tịch", field="Hộ tịch"),
    }
    base = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    rows, k = [], 0
    for (ucode, fld), count in LAYOUT.items():
        for _ in range(count):
            k += 1
            t = base + timedelta(hours=7 * k)
            rows.append(
                {
                    "dossier_code": f"000.00.01.H{k:02d}-260302-{k:04d}", "unit_id": units[ucode].id, "procedure_id": procs[fld].id,
                    "received_at": t, "returned_at": t + timedelta(days=3), "channel": ("direct", "online")[k % 2],
                    "token_expires_at": t + timedelta(days=60), "created_at": t,
                }
            )
    await db.execute(insert(Receipt), rows)
    await db.commit()
    return {"units": units, "procs": procs, "total": k}


def design(**kw) -> SampleDesign:
    base = {"name": "Quý I/2026", "strata": ("unit",), "n": 40, "seed": 2026}
    base.update(kw)
    return SampleDesign(**base)


async def counts(db) -> tuple[int, int, int]:
    db.expire_all()
    c = await db.scalar(select(func.count()).select_from(SamplingCampaign))
    m = await db.scalar(select(func.count()).select_from(CampaignMember))
    a = await db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "sampling.draw"))
    return c, m, a


async def draw(db, d: SampleDesign, flt: FrameFilter | None = None):
    flt = flt or FrameFilter()
    frame = await load_frame(db, flt)
    return await services.draw(db, frame, d, actor="tester", frame_description=flt.as_dict(), flt=flt)


# --------------------------------------------------------------------------- preview and draw


@pytest.mark.parametrize("allocation", ["proportional", "equal", "neyman", "power"])
async def test_preview_sizes_sum_to_n_and_respect_bounds(db, world, allocation):
    frame = await load_frame(db, FrameFilter())
    pv = await services.preview(db, frame, design(strata=("unit", "field"), n=37, allocation=allocation, minimum=3))
    assert pv.frame_size == world["total"] == len(frame)
    assert sum(r["sample"] for r in pv.rows) == pv.n == 37
    expected_N = {f"{u} | {f}": c for (u, f), c in LAYOUT.items()}
    assert {r["stratum"]: r["population"] for r in pv.rows} == expected_N
    for r in pv.rows:
        assert min(3, r["population"]) <= r["sample"] <= r["population"]
    # the same allocation as the library's, independently computed from the layout
    labels = sorted(expected_N)
    lib = sampling.allocate(37, [expected_N[s] for s in labels], method=allocation, minimum=3, sd=[0.5] * len(labels) if allocation == "neyman" else None)
    assert [r["sample"] for r in pv.rows] == lib.tolist()


async def test_size_from_margin_slovin_and_cochran(db, world):
    frame = await load_frame(db, FrameFilter())
    N = len(frame)
    pv = await services.preview(db, frame, design(size_method="slovin", n=None, margin=0.1))
    assert pv.n == sampling.slovin(N, 0.1)
    pv = await services.preview(db, frame, design(size_method="cochran", n=None, margin=0.1, confidence=0.9))
    assert pv.n == sampling.sample_size_proportion(margin=0.1, confidence=0.9, population=N)


async def test_draw_stores_campaign_members_and_audit(db, world):
    result = await draw(db, design(reserve_fraction=0.5))
    c = await db.get(SamplingCampaign, result.campaign_id)
    assert c.sample_size == 40 and c.frame_size == world["total"] and c.seed == 2026 and c.created_by == "tester"
    members = (await db.scalars(select(CampaignMember).where(CampaignMember.campaign_id == c.id).order_by(CampaignMember.member_no))).all()
    main = [m for m in members if not m.is_reserve]
    reserve = [m for m in members if m.is_reserve]
    assert len(main) == 40 and len(reserve) == c.reserve_size > 0
    assert [m.member_no for m in members] == list(range(1, len(members) + 1))
    assert len({m.receipt_id for m in members}) == len(members)  # main and reserve are disjoint
    N_h = {u: sum(v for (uu, _), v in LAYOUT.items() if uu == u) for u in ("XA", "PB", "DZ")}
    n_h = {r["stratum"]: r["sample"] for r in c.allocation}
    for m in main:
        assert m.stratum == m.unit_code
        assert m.inclusion_prob == pytest.approx(n_h[m.stratum] / N_h[m.stratum])
    receipts = {r.id: r for r in (await db.scalars(select(Receipt))).all()}
    for m in members:
        assert receipts[m.receipt_id].dossier_code == m.dossier_code
    (audit,) = (await db.scalars(select(AuditLog).where(AuditLog.action == "sampling.draw"))).all()
    assert audit.actor == "tester" and audit.target_id == str(c.id) and audit.details["n"] == 40


async def test_draw_is_reproducible_with_the_seed(db, world):
    def picked(cid):
        return select(CampaignMember.receipt_id).where(CampaignMember.campaign_id == cid).order_by(CampaignMember.member_no)

    a = await draw(db, design(seed=7, strata=("unit", "field"), reserve_fraction=0.3))
    b = await draw(db, design(seed=7, strata=("unit", "field"), reserve_fraction=0.3))
    c = await draw(db, design(seed=8, strata=("unit", "field"), reserve_fraction=0.3))
    sa, sb, sc = [list(await db.scalars(picked(x.campaign_id))) for x in (a, b, c)]
    assert sa == sb
    assert sa != sc
    # no seed given: one is generated, recorded, and reproduces the draw
    d = await draw(db, design(seed=None))
    e = await draw(db, design(seed=d.seed))
    assert list(await db.scalars(picked(d.campaign_id))) == list(await db.scalars(picked(e.campaign_id)))


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"n": 10_000}, "n"),
        ({"n": 0}, "n"),
        ({"n": -5}, "n"),
        ({"minimum": -1}, "minimum"),
        ({"minimum": 20}, "minimum"),  # 3 strata × 20 > n = 40
        ({"name": " "}, "name"),
        ({"allocation": "random"}, "allocation"),
        ({"size_method": "slovin", "n": None, "margin": 0}, "margin"),
        ({"strata": ("colour",)}, "strata"),
    ],
)
async def test_bad_design_is_refused_and_nothing_is_written(db, world, kw, field):
    with pytest.raises(SamplingInputError) as exc:
        await draw(db, design(**kw))
    assert field in {e.field for e in exc.value.errors}
    assert all(e.message_vi and e.message_en for e in exc.value.errors)
    assert await counts(db) == (0, 0, 0)


async def test_n_larger_than_frame_message_names_both(db, world):
    with pytest.raises(SamplingInputError) as exc:
        await draw(db, design(n=world["total"] + 1))
    (err,) = exc.value.errors
    assert err.field == "n" and str(world["total"] + 1) in err.message_en and str(world["total"]) in err.message_vi


async def test_empty_stratum_and_empty_frame_are_refused(db, world):
    empty_unit = await make_unit(db, code="EMPTY", name="Không có hồ sơ", kind="ward")
    flt = FrameFilter(unit_codes=("XA", empty_unit.code))
    with pytest.raises(SamplingInputError) as exc:
        await draw(db, design(n=5), flt)
    assert exc.value.errors[0].field == "unit" and "EMPTY" in exc.value.errors[0].message_en
    with pytest.raises(SamplingInputError) as exc:
        await draw(db, design(n=5), FrameFilter(period_from=date(2030, 1, 1)))
    assert exc.value.errors[0].field == "frame"
    assert await counts(db) == (0, 0, 0)


async def test_failure_while_storing_rolls_everything_back(db, world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_member_rows", broken)
    with pytest.raises(RuntimeError):
        await draw(db, design())
    assert await counts(db) == (0, 0, 0)


# --------------------------------------------------------------------------- exports


async def test_call_list_csv_and_xlsx_have_the_columns_and_nothing_more(db, world, settings):
    result = await draw(db, design(reserve_fraction=0.25))
    rows = await services.call_list(db, result.campaign_id, settings)
    members = (await db.scalars(select(CampaignMember).where(CampaignMember.campaign_id == result.campaign_id).order_by(CampaignMember.member_no))).all()
    assert len(rows) == len(members)
    parsed = list(csv.DictReader(io.StringIO(services.call_list_csv(rows).decode("utf-8-sig"))))
    assert tuple(parsed[0].keys()) == CALL_LIST_COLUMNS
    for row, m in zip(parsed, members, strict=True):
        assert row["member_no"] == str(m.member_no) and row["dossier_code"] == m.dossier_code
        assert row["unit"] == m.unit_code and row["procedure"] == m.procedure_code and row["field"] == m.field
        assert row["stratum"] == m.stratum and float(row["inclusion_prob"]) == pytest.approx(m.inclusion_prob)
        assert row["reserve"] == ("yes" if m.is_reserve else "no")
        assert row["invitation_link"].startswith(f"{settings.public_url}/c/")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(services.call_list_xlsx(rows, "Quý I")))
    sheet = list(wb.active.iter_rows(values_only=True))
    assert tuple(sheet[0]) == CALL_LIST_COLUMNS
    assert [r[1] for r in sheet[1:]] == [m.dossier_code for m in members]
    # every value comes from the frame (or is derived from the draw): no names, phones or addresses anywhere
    frame_values = {m.dossier_code for m in members} | {m.unit_code for m in members} | {m.field for m in members}
    for r in sheet[1:]:
        assert r[1] in frame_values and r[2] in frame_values and r[4] in frame_values


def test_csv_export_neutralises_formulas():
    row = dict.fromkeys(CALL_LIST_COLUMNS, "")
    row["dossier_code"] = "=HYPERLINK(1)"
    text = services.call_list_csv([row]).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text


# --------------------------------------------------------------------------- the CLI


def run_cli(monkeypatch, settings, argv: list[str]) -> int:
    from survey.cli import main

    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HAILONG_PUBLIC_URL", settings.public_url)
    return main(["sample", *argv])


def stored(url: str):
    import asyncio

    async def run():
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s:
                return (
                    await s.scalar(select(func.count()).select_from(SamplingCampaign)),
                    await s.scalar(select(func.count()).select_from(CampaignMember)),
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def sync_world(settings):
    """The test frame, arranged from synchronous code (the CLI runs its own event loop)."""
    import asyncio

    async def run():
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as s:
                await arrange_world(s)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_cli_sample_draws_and_writes_csv_and_xlsx(monkeypatch, settings, sync_world, tmp_path, capsys):
    out = tmp_path / "calls.csv"
    code = run_cli(monkeypatch, settings, ["--name", "CLI", "--strata", "unit,field", "--n", "30", "--minimum", "2", "--seed", "5", "--reserve", "0.2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    m = re.search(r"campaign (\d+) drawn \(seed 5\): 30 members", printed)
    assert m, printed
    assert "XA | Đất đai" in printed
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert tuple(rows[0]) == CALL_LIST_COLUMNS and sum(r["reserve"] == "no" for r in rows) == 30
    xlsx = tmp_path / "calls.xlsx"
    assert run_cli(monkeypatch, settings, ["--name", "CLI2", "--margin", "0.1", "--seed", "5", "--out", str(xlsx)]) == 0
    from openpyxl import load_workbook

    sheet = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert tuple(sheet[0]) == CALL_LIST_COLUMNS
    assert len(sheet) - 1 == sampling.slovin(sum(LAYOUT.values()), 0.1)


def test_cli_bad_input_writes_nothing(monkeypatch, settings, sync_world, tmp_path, capsys):
    assert run_cli(monkeypatch, settings, ["--name", "X", "--n", "100000"]) == 2
    assert "n = 100000 is larger than the frame" in capsys.readouterr().err
    assert run_cli(monkeypatch, settings, ["--name", "X", "--n", "0"]) == 2
    assert "n must be greater than 0" in capsys.readouterr().err
    assert run_cli(monkeypatch, settings, ["--name", "X", "--n", "5", "--unit", "XA", "--unit", "NONE"]) == 2
    assert "Empty stratum" in capsys.readouterr().err
    broken = tmp_path / "frame.csv"
    broken.write_text(
        "dossier_code,unit_code,procedure_code,field,channel,received_at\n"
        "F-1,XA,1.1,Đất đai,direct,2026-03-01\n"
        "F-2,XA,1.1,Đất đai,direct,not-a-date\n",
        encoding="utf-8",
    )
    assert run_cli(monkeypatch, settings, ["--name", "X", "--n", "1", "--frame-csv", str(broken), "--out", str(tmp_path / "c.csv")]) == 2
    err = capsys.readouterr().err
    assert "line 3: received_at:" in err
    assert stored(settings.database_url) == (0, 0)
    assert not (tmp_path / "c.csv").exists()


def test_cli_frame_from_csv(monkeypatch, settings, sync_world, tmp_path, capsys):
    frame = tmp_path / "frame.csv"
    lines = ["dossier_code,unit_code,procedure_code,field,channel,received_at"]
    lines += [f"CSV-{i},{'XA' if i % 3 else 'PB'},1.1,Đất đai,direct,2026-03-{1 + i % 28:02d}" for i in range(60)]
    frame.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_cli(monkeypatch, settings, ["--name", "CSV", "--n", "12", "--seed", "1", "--frame-csv", str(frame)]) == 0
    assert "n = 12 from a frame of 60" in capsys.readouterr().out.replace("\n", " ")
    assert stored(settings.database_url) == (1, 12)


# --------------------------------------------------------------------------- invitations and the campaign survey


def full_answers(value: str = "4") -> dict:
    data = {f"answers.{i.id}": value for i in FULL.items}
    data["overall"] = "5"
    return data


async def member_tokens(db, settings, campaign_id: int) -> list[tuple[CampaignMember, str]]:
    c = await db.get(SamplingCampaign, campaign_id)
    members = (await db.scalars(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id).order_by(CampaignMember.member_no))).all()
    return [(m, services.invitation_token(settings, m.id, c.invitations_expire_on)) for m in members]


async def test_invitation_opens_the_campaign_survey_and_the_response_carries_the_design(client, db, world, settings):
    result = await draw(db, design(strata=("unit", "field"), n=20, minimum=2))
    (member, token), *_ = await member_tokens(db, settings, result.campaign_id)
    m = type("M", (), {k: getattr(member, k) for k in ("id", "receipt_id", "unit_id", "stratum", "inclusion_prob")})
    consent = await client.get(f"/C/{token.lower()}", headers=HTML)
    assert consent.status_code == 200 and f'action="/c/{token}"' in consent.text and "chọn ngẫu nhiên" in consent.text
    form = await client.get(f"/c/{token}?start=1", headers=HTML)
    assert form.status_code == 200
    assert form.text.count('type="radio"') >= len(FULL.items) * 5  # the full questionnaire, not the short form
    csrf = CSRF_RE.search(form.text).group(1)
    bad = await client.post(f"/c/{token}", data={"_csrf_token": csrf, "overall": "5"}, headers=HTML, follow_redirects=False)
    assert bad.status_code == 400
    r = await client.post(f"/c/{token}", data={"_csrf_token": csrf, **full_answers()}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/c/{token}/cam-on")
    db.expire_all()
    resp = await db.scalar(select(Response).where(Response.channel == "campaign"))
    assert resp.receipt_id is None and resp.extra["receipt_id"] == m.receipt_id  # the QR rule stays free
    assert resp.channel == "campaign" and resp.questionnaire_id == "sipas-full" and resp.unit_id == m.unit_id
    assert resp.extra["stratum"] == m.stratum and resp.extra["campaign_id"] == result.campaign_id
    assert resp.extra["inclusion_prob"] == pytest.approx(m.inclusion_prob)
    member = await db.get(CampaignMember, m.id)
    assert member.status == "I" and member.response_id == resp.id
    thanks = await client.get(r.headers["location"], headers=HTML)
    assert thanks.status_code == 200
    again = await client.get(f"/c/{token}?start=1", headers=HTML)
    assert again.status_code == 409
    again = await client.post(f"/c/{token}", data={"_csrf_token": csrf, **full_answers("3")}, headers=HTML, follow_redirects=False)
    assert again.status_code == 409
    db.expire_all()
    assert await db.scalar(select(func.count()).select_from(Response)) == 1
    # a second member of the same stratum answers too; responses -> arrays for analysis/
    pairs = await member_tokens(db, settings, result.campaign_id)
    other, other_token = next((x, t) for x, t in pairs[1:] if x.stratum == m.stratum and not x.is_reserve)
    other_prob = other.inclusion_prob
    csrf = CSRF_RE.search((await client.get(f"/c/{other_token}?start=1", headers=HTML)).text).group(1)
    r = await client.post(f"/c/{other_token}", data={"_csrf_token": csrf, **full_answers("2")}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    arrays = await load_campaign_responses(db, result.campaign_id)
    assert sorted(arrays.probs.tolist()) == pytest.approx(sorted([m.inclusion_prob, other_prob]))
    assert arrays.strata.tolist() == [m.stratum, m.stratum]
    assert sorted(arrays.overall.tolist()) == [5, 5]
    try:
        import analysis
    except ImportError:
        return
    if hasattr(analysis, "Design"):
        d = analysis.Design(**arrays.design_arguments())
        assert d.weights.tolist() == pytest.approx((1 / arrays.probs).tolist())


async def test_a_qr_answer_on_the_sampled_receipt_does_not_block_the_campaign_form(client, db, world, settings):
    from survey.responses.services import Submission, store_response

    result = await draw(db, design(strata=("unit",), n=10, minimum=1))
    (member, token), *_ = await member_tokens(db, settings, result.campaign_id)
    receipt_id, unit_id = member.receipt_id, member.unit_id
    short = {"access": 4, "procedure": 4, "officer": 5, "result": 4, "feedback": 0}
    await store_response(db, Submission("sipas-short", 1, "qr", unit_id, short, overall=4, receipt_id=receipt_id))
    csrf = CSRF_RE.search((await client.get(f"/c/{token}?start=1", headers=HTML)).text).group(1)
    r = await client.post(f"/c/{token}", data={"_csrf_token": csrf, **full_answers()}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    channels = sorted((await db.scalars(select(Response.channel))).all())
    assert channels == ["campaign", "qr"]


async def test_forged_wrong_purpose_and_expired_invitations(client, db, world, settings):
    result = await draw(db, design(n=3))
    (m, token), *_ = await member_tokens(db, settings, result.campaign_id)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await client.get(f"/c/{forged}", headers=HTML)).status_code == 404
    kid, keys = settings.signing_keys()
    receipt_token = mint("receipt", m.id, date.today() + timedelta(days=3), kid, keys)
    assert (await client.get(f"/c/{receipt_token}", headers=HTML)).status_code == 404
    expired = mint("campaign", m.id, date.today() - timedelta(days=2), kid, keys)
    assert (await client.get(f"/c/{expired}", headers=HTML)).status_code == 410
    unknown = mint("campaign", 999_999, date.today() + timedelta(days=3), kid, keys)
    assert (await client.get(f"/c/{unknown}", headers=HTML)).status_code == 404


async def test_report_rates_and_representativeness(db, world):
    result = await draw(db, design(n=30, strata=("unit",), reserve_fraction=0.2))
    await services.set_dispositions(db, result.campaign_id, {1: "I", 2: "I", 3: "R", 4: "NC"}, actor="tester")
    with pytest.raises(SamplingInputError):
        await services.set_dispositions(db, result.campaign_id, {5: "I", 6: "XX"}, actor="tester")
    with pytest.raises(SamplingInputError):
        await services.set_dispositions(db, result.campaign_id, {10_000: "I"}, actor="tester")
    report = await services.campaign_report(db, result.campaign_id)
    assert report["status_counts"]["I"] == 2 and report["status_counts"]["pending"] == 26
    expected = sampling.aapor_rates(I=2, P=0, R=1, NC=1, O=0, UH=0, UO=26)
    assert report["rates"]["rr1"] == pytest.approx(expected.rr1) == pytest.approx(2 / 30)
    sample = report["checks"]["sample"]
    assert sample["n"] == 30 and sample["chi2"]["df"] == 2
    assert sum(s["observed"] for s in sample["strata"]) == 30
    # proportional allocation reproduces the frame's unit shares closely, so the test does not reject
    assert sample["chi2"]["pvalue"] > 0.5 and sample["composition_ok"]
    assert sample["max_smd"] == max(r["smd"] for r in sample["smd"])
    assert report["checks"]["respondents"]["n"] == 2
    assert {r["variable"] for r in sample["smd"]} == {"unit", "field", "channel"}


# --------------------------------------------------------------------------- admin pages


async def sign_in(client, db, role: str = "statistician", username: str = "thongke") -> None:
    from survey.admin import users

    await users.create_user(db, username, PASSWORD, role, actor="test")
    page = await client.get("/admin/login", headers=HTML)
    csrf = CSRF_RE.search(page.text).group(1)
    r = await client.post("/admin/login", data={"_csrf_token": csrf, "username": username, "password": PASSWORD}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text


async def csrf_from(client, path: str) -> str:
    r = await client.get(path, headers=HTML)
    assert r.status_code == 200, r.text
    return CSRF_RE.search(r.text).group(1)


def design_form(csrf: str, **kw) -> dict:
    form = {"_csrf_token": csrf, "name": "Quý I", "strata": "unit", "size_method": "fixed", "n": "24", "allocation": "proportional",
            "minimum": "2", "seed": "11", "reserve_fraction": "0,5", "completed_only": "1"}
    form.update(kw)
    return form


async def test_admin_requires_statistician(client, db, world):
    r = await client.get("/admin/sampling", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")
    await sign_in(client, db, role="viewer", username="xem")
    assert (await client.get("/admin/sampling", headers=HTML)).status_code == 403


async def test_admin_preview_draw_campaign_and_exports(client, db, world, settings):
    await sign_in(client, db)
    csrf = await csrf_from(client, "/admin/sampling")
    r = await client.post("/admin/sampling/preview", data=design_form(csrf), headers=HTML)
    assert r.status_code == 200, r.text
    total = int(re.search(r'id="preview-total">(\d+)<', r.text).group(1))
    assert total == 24
    assert await counts(db) == (0, 0, 0)  # preview writes nothing
    bad = await client.post("/admin/sampling/draw", data=design_form(csrf, n="100000"), headers=HTML)
    assert bad.status_code == 400 and 'href="#n"' in bad.text and "lớn hơn khung mẫu" in bad.text
    bad = await client.post("/admin/sampling/preview", data=design_form(csrf, n="abc", minimum="-1"), headers=HTML)
    assert bad.status_code == 400 and 'href="#n"' in bad.text
    assert await counts(db) == (0, 0, 0)
    r = await client.post("/admin/sampling/draw", data=design_form(csrf, unit=["XA", "PB"]), headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    c, m, a = await counts(db)
    assert (c, a) == (1, 1) and m == 24 + 12
    audit = await db.scalar(select(AuditLog).where(AuditLog.action == "sampling.draw"))
    assert audit.actor == "thongke"
    page = await client.get(f"/admin/sampling/{cid}", headers=HTML)
    assert page.status_code == 200 and "χ²" in page.text and "RR1" in page.text and 'id="seed">11<' in page.text
    r = await client.get(f"/admin/sampling/{cid}/calls.csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"  # the charset once (issue 14.6)
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CALL_LIST_COLUMNS and len(rows) == 36
    assert {row["unit"] for row in rows} <= {"XA", "PB"}
    r = await client.get(f"/admin/sampling/{cid}/calls.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert (await client.get("/admin/sampling/999/calls.csv", headers=HTML)).status_code == 404
    csrf = await csrf_from(client, f"/admin/sampling/{cid}")
    r = await client.post(f"/admin/sampling/{cid}/dispositions", data={"_csrf_token": csrf, "codes": "1,R\n2,nc\n"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    db.expire_all()
    statuses = dict((await db.execute(select(CampaignMember.member_no, CampaignMember.status).where(CampaignMember.member_no <= 2))).all())
    assert statuses == {1: "R", 2: "NC"}
    r = await client.post(f"/admin/sampling/{cid}/dispositions", data={"_csrf_token": csrf, "codes": "3,ZZ"}, headers=HTML)
    assert r.status_code == 400
