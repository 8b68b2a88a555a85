"""Demo data for ``make run`` / ``hailong serve --demo`` / ``hailong demo``.

On an empty database :func:`ensure_demo` seeds a fictional province with departments, communes,
wards and a special zone; procedures in several fields; three months of receipts (registered
through ``survey.receipts.services.register_receipts_bulk``); a few thousand synthetic responses
(validated with ``survey.responses.services.check_submission`` and inserted in bulk, row for row
what ``store_response`` writes) with believable differences between units; a demo admin, a
statistician and one API client.  On a non-empty database it writes nothing and only prints the
URLs to open.  Everything is drawn from a seeded numpy generator (dates are relative to today).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.cli import command
from survey.settings import Settings

SEED = 20260701
DEMO_PASSWORD = "hailong-demo-2026"
DEMO_ADMIN = "admin"
DEMO_STATISTICIAN = "thongke"
DEMO_VIEWER = "xem"
#: a unit manager (reads only their unit's results) and the unit they manage
DEMO_UNIT_MANAGER = "hoabinh"
DEMO_MANAGED_UNIT = "000.01.01.H99"
DAYS = 91
PROVINCE = ("000.00.00.H99", "Tỉnh Hài Lòng (demo)", "province")

#: (agency code = unit code, name, kind, relative volume, quality effect on the latent satisfaction)
UNITS = [
    ("000.00.01.H99", "Sở Tư pháp", "department", 0.8, 0.55),
    ("000.00.02.H99", "Sở Xây dựng", "department", 0.7, -0.75),
    ("000.00.03.H99", "Sở Nông nghiệp và Môi trường", "department", 0.9, -0.45),
    ("000.00.04.H99", "Sở Tài chính", "department", 1.0, 0.25),
    ("000.00.05.H99", "Sở Y tế", "department", 0.5, 0.05),
    ("000.00.06.H99", "Sở Công Thương", "department", 0.4, 0.35),
    ("000.01.01.H99", "Phường Hòa Bình", "ward", 1.6, 0.85),
    ("000.01.02.H99", "Phường Thuận An", "ward", 1.4, -0.2),
    ("000.01.03.H99", "Phường Bến Thành", "ward", 1.5, 0.15),
    ("000.02.01.H99", "Xã Tân Phú", "commune", 1.0, -0.95),
    ("000.02.02.H99", "Xã Phú Lộc", "commune", 0.9, 0.45),
    ("000.02.03.H99", "Xã Đông Hải", "commune", 0.8, 0.0),
    ("000.03.01.H99", "Đặc khu Hòn Ngọc", "special_zone", 0.6, 0.6),
]

#: (code, name, field, processing days, handled by: department name or "local" for communes/wards/zones)
PROCEDURES = [
    ("1.001193", "Đăng ký khai sinh", "Hộ tịch", 1, "local"),
    ("1.000894", "Đăng ký kết hôn", "Hộ tịch", 1, "local"),
    ("1.000656", "Đăng ký khai tử", "Hộ tịch", 1, "local"),
    ("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "Chứng thực", 1, "local"),
    ("1.001612", "Đăng ký thành lập hộ kinh doanh", "Kinh doanh", 3, "local"),
    ("1.004227", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", "Đất đai", 10, "local"),
    ("1.009994", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", "Xây dựng", 15, "local"),
    ("2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "Tư pháp", 10, "Sở Tư pháp"),
    ("1.001071", "Đăng ký hoạt động Văn phòng công chứng", "Tư pháp", 10, "Sở Tư pháp"),
    ("1.009972", "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II, hạng III", "Xây dựng", 20, "Sở Xây dựng"),
    ("1.004203", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu cho tổ chức", "Đất đai", 20, "Sở Nông nghiệp và Môi trường"),
    ("2.000992", "Cấp giấy phép môi trường", "Môi trường", 30, "Sở Nông nghiệp và Môi trường"),
    ("2.001610", "Đăng ký thành lập doanh nghiệp tư nhân", "Kinh doanh", 3, "Sở Tài chính"),
    ("2.002036", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "Kinh doanh", 3, "Sở Tài chính"),
    ("1.012270", "Cấp giấy phép hành nghề khám bệnh, chữa bệnh", "Khám bệnh, chữa bệnh", 20, "Sở Y tế"),
    ("1.004614", "Cấp Giấy chứng nhận đủ điều kiện kinh doanh dược", "Dược phẩm", 30, "Sở Y tế"),
    ("2.000620", "Cấp Giấy phép bán lẻ sản phẩm rượu", "Lưu thông hàng hóa", 10, "Sở Công Thương"),
]

ITEMS = ("access", "procedure", "officer", "result", "feedback")
#: expectation options that follow a weak pillar
EXPECTATION_FOR = {"access": ("facilities", "information"), "procedure": ("simplify", "fees"), "officer": ("attitude", "competence"), "result": ("time",), "feedback": ("feedback",)}
EXPECTATION_OPTIONS = ("information", "facilities", "simplify", "fees", "attitude", "competence", "time", "feedback", "online")
COMMENTS_GOOD = ["Cán bộ hướng dẫn rất tận tình.", "Thủ tục nhanh gọn, cảm ơn.", "Nơi chờ sạch sẽ, thoáng mát.", "Được trả kết quả sớm hơn hẹn."]
COMMENTS_BAD = ["Phải chờ quá lâu mới đến lượt.", "Hướng dẫn chưa rõ, phải đi lại nhiều lần.", "Thiếu chỗ ngồi chờ.", "Nên có thêm hướng dẫn nộp hồ sơ trực tuyến."]


@dataclass
class DemoInfo:
    seeded: bool
    base_url: str
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    slip_token: str | None = None
    slip_dossier_code: str | None = None
    api_key: str | None = None
    admin_login: tuple[str, str] | None = None
    statistician_login: tuple[str, str] | None = None
    #: more secrets of the demo (``name -> value``, e.g. another account's password): written to the credentials file, never printed
    extra_credentials: dict[str, str] = field(default_factory=dict)
    viewer_login: tuple[str, str] | None = None
    #: what the index runs of the demo period are (printed after the counts)
    index_lines: list[str] = field(default_factory=list)
    #: an expert-survey invitation not yet answered (its /e/ link is printed)
    expert_token: str | None = None
    #: results pages to open (dashboard, a unit page, the public page, the report PDF), printed after the logins
    results_links: list[str] = field(default_factory=list)

    def lines(self, credentials_file: Path | None = None) -> list[str]:
        """What to open. Passwords and the API key are never printed: they are in ``credentials_file``."""
        b = self.base_url
        out = []
        if self.seeded:
            c = self.counts
            out.append(
                f"Demo data seeded in {self.seconds:.1f} s: {c.get('units', 0)} units, {c.get('procedures', 0)} procedures, "
                f"{c.get('receipts', 0)} receipts, {c.get('responses', 0)} responses."
            )
            if c.get("kiosk_devices"):
                out.append(f"  {c['kiosk_devices']} kiosk devices; {c.get('kiosk_flagged', 0)} flagged kiosk ratings to review at {b}/admin/kiosk/review")
        else:
            out.append("The database already has data: nothing was seeded.")
        out.extend(self.index_lines)
        out.append(f"  Home page            {b}/")
        if self.slip_token:
            out.append(f"  Receipt slip (QR)    {b}/slip/{self.slip_token}")
            out.append(f"  Its survey           {b}/r/{self.slip_token}")
        if self.expert_token:
            out.append(f"  Expert survey (XHH)  {b}/e/{self.expert_token}")
            out.append(f"  PAR Index rankings   {b}/admin/par   (expert panels: {b}/admin/experts)")
        out.append(f"  API docs             {b}/schema")
        out.append(f"  Kiosk (tablet)       {b}/kiosk/enrol   (make an enrolment code at {b}/admin/kiosk/codes)")
        out.append(f"  Admin sign-in        {b}/admin/login")
        shown = credentials_file is not None and credentials_file.exists()
        if self.admin_login:
            out.append(f"    admin:        {self.admin_login[0]}")
        if self.statistician_login:
            out.append(f"    statistician: {self.statistician_login[0]}")
        if self.viewer_login:
            out.append(f"    viewer:       {self.viewer_login[0]}")
        out.extend(self.results_links)
        if shown:
            out.append(f"  Passwords and the API key: in {credentials_file} (readable only by you): cat {credentials_file}")
        code = self.slip_dossier_code or "<dossier code>"
        if shown:
            out.append(f"    e.g. KEY=$(sed -n 's/^api_key=//p' {credentials_file})")
            out.append(f"         curl -H \"Authorization: Bearer $KEY\" {b}/api/v1/receipts/{code}")
        if shown:
            out.append("  Another API key: hailong create-api-client --name NAME (or /admin/api-clients); a key is shown only once")
        if not shown:
            out.append("  API keys are shown only when created (the demo's on first seeding, in the credentials file): make another at")
            out.append(f"    {b}/admin/api-clients or with: hailong create-api-client --name NAME")
        return out


#: where ``serve --demo`` / ``hailong demo`` write the demo passwords and API key (mode 600, working directory)
CREDENTIALS_FILE = Path(".hailong-demo-credentials")


def write_credentials(info: DemoInfo, path: Path = CREDENTIALS_FILE) -> Path | None:
    """Write the seeded demo's passwords and API key to ``path``, readable only by this user (chmod 600).

    Only when the demo was just seeded (the API key exists only now); an older file is replaced.
    Returns the absolute path, or None when there was nothing new to write.
    """
    if not info.seeded:
        return None
    lines = ["# Hài Lòng demo credentials: keep this file private (the API key is shown nowhere else)"]
    if info.admin_login:
        lines += [f"admin_username={info.admin_login[0]}", f"admin_password={info.admin_login[1]}"]
    if info.statistician_login:
        lines += [f"statistician_username={info.statistician_login[0]}", f"statistician_password={info.statistician_login[1]}"]
    if info.viewer_login:
        lines += [f"viewer_username={info.viewer_login[0]}", f"viewer_password={info.viewer_login[1]}"]
    if info.api_key:
        lines.append(f"api_key={info.api_key}")
    lines += [f"{name}={value}" for name, value in info.extra_credentials.items()]
    path = path.resolve()
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write("\n".join(lines) + "\n")
    return path


def base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


async def database_is_empty(session: AsyncSession) -> bool:
    from survey.db.models import Receipt, Response, Unit, User

    for model in (Unit, User, Receipt, Response):
        if await session.scalar(select(func.count()).select_from(model)):
            return False
    return True


def _working_instants(rng: np.random.Generator, day: date, n: int, tz: ZoneInfo) -> list[datetime]:
    """``n`` naive local times within office hours (7:30-11:30, 13:30-17:00), sorted."""
    minutes = np.concatenate([np.arange(450, 690), np.arange(810, 1020)])
    picks = np.sort(rng.choice(minutes, size=n))
    seconds = rng.integers(0, 60, size=n)
    start = datetime(day.year, day.month, day.day)
    return [start + timedelta(minutes=int(m), seconds=int(s)) for m, s in zip(picks, seconds, strict=True)]


def _rating(latent: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(latent), 1, 5).astype(int)


def _answers(rng: np.random.Generator, quality: float, n: int, kiosk: bool) -> tuple[np.ndarray, np.ndarray]:
    """Overall (n,) and item ratings (n, 5); items correlate with overall; 0 = "Không ý kiến"."""
    person = 3.9 + 0.65 * quality + rng.normal(0.0, 0.75, size=n)
    overall = _rating(person + rng.normal(0.0, 0.3, size=n))
    item_bias = np.array([0.1, -0.15, 0.05, 0.1, -0.35]) + rng.normal(0, 0.12, size=5)
    items = _rating(person[:, None] + item_bias[None, :] + rng.normal(0.0, 0.55, size=(n, 5)))
    if kiosk:
        items[rng.random((n, 5)) < 0.55] = -1  # kiosk taps are optional: -1 = not answered
    else:
        na = rng.random((n, 5)) < np.array([0.03, 0.04, 0.02, 0.05, 0.16])
        items[na] = 0
    return overall, items


def _expectations(rng: np.random.Generator, items: np.ndarray) -> list[str]:
    k = int(rng.choice([0, 1, 2, 3], p=[0.25, 0.35, 0.25, 0.15]))
    if k == 0:
        return []
    weights = {o: 1.0 for o in EXPECTATION_OPTIONS}
    for item_id, value in zip(ITEMS, items, strict=True):
        if 1 <= value <= 3:
            for opt in EXPECTATION_FOR[item_id]:
                weights[opt] += 3.0 * (4 - value)
    p = np.array([weights[o] for o in EXPECTATION_OPTIONS])
    chosen = rng.choice(len(EXPECTATION_OPTIONS), size=k, replace=False, p=p / p.sum())
    return [EXPECTATION_OPTIONS[i] for i in sorted(chosen)]


#: more demo data from other packages (``kiosk`` seeds its devices): ``async step(session, settings, rng, actor)``
#: returns counts to print.  ``survey`` never imports them: they register themselves (see ``demo_step``) when
#: the ``hailong`` commands are loaded (``survey.cli._load_feature_commands``).
DEMO_STEPS: list = []


def demo_step(fn):
    """Register ``fn`` to run after the survey's own demo data is written (same session, same seed)."""
    if fn not in DEMO_STEPS:
        DEMO_STEPS.append(fn)
    return fn


async def seed(session: AsyncSession, settings: Settings, actor: str = "demo") -> dict[str, object]:
    """Write the demo data (the caller checked that the database is empty); audited as ``actor``."""
    from survey import audit
    from survey.admin.users import create_user
    from survey.db.models import Procedure, Response, Unit
    from survey.receipts.clients import create_api_client
    from survey.receipts.services import ReceiptInput, register_receipts_bulk
    from survey.responses.services import Submission, check_submission

    rng = np.random.default_rng(SEED)
    tz = ZoneInfo(settings.timezone)
    now_utc = datetime.now(UTC)
    today = now_utc.astimezone(tz).date()

    province = Unit(code=PROVINCE[0], name=PROVINCE[1], kind=PROVINCE[2])
    session.add(province)
    await session.flush()
    units = [Unit(code=c, name=n, kind=k, parent_id=province.id) for c, n, k, _v, _q in UNITS]
    session.add_all(units)
    procs = [Procedure(code=c, name=n, field=f, processing_days=d) for c, n, f, d, _by in PROCEDURES]
    session.add_all(procs)
    await session.flush()
    audit.record(session, actor, "demo.seed", "unit", province.id, units=len(units) + 1, procedures=len(procs))

    await create_user(session, DEMO_ADMIN, DEMO_PASSWORD, "admin", full_name="Quản trị Sở Nội vụ (demo)", actor=actor)
    await create_user(session, DEMO_STATISTICIAN, DEMO_PASSWORD, "statistician", full_name="Cán bộ thống kê (demo)", actor=actor)
    await create_user(session, DEMO_VIEWER, DEMO_PASSWORD, "viewer", full_name="Lãnh đạo Sở (chỉ xem, demo)", actor=actor)
    await create_user(session, DEMO_UNIT_MANAGER, DEMO_PASSWORD, "unit_manager", full_name="Lãnh đạo Phường Hòa Bình (demo)", unit_code=DEMO_MANAGED_UNIT, actor=actor)
    client, api_key = await create_api_client(session, "Hệ thống thông tin giải quyết TTHC (demo)", unit_id=province.id, commit=False)
    audit.record(session, actor, "api_client.create", "api_client", client.id, name=client.name, key_prefix=client.key_prefix)
    await session.commit()

    # ---- receipts: Poisson counts per unit and working day over the last three months
    unit_info = {u.code: (u, vol, q) for u, (_c, _n, _k, vol, q) in zip(units, UNITS, strict=True)}
    procs_for: dict[str, list[Procedure]] = {}
    for p, (_c, _n, _f, _d, by) in zip(procs, PROCEDURES, strict=True):
        procs_for.setdefault(by, []).append(p)
    inputs: list[ReceiptInput] = []
    meta: list[tuple[Unit, Procedure]] = []
    for offset in range(DAYS, -1, -1):
        day = today - timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for code, (unit, vol, _q) in unit_info.items():
            n = int(rng.poisson(5.2 * vol))
            if n == 0:
                continue
            candidates = procs_for["local"] if unit.kind != "department" else procs_for[unit.name]
            instants = _working_instants(rng, day, n, tz)
            for seq, local_at in enumerate(instants, start=1):
                received = local_at.replace(tzinfo=tz)
                if received > now_utc:
                    continue
                proc = candidates[int(rng.integers(len(candidates)))]
                appointment = day + timedelta(days=int(proc.processing_days or 1))
                returned = None
                if appointment < today and rng.random() < 0.93:
                    returned = (received + timedelta(days=float(proc.processing_days or 1) * rng.uniform(0.6, 1.15))).replace(tzinfo=None)
                    if returned.replace(tzinfo=tz) > now_utc:
                        returned = None
                channel = str(rng.choice(["direct", "online", "postal"], p=[0.78, 0.2, 0.02]))
                inputs.append(
                    ReceiptInput(
                        dossier_code=f"{code}-{day:%y%m%d}-{seq:04d}",
                        unit_code=code,
                        received_at=local_at,
                        procedure_code=proc.code,
                        appointment_date=appointment,
                        returned_at=returned,
                        channel=channel,
                        counter=f"Quầy {int(rng.integers(1, 5))}",
                    )
                )
                meta.append((unit, proc))
    registered = await register_receipts_bulk(session, inputs, client, settings, commit=True)

    # ---- responses: QR answers to a share of the receipts, plus kiosk ratings
    rows: list[dict] = []
    by_unit: dict[int, list[int]] = {}
    for i, (unit, _proc) in enumerate(meta):
        by_unit.setdefault(unit.id, []).append(i)
    for unit_id, idx in by_unit.items():
        unit, _vol, quality = next(v for v in unit_info.values() if v[0].id == unit_id)
        rate = 0.45 + 0.06 * quality
        answered = rng.random(len(idx)) < rate
        overall, items = _answers(rng, quality, len(idx), kiosk=False)
        delay_h = rng.exponential(20.0, size=len(idx)) + 0.2
        for j, i in enumerate(idx):
            rec = registered[i]
            submitted = rec.received_at + timedelta(hours=float(delay_h[j]))
            if not answered[j] or submitted > now_utc:
                continue
            answers = {item: int(v) for item, v in zip(ITEMS, items[j], strict=True)}
            comment = None
            if rng.random() < 0.05:
                pool = COMMENTS_GOOD if overall[j] >= 4 else COMMENTS_BAD
                comment = pool[int(rng.integers(len(pool)))]
            sub = Submission(
                questionnaire_id="sipas-short", questionnaire_version=1, channel="qr", unit_id=unit_id,
                answers=answers, overall=int(overall[j]), expectations=_expectations(rng, items[j]), comment=comment,
                language="en" if rng.random() < 0.04 else "vi", receipt_id=rec.id, procedure_id=meta[i][1].id,
                receipt_procedure_id=meta[i][1].id, receipt_channel=rec.channel,
            )
            rows.append(_row(sub, submitted, check_submission, settings))
    for unit, vol, quality in unit_info.values():
        n = int(rng.poisson(45 * vol))
        overall, items = _answers(rng, quality, n, kiosk=True)
        days = rng.integers(0, DAYS, size=n)
        for j in range(n):
            day = today - timedelta(days=int(days[j]))
            if day.weekday() >= 5:
                day -= timedelta(days=2)
            at = _working_instants(rng, day, 1, tz)[0].replace(tzinfo=tz).astimezone(UTC)
            if at > now_utc:
                at = now_utc - timedelta(minutes=int(rng.integers(5, 600)))
            answers = {item: int(v) for item, v in zip(ITEMS, items[j], strict=True) if v > 0}
            sub = Submission(
                questionnaire_id="kiosk", questionnaire_version=1, channel="kiosk", unit_id=unit.id, answers=answers,
                overall=int(overall[j]), device_time=at, client_uuid=str(uuid.UUID(bytes=rng.bytes(16), version=4)),
            )
            rows.append(_row(sub, at, check_submission, settings))
    for i in range(0, len(rows), 1000):
        await session.execute(insert(Response), rows[i : i + 1000])
    await session.commit()
    result: dict[str, object] = {"api_key": api_key, "receipts": len(registered), "responses": len(rows)}
    from survey.cli import _load_feature_commands

    _load_feature_commands()  # registers the other packages' demo steps (kiosk: its devices, ratings to review)
    for step in DEMO_STEPS:
        result.update(await step(session, settings, rng, actor) or {})

    # ---- indices: a sampling campaign with answers and dispositions, a published sample run, a self-selected run
    from survey.indices.demo_seed import seed_indices

    result["indices"] = await seed_indices(session, settings, {code: q for code, (_u, _v, q) in unit_info.items()})

    # ---- expert survey and PAR Index: a panel with answered invitations, appraisal points, published rankings
    from survey.par.demo import seed_par

    result["par"] = await seed_par(
        session, settings, quality={code: q for code, (_u, _v, q) in unit_info.items()},
        index_run_id=(result["indices"] or {}).get("sample_run"), today=today,
    )
    return result


def _row(sub, submitted_at: datetime, check, settings: Settings) -> dict:
    """Exactly the row ``store_response`` writes for ``sub`` (validated the same way)."""
    check(sub, settings.comment_max_chars)
    row = {
        "id": str(uuid.uuid4()),
        "receipt_id": sub.receipt_id,
        "unit_id": sub.unit_id,
        "procedure_id": sub.procedure_id,
        "questionnaire_id": sub.questionnaire_id,
        "questionnaire_version": sub.questionnaire_version,
        "channel": sub.channel,
        "answers": {k: v for k, v in sub.answers.items() if v is not None},
        "overall": sub.overall,
        "expectations": list(sub.expectations),
        "comment": (sub.comment or "").strip() or None,
        "language": sub.language,
        "submitted_at": submitted_at,
        "device_time": sub.device_time,
        "client_uuid": sub.client_uuid,
        "device_id": sub.device_id,
        "integrity_flags": list(sub.integrity_flags),
        "review_status": sub.review_status,
        "extra": dict(sub.extra),
    }
    from survey.responses import readmodel

    row["packed"] = readmodel.pack_values(row, sub.receipt_procedure_id, sub.receipt_channel)
    return row


async def _unanswered_receipt(session: AsyncSession, settings: Settings) -> tuple[str, str] | None:
    """(token, dossier code) of the most recent receipt that has no response and whose link is still valid."""
    from survey.db.models import Receipt, Response
    from survey.receipts.services import receipt_token

    row = (
        await session.execute(
            select(Receipt.id, Receipt.token_expires_at, Receipt.dossier_code)
            .outerjoin(Response, Response.receipt_id == Receipt.id)
            .where(Response.id.is_(None), Receipt.token_expires_at > datetime.now(UTC))
            .order_by(Receipt.received_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return receipt_token(settings, row.id, row.token_expires_at.astimezone(ZoneInfo(settings.timezone)).date()), row.dossier_code


async def _unanswered_expert_invitation(session: AsyncSession, settings: Settings) -> str | None:
    """The token of an expert invitation that is not submitted and still open, if any."""
    from survey.db.models import ExpertInvitation, ExpertSubmission
    from survey.experts.services import invitation_token, local_today

    row = (
        await session.execute(
            select(ExpertInvitation.id, ExpertInvitation.expires_on)
            .outerjoin(ExpertSubmission, ExpertSubmission.invitation_id == ExpertInvitation.id)
            .where(ExpertSubmission.id.is_(None), ExpertInvitation.expires_on >= local_today(settings))
            .order_by(ExpertInvitation.id.desc()).limit(1)
        )
    ).first()
    return None if row is None else invitation_token(settings, row.id, row.expires_on)


async def _results_and_par_urls(session: AsyncSession) -> list[str]:
    """The statistician's results, expert-survey and PAR pages of the demo (and the first of each kind of detail page)."""
    from survey.db.models import Appraisal, Composition, Unit

    urls = ["/admin/ket-qua", "/admin/experts", "/admin/par", "/admin/par/methodology/par-department-2025-v1"]
    seeded = (await session.execute(select(Appraisal.year, Appraisal.methodology_id).limit(1))).first()
    if seeded is not None:  # the appraisal points the demo imported (without year and methodology the page is a 404)
        urls.append(f"/admin/par/appraisal?year={seeded[0]}&methodology={seeded[1]}")
    code = await session.scalar(select(Unit.code).where(Unit.code == UNITS[1][0]))
    if code is not None:
        urls.append(f"/admin/ket-qua/don-vi/{code}")
    # not yet /admin/experts/<id>: its English invitation messages carry Vietnamese names in a <textarea>,
    # which cannot mark them lang="vi" (which language those messages take is still to be decided)
    composition_id = await session.scalar(select(func.min(Composition.id)))
    if composition_id is not None:
        urls.append(f"/admin/par/compositions/{composition_id}")
    return urls


async def demo_urls(session: AsyncSession, settings: Settings) -> list[dict[str, str]]:
    """Every page of the demo, for the page checks: {"url", "who"} with who = "public", "citizen", "kiosk",
    or a staff role ("admin", "statistician", "viewer") whose demo account signs in first.

    Citizen links use a receipt / campaign member that has no answer yet; nothing here writes.
    """
    from survey.db.models import AuditLog, CampaignMember, Receipt, SamplingCampaign, Unit

    urls = [{"url": "/", "who": "public"}, {"url": "/admin/login", "who": "public"}, {"url": "/kiosk/enrol", "who": "public"},
            {"url": "/trang-khong-co", "who": "public"}, {"url": "/cong-khai", "who": "public"}]
    found = await _unanswered_receipt(session, settings)
    if found is not None:
        token, _code = found
        urls += [{"url": f"/r/{token}", "who": "citizen"}, {"url": f"/r/{token}?start=1", "who": "citizen"},
                 {"url": f"/r/{token}/khong-tham-gia", "who": "citizen"}, {"url": f"/slip/{token}", "who": "citizen", "lang": "vi"},
                 {"url": f"/slip/{token}?size=99", "who": "citizen"}]
    urls.append({"url": "/r/KHONGHOPLE", "who": "citizen"})
    campaign_id = await session.scalar(select(func.max(SamplingCampaign.id)))
    if campaign_id is not None:
        from survey.campaigns.services import invitation_token

        campaign = await session.get(SamplingCampaign, campaign_id)
        member = await session.scalar(
            select(CampaignMember).where(CampaignMember.campaign_id == campaign_id, CampaignMember.status == "pending").limit(1)
        )
        if member is not None and campaign is not None:
            token = invitation_token(settings, member.id, campaign.invitations_expire_on)
            urls += [{"url": f"/c/{token}", "who": "citizen"}, {"url": f"/c/{token}?start=1", "who": "citizen"}]
    urls.append({"url": "/kiosk/", "who": "kiosk"})
    everyone = ["/admin", "/admin/units", "/admin/procedures", "/admin/receipts", "/admin/receipts?code=H99&unit="]
    unit_id = await session.scalar(select(Unit.id).where(Unit.code == UNITS[0][0]))
    if unit_id is not None:
        everyone.append(f"/admin/receipts?unit={unit_id}&from=2020-01-01")
    statistician = ["/admin/sampling"] + ([f"/admin/sampling/{campaign_id}"] if campaign_id is not None else [])
    statistician += await _results_and_par_urls(session)
    admin = ["/admin/kiosk/", "/admin/kiosk/codes", "/admin/kiosk/review", "/admin/kiosk/review?status=accepted",
             "/admin/api-clients", "/admin/users", "/admin/audit"]
    if (await session.scalar(select(func.count()).select_from(AuditLog)) or 0) > 50:
        admin.append("/admin/audit?page=2")
    if (await session.scalar(select(func.count()).select_from(Receipt)) or 0) > 50:
        everyone.append("/admin/receipts?page=2")
    urls += [{"url": u, "who": "viewer"} for u in everyone]
    urls += [{"url": u, "who": "statistician"} for u in everyone[:1] + statistician]
    urls += [{"url": u, "who": "admin"} for u in everyone + statistician + admin]
    return urls


async def ensure_demo_async(settings: Settings, host: str, port: int, actor: str = "demo") -> DemoInfo:
    """Seed an empty database (or only look at a non-empty one) and describe what to open."""
    from survey.db.engine import make_engine, make_sessionmaker
    from survey.db.models import Procedure, Receipt, Response, Unit, User

    engine = make_engine(settings.database_url)
    info = DemoInfo(seeded=False, base_url=base_url(host, port))
    try:
        async with make_sessionmaker(engine)() as session:
            if await database_is_empty(session):
                started = time.perf_counter()
                result = await seed(session, settings, actor=actor)
                info.seeded = True
                info.seconds = time.perf_counter() - started
                info.api_key = result["api_key"]  # type: ignore[assignment]
                info.admin_login = (DEMO_ADMIN, DEMO_PASSWORD)
                info.statistician_login = (DEMO_STATISTICIAN, DEMO_PASSWORD)
                info.viewer_login = (DEMO_VIEWER, DEMO_PASSWORD)
                for key, value in result.items():
                    if key not in ("api_key", "receipts", "responses") and isinstance(value, int):
                        info.counts[key] = value
                ix = result.get("indices") or {}
                if ix:
                    info.index_lines = [
                        f"  Index runs: #{ix['sample_run']} from sampling campaign #{ix['campaign_id']} ({ix['campaign_respondents']} respondents, published), "
                        f"#{ix['self_selected_run']} from QR/kiosk answers (không phải mẫu xác suất); see: hailong indices show {ix['sample_run']}",
                    ]
            else:
                names = set(await session.scalars(select(User.username).where(User.username.in_([DEMO_ADMIN, DEMO_STATISTICIAN]))))
                demo = await session.scalar(select(Unit.id).where(Unit.code == PROVINCE[0])) is not None
                if demo and DEMO_ADMIN in names:
                    info.admin_login = (DEMO_ADMIN, DEMO_PASSWORD + " (unless changed)")
            info.expert_token = await _unanswered_expert_invitation(session, settings)
            found = await _unanswered_receipt(session, settings)
            if found is not None:
                info.slip_token, info.slip_dossier_code = found
            for name, model in (("units", Unit), ("procedures", Procedure), ("receipts", Receipt), ("responses", Response)):
                info.counts[name] = await session.scalar(select(func.count()).select_from(model)) or 0
            from survey.results.services import demo_links

            info.results_links = await demo_links(session, info.base_url, DEMO_MANAGED_UNIT, (DEMO_UNIT_MANAGER, DEMO_PASSWORD) if info.seeded else None)
            if info.seeded:  # never printed: written to the credentials file (mode 600)
                info.extra_credentials.update(unit_manager_username=DEMO_UNIT_MANAGER, unit_manager_password=DEMO_PASSWORD)
    finally:
        await engine.dispose()
    return info


def ensure_demo(settings: Settings, host: str = "127.0.0.1", port: int = 8000, actor: str | None = None) -> DemoInfo:
    """Seed demo data into an empty database and print the URLs to open (used by ``serve --demo``)."""
    from survey.audit import cli_actor

    info = asyncio.run(ensure_demo_async(settings, host, port, actor=actor or cli_actor()))
    path = write_credentials(info) or CREDENTIALS_FILE.resolve()
    print("\n".join(["", "Hài Lòng demo", *info.lines(path), ""]), flush=True)
    return info


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="host for the printed URLs (default: from HAILONG_PUBLIC_URL)")
    p.add_argument("--port", type=int, default=None, help="port for the printed URLs (default: from HAILONG_PUBLIC_URL)")


@command("demo", "seed demo data into the configured database if it is empty, and print the URLs to open", _demo_args)
def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from survey.db.migrate import upgrade

    upgrade(settings.database_url)
    public = urlsplit(settings.public_url)
    host = args.host or public.hostname or "127.0.0.1"
    port = args.port or public.port or (443 if public.scheme == "https" else 80)
    ensure_demo(settings, host, port)
    return 0
