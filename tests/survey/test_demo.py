"""The demo seeder: an empty database gets a believable province; a non-empty one is left alone."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select

from survey.db.models import ApiClient, Procedure, Receipt, Response, Unit, User
from survey.demo import DEMO_ADMIN, DEMO_PASSWORD, ensure_demo_async
from survey.questionnaires import registry
from survey.receipts.services import parse_dossier_code
from survey.responses.validation import validate_answers
from tests.survey.test_admin_auth import HTML, login


async def _count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def test_demo_seeds_an_empty_database_once(settings, db, client):
    info = await ensure_demo_async(settings, "127.0.0.1", 8123)
    assert info.seeded and info.seconds > 0  # how fast it seeds is measured in make bench, not asserted here
    assert info.base_url == "http://127.0.0.1:8123"
    assert info.api_key and info.slip_token and info.admin_login == (DEMO_ADMIN, DEMO_PASSWORD)

    kinds = Counter(await db.scalars(select(Unit.kind)))
    assert kinds["province"] == 1 and kinds["department"] >= 5 and kinds["commune"] >= 2 and kinds["ward"] >= 2 and kinds["special_zone"] >= 1
    province_id = await db.scalar(select(Unit.id).where(Unit.kind == "province"))
    assert set(await db.scalars(select(Unit.parent_id).where(Unit.kind != "province"))) == {province_id}
    fields = set(await db.scalars(select(Procedure.field)))
    assert {"Hộ tịch", "Đất đai", "Xây dựng", "Kinh doanh", "Tư pháp"} <= fields and await _count(db, Procedure) >= 12

    n_receipts, n_responses = await _count(db, Receipt), await _count(db, Response)
    assert n_receipts >= 2000 and n_responses >= 1500
    codes = list(await db.scalars(select(Receipt.dossier_code)))
    for code in codes[:: max(1, len(codes) // 200)]:
        parse_dossier_code(code)  # the Thông tư 01/2018 format, a real date
    span = (await db.scalar(select(func.max(Receipt.received_at)))) - (await db.scalar(select(func.min(Receipt.received_at))))
    assert 80 <= span.days <= 92

    rows = (await db.execute(select(Response.unit_id, Response.channel, Response.overall, Response.answers, Response.expectations, Response.receipt_id, Response.questionnaire_id))).all()
    channels = Counter(r.channel for r in rows)
    assert channels["qr"] > channels["kiosk"] > 0
    assert all(r.receipt_id is not None for r in rows if r.channel == "qr")
    short, kiosk = registry.get("sipas-short", 1), registry.get("kiosk", 1)
    for r in rows[:: max(1, len(rows) // 300)]:
        q = {"sipas-short": short, "kiosk": kiosk}.get(r.questionnaire_id) or registry.get(r.questionnaire_id, 1)  # campaign: sipas-full
        assert validate_answers(q, r.answers, r.overall, r.expectations, None, 1000) == []
    qr = [r for r in rows if r.channel == "qr"]
    assert any(0 in r.answers.values() for r in qr)  # some "Không ý kiến"
    assert any(r.expectations for r in qr)

    # believable differences between units: the satisfaction share differs by more than 10 points
    by_unit: dict[int, list[int]] = defaultdict(list)
    for r in qr:
        by_unit[r.unit_id].append(r.overall >= 4)
    shares = [sum(v) / len(v) for v in by_unit.values() if len(v) >= 30]
    assert len(shares) >= 10 and max(shares) - min(shares) > 0.10
    # item answers go with the overall answer
    sat = [r.answers["officer"] for r in qr if r.overall >= 4 and r.answers.get("officer")]
    unsat = [r.answers["officer"] for r in qr if r.overall <= 2 and r.answers.get("officer")]
    assert sum(sat) / len(sat) > sum(unsat) / len(unsat) + 1

    # the printed slip is for a receipt nobody answered yet, and its pages exist
    from survey.receipts.services import verify_receipt_token

    receipt_id = verify_receipt_token(settings, info.slip_token).subject_id
    assert await db.scalar(select(Response.id).where(Response.receipt_id == receipt_id)) is None
    assert (await client.get(f"/slip/{info.slip_token}", headers=HTML)).status_code == 200

    assert await _count(db, ApiClient) == 1
    assert set(await db.scalars(select(User.role))) == {"admin", "statistician", "viewer", "unit_manager"}
    r = await login(client, DEMO_ADMIN, DEMO_PASSWORD)
    assert r.status_code == 303
    assert (await client.get("/admin", headers=HTML)).status_code == 200

    again = await ensure_demo_async(settings, "127.0.0.1", 8123)
    assert not again.seeded and again.api_key is None and again.slip_token
    assert await _count(db, Receipt) == n_receipts and await _count(db, Response) == n_responses
    assert await _count(db, User) == 4 and await _count(db, ApiClient) == 1
    assert "/admin/login" in "\n".join(again.lines())
    # the results pages are among the printed URLs, and the demo unit manager sees their unit only
    printed = "\n".join(info.lines())
    for url in ("/admin/ket-qua", "/admin/ket-qua/don-vi/", "/cong-khai", "hoabinh"):
        assert url in printed, url
    from survey.demo import DEMO_MANAGED_UNIT, DEMO_UNIT_MANAGER

    await client.post("/admin/logout", headers=HTML)
    client.cookies.clear()
    r = await login(client, DEMO_UNIT_MANAGER, DEMO_PASSWORD)
    assert r.status_code == 303
    assert (await client.get(f"/admin/ket-qua/don-vi/{DEMO_MANAGED_UNIT}", headers=HTML)).status_code == 200
    assert (await client.get("/admin/ket-qua/don-vi/000.00.01.H99", headers=HTML)).status_code == 403


async def test_demo_leaves_a_database_with_data_alone(settings, db):
    from tests.conftest import make_unit

    await make_unit(db, "X1", "Sở Nội vụ", "department")
    info = await ensure_demo_async(settings, "0.0.0.0", 9000)
    assert not info.seeded and info.base_url == "http://127.0.0.1:9000"
    assert await _count(db, Unit) == 1 and await _count(db, Receipt) == 0 and await _count(db, User) == 0


def test_demo_command_prints_the_urls(monkeypatch, settings, capsys, tmp_path):
    import stat

    from survey.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HAILONG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HAILONG_PUBLIC_URL", "http://127.0.0.1:8765")
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for needle in ("http://127.0.0.1:8765/slip/", "http://127.0.0.1:8765/r/", "http://127.0.0.1:8765/schema", "http://127.0.0.1:8765/kiosk/enrol", "http://127.0.0.1:8765/admin/login"):
        assert needle in out
    # passwords and the API key are not printed: they are in a file only this user can read, and out says where
    credentials = tmp_path / ".hailong-demo-credentials"
    assert str(credentials) in out
    assert DEMO_PASSWORD not in out and "hl_" not in out
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    text = credentials.read_text()
    assert f"admin_password={DEMO_PASSWORD}" in text
    key = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("api_key="))
    assert key.startswith("hl_")
    # the key in the file works
    from litestar.testing import TestClient

    from survey.app import create_app

    with TestClient(app=create_app(settings)) as c:
        assert c.get("/api/v1/receipts/000.00.01.H99-000000-0000", headers={"Authorization": f"Bearer {key}"}).status_code == 404
        assert c.get("/api/v1/receipts/000.00.01.H99-000000-0000", headers={"Authorization": "Bearer hl_wrong"}).status_code == 401
    # a second run seeds nothing, prints no secret, and still says where the file is
    assert main(["demo"]) == 0
    again = capsys.readouterr().out
    assert str(credentials) in again and DEMO_PASSWORD not in again and key not in again


def test_demo_credentials_file_holds_every_secret_and_only_the_user_reads_it(tmp_path):
    import stat

    from survey.demo import DemoInfo, write_credentials

    info = DemoInfo(seeded=True, base_url="http://127.0.0.1:8000", api_key="hl_abc_secret", admin_login=("admin", "pw-admin"),
                    extra_credentials={"unit_manager_password": "pw-manager"})
    path = tmp_path / "creds"
    path.write_text("old, world-readable")
    path.chmod(0o644)
    assert write_credentials(info, path) == path.resolve()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "admin_password=pw-admin" in text and "api_key=hl_abc_secret" in text and "unit_manager_password=pw-manager" in text
    printed = "\n".join(info.lines(path))
    assert str(path) in printed and not any(secret in printed for secret in ("pw-admin", "hl_abc_secret", "pw-manager"))
    assert write_credentials(DemoInfo(seeded=False, base_url="x"), path) is None  # nothing new: the file stays
    assert "pw-admin" in path.read_text()
