"""Index runs: province -> campaign -> answers through /c/<token> with dispositions -> run -> stored,
immutable cells; the CLI gives the same numbers and hash; self-selected labelling; exports read back;
bad input writes nothing; exclusions, the kiosk rolling-window rule, QĐ 766 and small cells."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import func, insert, select, text

from survey.campaigns import services as campaigns
from survey.db.models import (
    AuditLog,
    CampaignMember,
    IndexCell,
    IndexRun,
    Receipt,
    Response,
    SamplingCampaign,
    Unit,
)
from survey.indices import exports, services
from survey.indices.schemas import SAMPLE_LABEL, SELF_SELECTED_LABEL
from survey.questionnaires import registry
from survey.responses.services import Submission, check_submission
from survey.stats import FrameFilter, load_frame, load_index_responses
from tests.conftest import make_procedure

HTML = {"accept": "text/html"}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
FULL = registry.get("sipas-full")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: (code, name, kind, quality) of the demo-like province's units
UNITS = [
    ("S.TP", "Sở Tư pháp", "department", 0.6),
    ("S.XD", "Sở Xây dựng", "department", -0.7),
    ("P.HB", "Phường Hòa Bình", "ward", 0.8),
    ("X.TP", "Xã Tân Phú", "commune", -0.9),
    ("DK.HN", "Đặc khu Hòn Ngọc", "special_zone", 0.2),
]


def today():
    return datetime.now(UTC).astimezone(TZ).date()


def period():
    return today() - timedelta(days=30), today()


@pytest.fixture
def small_settings(settings):
    return replace(settings, index_min_n=5)


async def arrange_province(db, receipts_per_unit: int = 36):
    """A province with departments, a ward, a commune and a special zone; two fields; returned receipts."""
    province = Unit(code="TINH", name="Tỉnh Thử nghiệm", kind="province")
    db.add(province)
    await db.flush()
    units = {}
    for code, name, kind, _q in UNITS:
        u = Unit(code=code, name=name, kind=kind, parent_id=province.id)
        db.add(u)
        units[code] = u
    await db.commit()
    procs = [
        await make_procedure(db, code="1.001", name="Đăng ký khai sinh", field="Hộ tịch", days=1),
        await make_procedure(db, code="1.004", name="Đăng ký biến động đất đai", field="Đất đai", days=10),
    ]
    rng = np.random.default_rng(5)
    now = datetime.now(UTC)
    rows, k = [], 0
    for code, _n, _k, _q in UNITS:
        for j in range(receipts_per_unit):
            k += 1
            received = now - timedelta(days=float(rng.uniform(2, 25)))
            proc = procs[j % 2]
            appointment = received + timedelta(days=3)
            returned = appointment + timedelta(days=2) if j % 9 == 0 else appointment - timedelta(hours=5)
            rows.append({
                "dossier_code": f"{code}-{k:05d}", "unit_id": units[code].id, "procedure_id": proc.id, "received_at": received,
                "appointment_at": appointment, "returned_at": returned, "channel": ("direct", "online")[j % 3 == 0],
                "token_expires_at": now + timedelta(days=60), "created_at": received,
            })
    await db.execute(insert(Receipt), rows)
    await db.commit()
    return {"province": province, "units": units, "procs": procs, "receipts": k}


async def draw_campaign(db, n: int = 90, seed: int = 11, minimum: int = 8):
    start, end = today() - timedelta(days=30), today()
    flt = FrameFilter(period_from=start, period_to=end, completed_only=True)
    frame = await load_frame(db, flt)
    d = campaigns.SampleDesign(name="Khảo sát thử", strata=("unit",), n=n, seed=seed, minimum=minimum, questionnaire_id="sipas-full")
    return await campaigns.draw(db, frame, d, actor="tester", frame_description=flt.as_dict(), flt=flt)


def member_answers(rng: np.random.Generator, quality: float) -> dict[str, str]:
    person = 3.8 + 0.7 * quality + rng.normal(0, 0.7)
    data = {}
    for item in FULL.items:
        v = int(np.clip(np.rint(person + rng.normal(0, 0.6)), 1, 5))
        data[f"answers.{item.id}"] = "0" if rng.random() < 0.05 else str(v)
    data["overall"] = str(int(np.clip(np.rint(person), 1, 5)))
    return data


async def answer_campaign(client, db, settings, campaign_id: int, share: float = 0.7, seed: int = 3):
    """Members answer through /c/<token> (the web form); the others get AAPOR dispositions."""
    rng = np.random.default_rng(seed)
    c = await db.get(SamplingCampaign, campaign_id)
    members = (await db.scalars(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id, CampaignMember.is_reserve.is_(False))
                                .order_by(CampaignMember.member_no))).all()
    quality = {code: q for code, _n, _k, q in UNITS}
    plan = [(m.member_no, m.unit_code, campaigns.invitation_token(settings, m.id, c.invitations_expire_on)) for m in members]
    answered, dispositions = 0, {}
    for no, ucode, token in plan:
        if rng.random() < share:
            form = await client.get(f"/c/{token}?start=1", headers=HTML)
            csrf = CSRF_RE.search(form.text).group(1)
            data = {"_csrf_token": csrf, **member_answers(rng, quality[ucode])}
            if rng.random() < 0.5:
                data["expectations"] = "time"
            r = await client.post(f"/c/{token}", data=data, headers=HTML, follow_redirects=False)
            assert r.status_code == 303, r.text[:500]
            answered += 1
        else:
            dispositions[no] = str(rng.choice(["R", "NC", "NE", "UH"]))
    await campaigns.set_dispositions(db, campaign_id, dispositions, actor="tester")
    return answered, dispositions


def run_cli(settings, *args: str, min_n: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HAILONG_DATABASE_URL": settings.database_url, "HAILONG_SECRET_KEY": settings.secret_key,
           "HAILONG_INDEX_MIN_N": str(min_n if min_n is not None else settings.index_min_n), "COLUMNS": "200"}
    hailong = Path(sys.executable).with_name("hailong")
    return subprocess.run([str(hailong), *args], env=env, capture_output=True, text=True, timeout=240)


def weighted_item_share(answers: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Independent point estimates: sum w 1{a in 4,5} / sum w 1{a in 1..5}, per column."""
    subst = (answers >= 1) & (answers <= 5)
    return (w[:, None] * (answers >= 4) * subst).sum(axis=0) / (w[:, None] * subst).sum(axis=0)


# --------------------------------------------------------------------------- end to end


async def test_province_campaign_web_answers_run_and_cli_agree(client, db, small_settings, settings):
    world = await arrange_province(db)
    drawn = await draw_campaign(db)
    answered, dispositions = await answer_campaign(client, db, settings, drawn.campaign_id)
    start, end = period()
    run = await services.create_run(db, small_settings, period_start=start, period_end=end, source="sample",
                                    campaign_id=drawn.campaign_id, actor="statistician")
    assert run.source == "sample" and not run.is_self_selected and run.sample_label == SAMPLE_LABEL and run.status == "draft"
    assert run.summary["n_respondents"] == answered and len(run.inputs_hash) == 64
    # the province SIPAS, its five pillars and all 22 items, each with a CI
    sipas = run.cell("province", "", "sipas")
    assert sipas.method == "direct" and sipas.n == answered
    assert 0 < sipas.ci_low < sipas.estimate < sipas.ci_high < 1 and sipas.se > 0
    pillars = run.cells_for(domain="province", measure="pillar")
    assert [c.measure_code for c in pillars] == sorted(p.id for p in FULL.pillars)
    assert len(run.cells_for(domain="province", measure="item")) == 22
    assert sipas.estimate == pytest.approx(np.mean([c.estimate for c in pillars]), abs=1e-12)
    # every unit has its index with a CI
    for code, *_ in UNITS:
        c = run.cell("unit", code, "sipas")
        assert c is not None and c.method == "direct" and c.ci_low < c.estimate < c.ci_high, code
    for g in ("department", "commune_level"):
        assert run.cell("unit_group", g, "sipas").n > 0
    assert {c.domain_code for c in run.cells_for(domain="field", measure="sipas")} == {"Hộ tịch", "Đất đai"}
    # point estimates reproduced independently from the weights (microdata) and the answers
    _, computed = await services.recompute_run(db, small_settings, run.id)
    w, A = computed.weights, computed.respondents.answers.astype(int)
    shares = weighted_item_share(A, w)
    for j, item in enumerate(FULL.items):
        assert run.cell("province", "", "item", item.id).estimate == pytest.approx(shares[j], abs=1e-12)
    # the weights reproduce the frame margins they were raked to (units and fields of the frame)
    campaign = await db.get(SamplingCampaign, drawn.campaign_id)
    code_of = {u.id: u.code for u in world["units"].values()}
    by_unit = {}
    for uid, wi in zip(computed.respondents.unit_ids.tolist(), w.tolist(), strict=True):
        by_unit[code_of[uid]] = by_unit.get(code_of[uid], 0.0) + wi
    assert by_unit == pytest.approx({k: float(v) for k, v in campaign.frame_counts["unit"].items()}, rel=1e-7)
    fields = computed.respondents.fields
    for f, total in campaign.frame_counts["field"].items():
        assert w[fields == f].sum() == pytest.approx(total, rel=1e-7)
    # AAPOR RR1 = I / (I + P + R + NC + O + UH + UO), from the dispositions set above
    eligible_or_unknown = answered + sum(1 for v in dispositions.values() if v != "NE")
    assert run.summary["response_rates"]["rr1"] == pytest.approx(answered / eligible_or_unknown)
    assert run.summary["weighting"]["n_eff"] <= answered
    # stored: one run, its cells, an audit entry
    assert await db.scalar(select(func.count()).select_from(IndexCell).where(IndexCell.run_id == run.id)) == len(run.cells)
    assert await db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "indices.run")) == 1
    # the CLI computes the same run: same hash, the same numbers, nothing new stored
    res = run_cli(settings, "indices", "run", "--from", start.isoformat(), "--to", end.isoformat(), "--source", "sample",
                  "--campaign", str(drawn.campaign_id), "--json", min_n=5)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["inputs_hash"] == run.inputs_hash and out["stored_run"] == run.id and out["created"] is False
    assert out["identical_to_stored"] is True
    cli_cells = {(c["domain"], c["domain_code"], c["measure"], c["measure_code"]): c for c in out["cells"]}
    for c in run.cells:
        assert cli_cells[c.key]["estimate"] == c.estimate and cli_cells[c.key]["se"] == c.se
    db.expire_all()
    assert await db.scalar(select(func.count()).select_from(IndexRun)) == 1
    # publish through the CLI: state change in the audit log, then the run is frozen
    res = run_cli(settings, "indices", "publish", str(run.id), "--actor", "cli-tester")
    assert res.returncode == 0 and "published" in res.stdout
    db.expire_all()
    entry = await db.scalar(select(AuditLog).where(AuditLog.action == "indices.publish"))
    assert entry.actor == "cli-tester" and entry.target_id == str(run.id)
    shown = run_cli(settings, "indices", "show", str(run.id), "--domain", "province", "--measure", "sipas")
    assert shown.returncode == 0 and SAMPLE_LABEL in shown.stdout and f"{100 * sipas.estimate:.1f}" in shown.stdout


# --------------------------------------------------------------------------- self-selected runs


async def store_rows(db, rows: list[dict]) -> None:
    await db.execute(insert(Response), rows)
    await db.commit()


def response_row(settings, sub: Submission, at: datetime) -> dict:
    from survey.demo import _row

    return _row(sub, at, check_submission, settings)


async def qr_and_kiosk_responses(db, settings, world, *, per_unit: int = 20, kiosk_per_unit: int = 8, seed: int = 9):
    rng = np.random.default_rng(seed)
    receipts = (await db.scalars(select(Receipt).order_by(Receipt.id))).all()
    by_unit: dict[int, list[Receipt]] = {}
    for r in receipts:
        by_unit.setdefault(r.unit_id, []).append(r)
    rows = []
    now = datetime.now(UTC)
    for code, _n, _k, q in UNITS:
        u = world["units"][code]
        for r in by_unit[u.id][:per_unit]:
            v = [int(np.clip(np.rint(3.9 + q + rng.normal(0, 0.8)), 1, 5)) for _ in range(6)]
            sub = Submission("sipas-short", 1, "qr", u.id, dict(zip(("access", "procedure", "officer", "result", "feedback"), v[:5], strict=True)),
                             overall=v[5], expectations=["time"] if v[5] < 4 else [], receipt_id=r.id, procedure_id=r.procedure_id)
            rows.append(response_row(settings, sub, now - timedelta(hours=float(rng.uniform(1, 200)))))
        for _ in range(kiosk_per_unit):
            sub = Submission("kiosk", 1, "kiosk", u.id, {"officer": int(rng.integers(3, 6))}, overall=int(rng.integers(2, 6)),
                             device_id=u.id, client_uuid=str(uuid.uuid4()), device_time=now)
            rows.append(response_row(settings, sub, now - timedelta(hours=float(rng.uniform(1, 200)))))
    await store_rows(db, rows)
    return rows


async def test_self_selected_run_is_labelled_everywhere_and_never_the_headline(client, db, small_settings, settings, tmp_path):
    world = await arrange_province(db)
    await qr_and_kiosk_responses(db, settings, world)
    start, end = period()
    # no sample run for the period: the published self-selected run is what exists, labelled
    own = await services.create_run(db, small_settings, period_start=start, period_end=end, source="self_selected", actor="t")
    assert own.is_self_selected and own.sample_label == SELF_SELECTED_LABEL
    assert own.summary["sample_label"] == SELF_SELECTED_LABEL and own.parameters["sample_label"] == SELF_SELECTED_LABEL
    assert own.summary["channels"] == {"kiosk": 40, "qr": 100}
    assert {c.domain_code for c in own.cells_for(domain="channel", measure="overall")} == {"qr", "kiosk"}
    assert await services.headline_run(db, start, end) is None  # nothing published yet
    own = await services.publish_run(db, own.id, "t")
    assert (await services.headline_run(db, start, end)).id == own.id
    listed = await services.list_runs(db)
    assert listed[0].is_self_selected and listed[0].sample_label == SELF_SELECTED_LABEL
    # CLI output says so
    shown = run_cli(settings, "indices", "show", str(own.id), "--domain", "province")
    assert shown.returncode == 0 and SELF_SELECTED_LABEL.upper() in shown.stdout and SELF_SELECTED_LABEL in shown.stdout
    listing = run_cli(settings, "indices", "list")
    assert SELF_SELECTED_LABEL in listing.stdout
    # every export says so
    od = tmp_path / "open.csv"
    assert run_cli(settings, "export", "opendata", "--run", str(own.id), "--out", str(od)).returncode == 0
    rows = list(csv.DictReader(od.open(encoding="utf-8-sig")))
    assert rows and all(r["sample_type"] == SELF_SELECTED_LABEL for r in rows)
    for fmt in ("sav", "dta", "xlsx", "csv"):
        path = tmp_path / f"micro.{fmt}"
        res = run_cli(settings, "export", "microdata", "--run", str(own.id), "--out", str(path))
        assert res.returncode == 0, res.stderr
        assert SELF_SELECTED_LABEL in res.stdout
    import pyreadstat

    df, meta = pyreadstat.read_sav(str(tmp_path / "micro.sav"))
    assert set(df["sample_type"]) == {SELF_SELECTED_LABEL} and SELF_SELECTED_LABEL in meta.file_label
    df, meta = pyreadstat.read_dta(str(tmp_path / "micro.dta"))
    assert set(df["sample_type"]) == {SELF_SELECTED_LABEL}
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "micro.xlsx", read_only=True)
    about = {r[0]: r[1] for r in wb["about"].iter_rows(values_only=True)}
    assert about["sample_type"] == SELF_SELECTED_LABEL
    micro = list(csv.DictReader((tmp_path / "micro.csv").open(encoding="utf-8-sig")))
    assert {r["sample_type"] for r in micro} == {SELF_SELECTED_LABEL}
    # once a sample run exists for the period the self-selected run is never the headline
    drawn = await draw_campaign(db, n=40, minimum=4)
    await answer_campaign(client, db, settings, drawn.campaign_id, share=0.8)
    sample = await services.create_run(db, small_settings, period_start=start, period_end=end, source="sample", campaign_id=drawn.campaign_id, actor="t")
    assert await services.headline_run(db, start, end) is None  # a draft sample run: no headline, and not the self-selected
    await services.publish_run(db, sample.id, "t")
    head = await services.headline_run(db, start, end)
    assert head.id == sample.id and not head.is_self_selected
    assert (await services.latest_published(db)).id == sample.id
    assert (await services.latest_published(db, source="self_selected")).id == own.id


# --------------------------------------------------------------------------- exports read back


async def test_exports_open_in_the_tools_people_use(client, db, small_settings, settings, tmp_path):
    import pyreadstat
    from openpyxl import load_workbook

    await arrange_province(db)
    drawn = await draw_campaign(db)
    answered, _ = await answer_campaign(client, db, settings, drawn.campaign_id)
    start, end = period()
    run = await services.create_run(db, small_settings, period_start=start, period_end=end, source="sample", campaign_id=drawn.campaign_id, actor="t")
    run = await services.publish_run(db, run.id, "t")
    # open-data CSV round-trips: every stored number comes back exactly
    od = tmp_path / "open-data.csv"
    n_rows = exports.write_open_data_csv(run, od)
    rows = list(csv.DictReader(od.open(encoding="utf-8-sig")))
    assert len(rows) == n_rows == len(run.cells) and list(rows[0]) == list(exports.OPEN_DATA_COLUMNS)
    for r, c in zip(rows, run.cells, strict=True):
        assert (r["domain"], r["domain_code"], r["measure"], r["measure_code"]) == c.key
        for col in ("estimate", "se", "ci_low", "ci_high", "deff"):
            v = getattr(c, col)
            assert (r[col] == "") if v is None else (float(r[col]) == v)
        assert int(r["n"]) == c.n and r["method"] == c.method and r["suppressed"] == ("1" if c.suppressed else "0")
        assert r["sample_type"] == SAMPLE_LABEL and r["inputs_hash"] == run.inputs_hash
    labels = {(r["measure"], r["measure_code"]): r["measure_label"] for r in rows}
    assert labels[("sipas", "")] == "Chỉ số hài lòng SIPAS"
    assert labels[("item", "officer.polite")] == next(i.label.vi for i in FULL.items if i.id == "officer.polite")
    # microdata: SPSS and Stata with Vietnamese value and variable labels, xlsx, CSV, codebooks
    _, computed = await services.recompute_run(db, small_settings, run.id)
    md = exports.build_microdata(run, computed)
    written = {fmt: exports.write_microdata(md, tmp_path / f"micro.{fmt}", fmt) for fmt in exports.MICRODATA_FORMATS}
    assert written["sav"][1].name == "micro.codebook.csv" and written["xlsx"] == [tmp_path / "micro.xlsx"]
    df, meta = pyreadstat.read_sav(str(tmp_path / "micro.sav"), user_missing=True)
    assert len(df) == answered
    assert meta.variable_value_labels["q_officer_polite"][5] == "Rất hài lòng"
    assert meta.variable_value_labels["q_officer_polite"][1] == "Rất không hài lòng"
    assert meta.variable_value_labels["q_officer_polite"][0] == "Không ý kiến / không áp dụng"
    assert meta.column_names_to_labels["q_officer_polite"] == next(i.label.vi for i in FULL.items if i.id == "officer.polite")
    assert meta.missing_user_values.get("q_officer_polite") == [0] or "q_officer_polite" in meta.missing_ranges
    assert meta.variable_value_labels["unit_group"][2] == "Khối xã, phường, đặc khu"
    for col in ("weight", "stratum", "psu"):
        assert col in df.columns
    assert df["weight"].sum() == pytest.approx(sum(computed.weights))
    forbidden = {"comment", "dossier_code", "receipt_id", "response_id", "device_id", "client_uuid"}
    assert not forbidden & set(df.columns)
    # the weights in the file reproduce the published item estimate
    item = "q_procedure_fees"
    a, wv = df[item].to_numpy(), df["weight"].to_numpy()
    ok = (a >= 1) & (a <= 5)
    assert (wv * ok * (a >= 4)).sum() / (wv * ok).sum() == pytest.approx(run.cell("province", "", "item", "procedure.fees").estimate, abs=1e-9)
    dta, dmeta = pyreadstat.read_dta(str(tmp_path / "micro.dta"))
    assert len(dta) == answered and dmeta.variable_value_labels["q_officer_polite"][4] == "Hài lòng"
    assert SAMPLE_LABEL in dmeta.file_label
    wb = load_workbook(tmp_path / "micro.xlsx", read_only=True)
    assert wb.sheetnames == ["data", "codebook", "about"]
    header = next(wb["data"].iter_rows(values_only=True))
    assert list(header) == list(md.columns) and sum(1 for _ in wb["data"].iter_rows()) == answered + 1
    book = list(csv.DictReader((tmp_path / "micro.codebook.csv").open(encoding="utf-8-sig")))
    assert {b["variable"] for b in book} >= {"weight", "stratum", "psu", "q_officer_polite"}
    micro = list(csv.DictReader((tmp_path / "micro.csv").open(encoding="utf-8-sig")))
    assert len(micro) == answered and float(micro[0]["weight"]) == pytest.approx(float(df["weight"].iloc[0]))
    # comments only on request
    with_comments = exports.build_microdata(run, computed, with_comments=True, comments=[""] * answered)
    assert "comment" in with_comments.columns and "comment" not in md.columns


# --------------------------------------------------------------------------- bad input


async def counts(db) -> tuple[int, int, int]:
    db.expire_all()
    return (
        await db.scalar(select(func.count()).select_from(IndexRun)),
        await db.scalar(select(func.count()).select_from(IndexCell)),
        await db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action.like("indices.%"))),
    )


async def test_bad_input_gives_a_clear_message_and_writes_nothing(client, db, small_settings, settings, tmp_path):
    await arrange_province(db)
    start, end = period()
    with pytest.raises(services.IndexRunError) as e:
        await services.create_run(db, small_settings, period_start=start, period_end=end, source="self_selected", actor="t")
    assert e.value.field == "period" and "Không có phiếu trả lời nào" in e.value.message_vi
    drawn = await draw_campaign(db, n=30, minimum=4)
    with pytest.raises(services.IndexRunError) as e:
        await services.create_run(db, small_settings, period_start=start, period_end=end, source="sample", campaign_id=drawn.campaign_id, actor="t")
    assert e.value.field == "campaign_id" and "no respondents" in e.value.message_en
    with pytest.raises(services.IndexRunError) as e:
        await services.create_run(db, small_settings, period_start=start, period_end=end, source="sample", campaign_id=drawn.campaign_id,
                                  methodology_version="sipas-1999-v9", actor="t")
    assert e.value.field == "methodology_version" and "sipas-1999-v9" in e.value.message_en
    for kw, fld in (({"source": "sample"}, "campaign_id"), ({"source": "self_selected", "campaign_id": drawn.campaign_id}, "campaign_id"),
                    ({"source": "census"}, "source"), ({"source": "sample", "campaign_id": 999}, "campaign_id")):
        with pytest.raises(services.IndexRunError) as e:
            await services.create_run(db, small_settings, period_start=start, period_end=end, actor="t", **kw)
        assert e.value.field == fld
    with pytest.raises(services.IndexRunError) as e:
        await services.create_run(db, small_settings, period_start=end, period_end=start, source="self_selected", actor="t")
    assert e.value.field == "period_end"
    assert await counts(db) == (0, 0, 0)
    # the CLI says the same and exits 2
    res = run_cli(settings, "indices", "run", "--from", start.isoformat(), "--to", end.isoformat(), "--source", "sample",
                  "--campaign", str(drawn.campaign_id), "--methodology", "sipas-1999-v9")
    assert res.returncode == 2 and "methodology_version" in res.stderr and "nothing was written" in res.stderr
    # an open-data export of an unpublished run
    await answer_campaign(client, db, settings, drawn.campaign_id, share=1.0)
    run = await services.create_run(db, small_settings, period_start=start, period_end=end, source="sample", campaign_id=drawn.campaign_id, actor="t")
    out = tmp_path / "open.csv"
    with pytest.raises(exports.ExportError, match="draft"):
        exports.write_open_data_csv(run, out)
    res = run_cli(settings, "export", "opendata", "--run", str(run.id), "--out", str(out))
    assert res.returncode == 2 and "publish" in res.stderr
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if not p.name.startswith("hailong.sqlite3")] == []
    res = run_cli(settings, "export", "opendata", "--run", "9999", "--out", str(out))
    assert res.returncode == 2 and "9999" in res.stderr and not out.exists()
    # publishing twice
    await services.publish_run(db, run.id, "t")
    with pytest.raises(services.IndexRunError, match="already published"):
        await services.publish_run(db, run.id, "t")


# --------------------------------------------------------------------------- immutability and reproducibility


async def test_runs_are_immutable_and_reproducible(client, db, small_settings, settings):
    world = await arrange_province(db)
    rows = await qr_and_kiosk_responses(db, settings, world)
    start, end = period()
    a = await services.compute_run(db, small_settings, period_start=start, period_end=end, source="self_selected")
    b = await services.compute_run(db, small_settings, period_start=start, period_end=end, source="self_selected")
    assert a.inputs_hash == b.inputs_hash and a.cells == b.cells
    run = await services.create_run(db, small_settings, period_start=start, period_end=end, source="self_selected", actor="t")
    again = await services.create_run(db, small_settings, period_start=start, period_end=end, source="self_selected", actor="t")
    assert again.id == run.id and again.inputs_hash == run.inputs_hash == a.inputs_hash
    assert (await counts(db))[0] == 1
    # a draft's cells and inputs cannot change either; only the status may, once
    for sql in (f"UPDATE index_cells SET estimate = 0.5 WHERE run_id = {run.id}",
                f"UPDATE index_runs SET inputs_hash = 'x' WHERE id = {run.id}",
                f"UPDATE index_runs SET summary = '{{}}' WHERE id = {run.id}"):
        with pytest.raises(Exception, match="immutable|never changed"):
            await db.execute(text(sql))
        await db.rollback()
    await services.publish_run(db, run.id, "t")
    for sql in (f"UPDATE index_runs SET status = 'draft' WHERE id = {run.id}",
                f"DELETE FROM index_cells WHERE run_id = {run.id}",
                f"DELETE FROM index_runs WHERE id = {run.id}"):
        with pytest.raises(Exception, match="immutable|never changed"):
            await db.execute(text(sql))
        await db.rollback()
    stored = await services.get_run(db, run.id)
    assert stored.status == "published" and stored.cells == run.cells
    # new inputs (a flagged kiosk rating reviewed and accepted) -> a new hash
    rid = rows[-1]["id"]
    await db.execute(text("UPDATE responses SET review_status = 'rejected' WHERE id = :id"), {"id": rid})
    await db.commit()
    c = await services.compute_run(db, small_settings, period_start=start, period_end=end, source="self_selected")
    assert c.inputs_hash != run.inputs_hash and c.summary["exclusions"]["review_rejected"] == 1
    with pytest.raises(services.InputsChanged):
        await services.recompute_run(db, small_settings, run.id)


# --------------------------------------------------------------------------- exclusions and integrity


async def test_flagged_responses_are_excluded_and_counted_per_rule(db, small_settings, settings):
    world = await arrange_province(db)
    await qr_and_kiosk_responses(db, settings, world)
    u = world["units"]["P.HB"]
    now = datetime.now(UTC)
    extra = []
    for status, count in (("pending", 3), ("rejected", 2)):
        for _ in range(count):
            sub = Submission("kiosk", 1, "kiosk", u.id, {}, overall=5, device_id=77, client_uuid=str(uuid.uuid4()),
                             integrity_flags=["burst"], review_status=status)
            extra.append(response_row(settings, sub, now - timedelta(hours=2)))
    sub = Submission("sipas-full", 1, "web", u.id, {i.id: 4 for i in FULL.items}, overall=4)
    await store_rows(db, extra)
    start, end = period()
    run = await services.create_run(db, small_settings, period_start=start, period_end=end, source="self_selected", actor="t")
    ex = run.summary["exclusions"]
    assert ex["review_pending"] == 3 and ex["review_rejected"] == 2 and ex["kiosk_window_excess"] == 0
    assert run.summary["n_respondents"] == 140 and run.cell("channel", "kiosk", "overall").n == 40


def test_rolling_window_rule_catches_scattered_extra_presses():
    """Genuine ratings follow the unit's QR distribution; one device gets 1-2 extra "Rất hài lòng" an hour."""
    from survey.indices.integrity import kiosk_window_excess

    rng = np.random.default_rng(2026)
    p = np.array([0.05, 0.1, 0.2, 0.4, 0.25])
    days = np.arange(np.datetime64("2026-11-01"), np.datetime64("2026-11-29"))
    dev, unit, day, rating, kiosk, ref, fake = [], [], [], [], [], [], []
    for d in days:
        for device, n_true, n_fake in ((1, 6, 0), (2, 6, 12), (3, 6, 0)):  # device 2 is gamed: 12 extra presses a day
            k = n_true + n_fake
            dev += [device] * k
            unit += [10 if device < 3 else 20] * k
            day += [d] * k
            rating += list(rng.choice(5, size=n_true, p=p) + 1) + [5] * n_fake
            kiosk += [True] * k
            ref += [False] * k
            fake += [False] * n_true + [True] * n_fake
        for u in (10, 20):  # the units' QR answers
            dev += [0] * 8
            unit += [u] * 8
            day += [d] * 8
            rating += list(rng.choice(5, size=8, p=p) + 1)
            kiosk += [False] * 8
            ref += [True] * 8
            fake += [False] * 8
    fake = np.array(fake)
    res = kiosk_window_excess(np.array(dev), np.array(unit), np.array(day, dtype="datetime64[D]"), np.array(rating),
                              np.array(kiosk), np.array(ref))
    caught = res.flagged & fake
    assert caught.sum() / fake.sum() > 0.6  # the per-day rules catch 5-7 % of these
    assert (res.flagged & ~fake).sum() <= 0.15 * fake.sum()  # flags are (almost all) the excess
    assert not res.flagged[np.array(dev) != 2].any()  # honest devices are untouched
    assert [d["device_id"] for d in res.devices] == [2] and res.devices[0]["categories"] == [5]
    with pytest.raises(ValueError, match="alpha"):
        kiosk_window_excess(np.array(dev), np.array(unit), np.array(day, dtype="datetime64[D]"), np.array(rating), np.array(kiosk), np.array(ref), alpha=2)


async def test_the_run_reports_what_the_rolling_window_rule_removed(db, small_settings, settings):
    world = await arrange_province(db, receipts_per_unit=60)
    u = world["units"]["P.HB"]
    receipts = (await db.scalars(select(Receipt).where(Receipt.unit_id == u.id).order_by(Receipt.id))).all()
    rng = np.random.default_rng(1)
    now = datetime.now(UTC)
    rows = []
    for r in receipts[:50]:  # the unit's QR answers: the reference distribution
        v = int(rng.choice(5, p=[0.05, 0.15, 0.25, 0.35, 0.2]) + 1)
        short = dict.fromkeys(("access", "procedure", "officer", "result", "feedback"), v)
        rows.append(response_row(settings, Submission("sipas-short", 1, "qr", u.id, short, overall=v, receipt_id=r.id),
                                 now - timedelta(days=float(rng.uniform(0, 6)))))
    for j in range(60):  # device 5: 15 genuine, 45 scattered extra 5s over the week
        v = int(rng.choice(5, p=[0.05, 0.15, 0.25, 0.35, 0.2]) + 1) if j < 15 else 5
        rows.append(response_row(settings, Submission("kiosk", 1, "kiosk", u.id, {}, overall=v, device_id=5, client_uuid=str(uuid.uuid4())),
                                 now - timedelta(days=float(rng.uniform(0, 6)))))
    await store_rows(db, rows)
    start, end = period()
    run = await services.create_run(db, small_settings, period_start=start, period_end=end, source="self_selected", actor="t")
    removed = run.summary["exclusions"]["kiosk_window_excess"]
    assert 25 <= removed <= 50
    dev = run.summary["integrity"]["kiosk_window"]
    assert dev[0]["device_id"] == 5 and dev[0]["flagged"] == removed
    assert run.cell("channel", "kiosk", "overall").n == 60 - removed


# --------------------------------------------------------------------------- QĐ 766 and small cells


async def test_admin_766_rate_and_points(db, small_settings, settings):
    province = Unit(code="TINH", name="Tỉnh", kind="province")
    db.add(province)
    await db.flush()
    a = Unit(code="A", name="Xã A", kind="commune", parent_id=province.id)
    b = Unit(code="B", name="Sở B", kind="department", parent_id=province.id)
    db.add_all([a, b])
    await db.commit()
    proc = await make_procedure(db)
    now = datetime.now(UTC)
    rows = []
    for unit, n, late in ((a, 10, 1), (b, 20, 0)):
        for i in range(n):
            received = now - timedelta(days=5, hours=i)
            appointment = received + timedelta(days=2)
            returned = appointment + timedelta(days=1) if i < late else appointment - timedelta(hours=2)
            rows.append({"dossier_code": f"{unit.code}-{i}", "unit_id": unit.id, "procedure_id": proc.id, "received_at": received,
                         "appointment_at": appointment, "returned_at": returned, "channel": "direct",
                         "token_expires_at": now + timedelta(days=30), "created_at": received})
    await db.execute(insert(Receipt), rows)
    await db.commit()
    recs = (await db.scalars(select(Receipt).order_by(Receipt.id))).all()
    answers = []
    for r in recs:
        unhappy = r.dossier_code in ("A-5", "A-6")  # two "không hài lòng" ratings in A; one overdue dossier
        v = 2 if unhappy else 5
        short = dict.fromkeys(("access", "procedure", "officer", "result", "feedback"), v)
        answers.append(response_row(settings, Submission("sipas-short", 1, "qr", r.unit_id, short, overall=v, receipt_id=r.id, procedure_id=proc.id),
                                    now - timedelta(hours=3)))
    await store_rows(db, answers)
    start, end = period()
    run = await services.create_run(db, small_settings, period_start=start, period_end=end, source="self_selected", actor="t")
    ca = run.cell("unit", "A", "admin_766")
    assert ca.estimate == pytest.approx(1 - 1 / 10 - 2 / 10) and ca.method == "administrative" and ca.n == 10 and ca.se is None
    assert run.cell("unit", "A", "admin_766", "points").estimate == pytest.approx(0.7 / 0.9)
    assert run.cell("unit", "B", "admin_766").estimate == 1.0 and run.cell("unit", "B", "admin_766", "points").estimate == 1.0
    assert run.cell("province", "", "admin_766").estimate == pytest.approx(1 - 3 / 30)
    assert run.cell("province", "", "admin_766", "points").estimate == 1.0  # 90 % -> full points
    assert run.summary["admin_766"]["by_domain"]["unit"]["A"] == {"dossiers": 10, "overdue": 1, "dissatisfied": 2, "rate": pytest.approx(0.7), "points": pytest.approx(0.7 / 0.9)}


async def test_small_cells_are_never_a_raw_percentage(db, settings):
    world = await arrange_province(db)
    await qr_and_kiosk_responses(db, settings, world, per_unit=12, kiosk_per_unit=3)
    start, end = period()
    strict = replace(settings, index_min_n=30)
    run = await services.create_run(db, strict, period_start=start, period_end=end, source="self_selected", actor="t")
    assert run.parameters["min_n"] == 30
    small = [c for c in run.cells if c.method != "administrative" and c.n < 30]
    assert small and all(c.method in ("suppressed", "fay_herriot") for c in small)
    for c in small:
        if c.method == "suppressed":
            assert c.estimate is None and c.se is None and c.ci_low is None
    assert run.cell("province", "", "sipas").method == "direct"
    unit_cells = run.cells_for(domain="unit", measure="sipas")
    assert unit_cells and all(c.method != "direct" for c in unit_cells)


# --------------------------------------------------------------------------- the SQL read path


async def test_answers_are_extracted_by_the_database(db, settings):
    world = await arrange_province(db)
    u = world["units"]["S.TP"]
    now = datetime.now(UTC)
    full = {i.id: (j % 5) + 1 for j, i in enumerate(FULL.items)}
    full["feedback.timely"] = 0
    full["feedback.easy"] = 0
    rows = [
        response_row(settings, Submission("sipas-full", 1, "campaign", u.id, full, overall=3, expectations=["time", "fees"]), now - timedelta(hours=1)),
        response_row(settings, Submission("kiosk", 1, "kiosk", u.id, {"officer": 2}, overall=4, device_id=3, client_uuid=str(uuid.uuid4()),
                                          review_status="pending", integrity_flags=["burst"]), now - timedelta(days=1)),
    ]
    await store_rows(db, rows)
    start, end = period()
    items = FULL.item_ids()
    areas = [o.id for o in FULL.expectations.options]
    got = await load_index_responses(db, period_start=start, period_end=end, items=items, areas=areas, channels=("campaign", "kiosk"),
                                     questionnaires=("sipas-full",), timezone=settings.timezone)
    assert len(got) == 2
    i_full = int(np.flatnonzero(got.channels == "campaign")[0])
    i_k = 1 - i_full
    expected = [full.get(i, 0) for i in items]
    assert got.answers[i_full].tolist() == expected and got.overall[i_full] == 3
    assert got.chosen[i_full].tolist() == [a in ("time", "fees") for a in areas]
    assert got.review_codes[i_k] == 1 and got.device_ids[i_k] == 3 and got.questionnaire_codes[i_k] == 0
    assert got.answers[i_k, items.index("officer.polite")] == 0  # the kiosk's "officer" tap is not a full-form item
    assert got.response_id_strings()[i_full] == rows[0]["id"] and got.unit_ids.tolist() == [u.id, u.id]
    assert str(got.day[i_k]) == (now - timedelta(days=1)).astimezone(TZ).date().isoformat()
    assert got.response_ids.tolist() == sorted(got.response_ids.tolist())


# --------------------------------------------------------------------------- the demo


async def test_demo_seeds_a_campaign_a_published_sample_run_and_a_self_selected_run(settings, db):
    from survey.demo import ensure_demo_async

    info = await ensure_demo_async(settings, "127.0.0.1", 8123)
    assert info.seeded and any("không phải mẫu xác suất" in line for line in info.lines())
    campaign = (await db.scalars(select(SamplingCampaign))).one()
    statuses = set(await db.scalars(select(CampaignMember.status).where(CampaignMember.campaign_id == campaign.id, CampaignMember.is_reserve.is_(False))))
    assert {"I", "R", "NC"} <= statuses and "pending" not in statuses
    runs = await services.list_runs(db)
    sample = next(r for r in runs if r.source == "sample")
    own = next(r for r in runs if r.source == "self_selected")
    assert sample.status == own.status == "published" and sample.campaign_id == campaign.id and sample.sipas is not None
    assert (sample.period_start, sample.period_end) == (own.period_start, own.period_end)
    head = await services.headline_run(db, sample.period_start, sample.period_end)
    assert head.id == sample.id and not head.is_self_selected
    run = await services.get_run(db, sample.id)
    assert run.summary["response_rates"]["rr1"] > 0.3 and "nonresponse_adjust" in run.summary["weighting"]["nonresponse"]
    assert all(c.method in ("direct", "fay_herriot", "suppressed") for c in run.cells_for(domain="unit", measure="sipas"))
    assert any(c.method == "fay_herriot" for c in run.cells_for(domain="unit", measure="sipas"))  # small units: small-area estimates
    assert run.cells_for(domain="unit", measure="admin_766")
