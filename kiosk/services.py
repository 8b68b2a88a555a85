"""Kiosk services: enrolment codes, device credentials, submissions, heartbeats, fleet, review.

Credentials.  A device credential is ``<device id>.<43 url-safe chars>`` (256 random bits); the
database keeps only its sha256, so a stolen database does not enrol a fake tablet.  Enrolment codes
are 8 characters from an alphabet without look-alikes (40 bits), single use, and expire after
``kiosk_enrol_code_hours``; only their sha256 is stored either.  Wrong codes are counted per client
address (keyed hash) like failed sign-ins: after ``login_max_attempts`` within ``login_window_seconds``
that address gets 429 until the window has passed, so codes cannot be guessed online.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kiosk import screening
from kiosk.models import EnrolmentCode, KioskDevice
from kiosk.schemas import KioskConfig, SubmissionIn
from survey import audit
from survey.admin import users
from survey.db.base import utcnow
from survey.db.models import Receipt, Response, Unit
from survey.questionnaires import registry
from survey.receipts import tokens
from survey.responses.services import StoredResponse, Submission, store_response
from survey.settings import Settings

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MIN_IDLE, MAX_IDLE = 3, 600


class KioskError(Exception):
    """A refused kiosk operation; ``status`` is the HTTP status, ``field`` names the bad input."""

    status = 400

    def __init__(self, message_vi: str, message_en: str, field: str = "body"):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.field = field


class InvalidInput(KioskError):
    status = 422


class InvalidInputs(InvalidInput):
    """Several bad fields at once (a form): ``errors`` holds every one, the first is the exception's own."""

    def __init__(self, errors: list[InvalidInput]):
        first = errors[0]
        super().__init__(first.message_vi, first.message_en, first.field)
        self.errors = errors


class DeviceAuthError(KioskError):
    status = 401


class EnrolmentRefused(KioskError):
    status = 400


class Conflict(KioskError):
    status = 409


class EnrolmentThrottled(KioskError):
    status = 429


#: ``login_attempts`` rows of enrolment attempts carry this in place of a username
ENROL_ATTEMPT = "#kiosk-enrol"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def hash_pin(pin: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    return f"{salt}${_sha(salt + pin)}"


def check_pin(pin: str, stored: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(_sha(salt + pin), digest)


# --------------------------------------------------------------------------- enrolment


@dataclass(frozen=True, slots=True)
class NewCode:
    id: int
    code: str  # shown once, formatted XXXX-XXXX
    expires_at: datetime


async def create_enrolment_code(
    session: AsyncSession,
    settings: Settings,
    *,
    actor: str,
    unit_id: int,
    counter: str,
    name: str,
    exit_pin: str,
    idle_seconds: int | None = None,
    questionnaire_id: str = "kiosk",
    questionnaire_version: int | None = None,
) -> NewCode:
    """Validate and store a one-time code; the plain code is returned once and never stored."""
    counter, name = counter.strip(), name.strip()
    idle = settings.kiosk_idle_seconds if idle_seconds is None else idle_seconds
    # every bad field at once, in the form's order (an empty form flags them all)
    problems: list[InvalidInput] = []
    if not 1 <= len(name) <= 120:
        problems.append(InvalidInput("Vui lòng nhập tên thiết bị (tối đa 120 ký tự).", "Enter a device name (at most 120 characters).", "name"))
    if not 1 <= len(counter) <= 64:
        problems.append(InvalidInput("Vui lòng nhập tên quầy (tối đa 64 ký tự).", "Enter the counter (at most 64 characters).", "counter"))
    if not (exit_pin.isdigit() and 4 <= len(exit_pin) <= 8):
        problems.append(InvalidInput("Mã PIN thoát phải gồm 4 đến 8 chữ số.", "The exit PIN must be 4 to 8 digits.", "exit_pin"))
    if not MIN_IDLE <= idle <= MAX_IDLE:
        problems.append(InvalidInput(f"Thời gian chờ phải từ {MIN_IDLE} đến {MAX_IDLE} giây.", f"Idle time must be {MIN_IDLE} to {MAX_IDLE} seconds.", "idle_seconds"))
    if await session.get(Unit, unit_id) is None:
        problems.append(InvalidInput("Đơn vị không tồn tại.", "Unknown unit.", "unit_id"))
    if problems:
        raise InvalidInputs(problems)
    try:
        q = registry.get(questionnaire_id, questionnaire_version)
    except KeyError:
        raise InvalidInput("Phiếu khảo sát không tồn tại.", "Unknown questionnaire.", "questionnaire_id") from None
    if q.form != "kiosk":
        raise InvalidInput("Phiếu này không dùng cho kiosk.", "This questionnaire is not a kiosk form.", "questionnaire_id")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires = utcnow() + timedelta(hours=settings.kiosk_enrol_code_hours)
    row = EnrolmentCode(
        code_hash=_sha(code), unit_id=unit_id, counter=counter, name=name, idle_seconds=idle,
        exit_pin_hash=hash_pin(exit_pin), questionnaire_id=q.id, questionnaire_version=q.version,
        created_by=actor, expires_at=expires,
    )
    session.add(row)
    await session.flush()
    audit.record(session, actor, "kiosk.code.create", "kiosk_enrolment_code", row.id, unit_id=unit_id, counter=counter, name=name)
    await session.commit()
    return NewCode(row.id, format_code(code), expires)


async def enrol(session: AsyncSession, raw_code: str, settings: Settings, address: str | None) -> tuple[KioskDevice, str]:
    """Use a code once: creates the device and returns it with its credential (shown to the tablet only).

    Raises EnrolmentThrottled before looking at the code when this address failed too often lately.
    """
    client = users.client_key(settings, address)
    if await users.client_is_throttled(session, settings, ENROL_ATTEMPT, client):
        minutes = max(1, settings.login_window_seconds // 60)
        raise EnrolmentThrottled(
            f"Nhập sai mã quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
            f"Too many wrong codes. Try again in {minutes} minutes.",
            "code",
        )
    code = normalise_code(raw_code)
    now = utcnow()
    row = await session.scalar(select(EnrolmentCode).where(EnrolmentCode.code_hash == _sha(code))) if len(code) == CODE_LENGTH else None
    if row is None or row.used_at is not None or row.expires_at <= now:
        users.record_attempt(session, ENROL_ATTEMPT, client, success=False)
        await session.commit()
        raise EnrolmentRefused("Mã đăng ký không đúng, đã dùng hoặc đã hết hạn.", "The enrolment code is wrong, used or expired.", "code")
    # claim the code atomically: of two tablets racing with one code, exactly one wins
    claimed = await session.execute(
        update(EnrolmentCode).where(EnrolmentCode.id == row.id, EnrolmentCode.used_at.is_(None)).values(used_at=now)
    )
    if claimed.rowcount != 1:
        await session.rollback()
        raise EnrolmentRefused("Mã đăng ký đã được dùng.", "The enrolment code has been used.", "code")
    secret = secrets.token_urlsafe(32)
    device = KioskDevice(
        unit_id=row.unit_id, counter=row.counter, name=row.name, credential_hash="pending-" + secrets.token_hex(8),
        idle_seconds=row.idle_seconds, exit_pin_hash=row.exit_pin_hash,
        questionnaire_id=row.questionnaire_id, questionnaire_version=row.questionnaire_version, queued_count=0,
    )
    session.add(device)
    await session.flush()
    credential = f"{device.id}.{secret}"
    device.credential_hash = _sha(credential)
    await session.execute(update(EnrolmentCode).where(EnrolmentCode.id == row.id).values(device_id=device.id))
    audit.record(session, f"kiosk:{device.id}", "kiosk.enrol", "kiosk_device", device.id, code_id=row.id, unit_id=row.unit_id, counter=row.counter)
    users.record_attempt(session, ENROL_ATTEMPT, client, success=True)
    await session.commit()
    return device, credential


async def authenticate(session: AsyncSession, authorization: str | None) -> KioskDevice:
    """The device of an ``Authorization: Bearer <credential>`` header; DeviceAuthError otherwise."""
    bad = DeviceAuthError("Thiết bị chưa được đăng ký hoặc đã bị thu hồi.", "The device is not enrolled or has been revoked.", "authorization")
    scheme, _, credential = (authorization or "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or len(credential) > 120:
        raise bad
    head, _, _secret = credential.partition(".")
    if not head.isdigit() or len(head) > 9:
        raise bad
    device = await session.get(KioskDevice, int(head))
    if device is None or not hmac.compare_digest(device.credential_hash, _sha(credential)) or device.revoked_at is not None:
        raise bad
    return device


async def device_config(session: AsyncSession, device: KioskDevice) -> KioskConfig:
    unit = await session.get(Unit, device.unit_id)
    q = registry.get(device.questionnaire_id, device.questionnaire_version)
    qdef = {
        "id": q.id, "version": q.version,
        "title": {"vi": q.title.vi, "en": q.title.en},
        "overall": {"vi": q.overall.label.vi, "en": q.overall.label.en} if q.overall else None,
        "scale": {k: {"vi": v.vi, "en": v.en} for k, v in q.scale.labels.items()},
        "items": [{"id": i.id, "vi": i.label.vi, "en": i.label.en} for i in q.items],
    }
    return KioskConfig(
        device_id=device.id, device_name=device.name, unit_name=unit.name if unit else "", counter=device.counter,
        idle_seconds=device.idle_seconds, questionnaire=qdef, exit_pin=device.exit_pin_hash,
    )


# --------------------------------------------------------------------------- submissions


def receipt_token_from(text: str) -> str:
    """The token of a scanned receipt QR: ``HTTPS://HOST/R/<TOKEN>`` or the bare token."""
    text = text.strip()
    marker = text.upper().rfind("/R/")
    if marker >= 0:
        text = text[marker + 3 :]
    return text.split("?")[0].split("#")[0].strip("/ ")


async def _receipt_for(session: AsyncSession, device: KioskDevice, raw: str, settings: Settings) -> Receipt:
    _kid, keys = settings.signing_keys()
    token = receipt_token_from(raw)
    try:
        claims = tokens.verify(token, "receipt", keys, datetime.now(UTC).date())
    except tokens.TokenExpired:
        raise InvalidInput("Mã QR trên giấy hẹn đã hết hạn.", "The receipt's QR code has expired.", "receipt_token") from None
    except tokens.TokenError:
        raise InvalidInput("Mã QR trên giấy hẹn không hợp lệ.", "The receipt's QR code is not valid.", "receipt_token") from None
    receipt = await session.get(Receipt, claims.subject_id)
    if receipt is None or receipt.unit_id != device.unit_id:
        raise InvalidInput("Giấy hẹn này không thuộc đơn vị của quầy.", "This receipt belongs to another unit.", "receipt_token")
    return receipt


ALREADY_RATED = ("Giấy hẹn này đã được đánh giá.", "This receipt has already been rated.")


async def check_receipt(session: AsyncSession, device: KioskDevice, raw: str, settings: Settings) -> None:
    """At scan time: the receipt is valid, this unit's, and not rated yet; InvalidInput or Conflict otherwise.

    The submission still enforces one rating per receipt (a citizen may answer by phone meanwhile).
    """
    receipt = await _receipt_for(session, device, raw, settings)
    if await session.scalar(select(Response.id).where(Response.receipt_id == receipt.id).limit(1)) is not None:
        raise Conflict(*ALREADY_RATED, "receipt_token")


def _check_version(device: KioskDevice, data: SubmissionIn) -> None:
    """The device may send its configured questionnaire or an older version of it (answers queued before an update)."""
    if data.questionnaire_id != device.questionnaire_id or data.questionnaire_version > device.questionnaire_version:
        raise InvalidInput(
            "Thiết bị không có phiếu khảo sát phiên bản này.",
            "This device does not have that questionnaire version.",
            "questionnaire_version",
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    stored: StoredResponse
    flags: list[str]


async def submit(session: AsyncSession, device: KioskDevice, data: SubmissionIn, settings: Settings) -> Outcome:
    """Store one kiosk answer idempotently on its client UUID, screened on ingest.

    Raises InvalidInput (422), Conflict (409) and the response service's errors.
    """
    _check_version(device, data)
    received = utcnow()
    if data.device_time > received + timedelta(days=1) or data.device_time.year < 2020:
        raise InvalidInput("Giờ của thiết bị không hợp lệ.", "The device time is not plausible.", "device_time")
    client_uuid = data.client_uuid.lower()
    existing = await session.scalar(select(Response).where(Response.client_uuid == client_uuid))
    receipt_id = receipt_procedure_id = receipt_channel = None
    if data.receipt_token:
        receipt = await _receipt_for(session, device, data.receipt_token, settings)
        receipt_id, receipt_procedure_id, receipt_channel = receipt.id, receipt.procedure_id, receipt.channel
    sub = Submission(
        questionnaire_id=data.questionnaire_id, questionnaire_version=data.questionnaire_version, channel="kiosk",
        unit_id=device.unit_id, answers=dict(data.answers), overall=data.overall, language=data.language,
        receipt_id=receipt_id, device_id=device.id, device_time=data.device_time.astimezone(UTC), client_uuid=client_uuid,
        extra={"counter": device.counter}, receipt_procedure_id=receipt_procedure_id, receipt_channel=receipt_channel,
    )
    flags: list[str] = []
    earlier: dict[str, list[str]] = {}
    if existing is None:
        from survey.responses.services import check_submission

        check_submission(sub, settings.comment_max_chars)  # validate before screening (nothing written yet)
        flags, earlier = await screening.screen_on_ingest(session, device, sub, received, settings)
        sub.integrity_flags = flags
        sub.review_status = "pending" if flags else "accepted"
    stored = await store_response(session, sub, comment_max_chars=settings.comment_max_chars)
    if stored.created and earlier:
        await screening.add_flags(session, earlier)
    if not stored.created and existing is not None:
        flags = list(existing.integrity_flags or [])
    return Outcome(stored, flags)


#: heartbeat skew stored at most this far either way (an INTEGER column; a clamped value still shows a wild clock)
MAX_SKEW_SECONDS = 10 * 366 * 86400


async def heartbeat(session: AsyncSession, device: KioskDevice, app_version: str, queued: int, device_time: datetime | None) -> None:
    now = utcnow()
    device.last_heartbeat_at = now
    device.app_version = app_version
    device.queued_count = queued
    if device_time is not None:  # a clock set to 2100 must not overflow the INTEGER column: clamp to ±10 years
        skew = int((now - device_time).total_seconds())
        device.heartbeat_skew_seconds = max(-MAX_SKEW_SECONDS, min(MAX_SKEW_SECONDS, skew))
    await session.commit()


# --------------------------------------------------------------------------- admin read models and actions


async def revoke(session: AsyncSession, device_id: int, actor: str) -> bool:
    device = await session.get(KioskDevice, device_id)
    if device is None:
        return False
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        audit.record(session, actor, "kiosk.device.revoke", "kiosk_device", device_id, name=device.name, counter=device.counter)
        await session.commit()
    return True


async def units_for_select(session: AsyncSession) -> list[dict[str, Any]]:
    """Active units in Vietnamese alphabetical order (Đ after D), the province included."""
    from survey.i18n import vi_sort_key

    rows = (await session.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind).where(Unit.active.is_(True)))).all()
    return [{"id": r.id, "code": r.code, "name": r.name, "kind": r.kind} for r in sorted(rows, key=lambda r: vi_sort_key(r.name))]


async def recent_codes(session: AsyncSession, limit: int = 30) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(EnrolmentCode, Unit.name).join(Unit, Unit.id == EnrolmentCode.unit_id).order_by(EnrolmentCode.id.desc()).limit(limit)
    )
    now = utcnow()
    out = []
    for code, unit_name in rows:
        state = "used" if code.used_at else ("expired" if code.expires_at <= now else "open")
        out.append({"id": code.id, "unit": unit_name, "counter": code.counter, "name": code.name, "created_by": code.created_by,
                    "created_at": code.created_at, "expires_at": code.expires_at, "state": state, "device_id": code.device_id})
    return out


SKEW_SAMPLE = 200


async def fleet(session: AsyncSession) -> list[dict[str, Any]]:
    """Every device with its last heartbeat, app version, queue, flag counts and clock skew."""
    devices = (await session.execute(
        select(KioskDevice, Unit.name).join(Unit, Unit.id == KioskDevice.unit_id).order_by(KioskDevice.revoked_at.is_not(None), KioskDevice.id)
    )).all()
    counts = dict((await session.execute(
        select(Response.device_id, func.count()).where(Response.channel == "kiosk").group_by(Response.device_id)
    )).all())
    flagged = dict((await session.execute(
        select(Response.device_id, func.count())
        .where(Response.channel == "kiosk", cast(Response.integrity_flags, String) != "[]")
        .group_by(Response.device_id)
    )).all())
    pending = dict((await session.execute(
        select(Response.device_id, func.count()).where(Response.channel == "kiosk", Response.review_status == "pending").group_by(Response.device_id)
    )).all())
    out = []
    for device, unit_name in devices:
        recent = (await session.execute(
            select(Response.submitted_at, Response.device_time).where(Response.device_id == device.id, Response.device_time.is_not(None))
            .order_by(Response.submitted_at.desc()).limit(SKEW_SAMPLE)
        )).all()
        skew = statistics.median((r.submitted_at - r.device_time).total_seconds() for r in recent) if recent else None
        out.append({
            "id": device.id, "name": device.name, "unit": unit_name, "counter": device.counter,
            "created_at": device.created_at, "revoked_at": device.revoked_at, "last_heartbeat_at": device.last_heartbeat_at,
            "app_version": device.app_version or "–", "queued": device.queued_count, "responses": counts.get(device.id, 0),
            "flagged": flagged.get(device.id, 0), "pending": pending.get(device.id, 0),
            "skew_seconds": skew, "heartbeat_skew_seconds": device.heartbeat_skew_seconds, "idle_seconds": device.idle_seconds,
        })
    return out


async def review_queue(session: AsyncSession, status: str = "pending", limit: int = 200) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Response, KioskDevice.name, KioskDevice.counter)
        .join(KioskDevice, KioskDevice.id == Response.device_id, isouter=True)
        .where(Response.channel == "kiosk", Response.review_status == status)
        .order_by(Response.device_time, Response.submitted_at).limit(limit)
    )
    return [
        {"id": r.id, "device": name or f"#{r.device_id}", "counter": counter or "", "device_time": r.device_time,
         "submitted_at": r.submitted_at, "overall": r.overall, "answers": dict(r.answers or {}), "flags": list(r.integrity_flags or []),
         "receipt_bound": r.receipt_id is not None, "status": r.review_status}
        for r, name, counter in rows
    ]


async def decide(session: AsyncSession, response_id: str, decision: str, actor: str) -> None:
    """Accept (counts in indices) or reject (stays excluded) a flagged kiosk rating; audited."""
    if decision not in ("accept", "reject"):
        raise InvalidInput("Quyết định không hợp lệ.", "Unknown decision.", "decision")
    row = await session.get(Response, response_id)
    if row is None or row.channel != "kiosk":
        raise KioskError("Không tìm thấy câu trả lời.", "No such response.", "response_id")
    before = row.review_status
    row.review_status = "accepted" if decision == "accept" else "rejected"
    row.extra = {**(row.extra or {}), "reviewed_by": actor, "reviewed_at": utcnow().isoformat()}
    audit.record(session, actor, f"kiosk.review.{decision}", "response", row.id, before=before, flags=list(row.integrity_flags or []))
    await session.commit()
