"""Staff accounts: argon2 password hashes, roles, sign-in with throttling.

Roles (``survey.db.models.accounts.ROLES``): ``admin`` (Sở Nội vụ), ``statistician``, ``viewer``, and
``unit_manager`` (a unit head, tied to ``users.unit_id``: reads the results of that unit and the units below it).
Sign-in attempts are kept in ``login_attempts`` under the username and a keyed hash of the client
address (never the address itself); too many recent failures for either refuses sign-in, even with
the right password, until the window has passed.  Other guessable secrets (kiosk enrolment codes)
are throttled per client the same way, their rows marked by a ``#purpose`` in place of a username
(no username can hold ``#``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.db.base import utcnow
from survey.db.models import LoginAttempt, User
from survey.db.models.accounts import ROLES
from survey.settings import Settings

#: Shortest password accepted for a staff account.
MIN_PASSWORD_LENGTH = 10
#: ``login_attempts.username`` of attempts that are not sign-ins (e.g. ``#kiosk-enrol``); no username has ``#``
PURPOSE_PREFIX = "#"
USERNAME_MAX = 64

_hasher = PasswordHasher()
#: Verified against when the username does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("hailong-no-such-user")


class _BilingualError(ValueError):
    """``message_vi`` for Vietnamese pages, ``message_en`` for English ones; ``str()`` (the CLI) gives both."""

    def __init__(self, message_vi: str, message_en: str):
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi = message_vi
        self.message_en = message_en


class WeakPassword(_BilingualError):
    """The password is too short."""


class InvalidUser(_BilingualError):
    """Bad username or role, or the username is taken; ``field`` names the form field."""

    def __init__(self, message_vi: str, message_en: str, field: str = "username"):
        super().__init__(message_vi, message_en)
        self.field = field


class LoginThrottled(Exception):
    """Too many recent failed sign-ins for this username or this client."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: int
    username: str
    role: str


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự (mật khẩu này có {len(password)}).",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters (it has {len(password)}).",
        )


def normalise_username(username: str) -> str:
    return username.strip().lower()


async def create_user(
    session: AsyncSession, username: str, password: str, role: str, *, full_name: str = "", unit_code: str | None = None, actor: str = "cli"
) -> User:
    """Create a staff account (audited, committed). Raises WeakPassword or InvalidUser.

    A ``unit_manager`` needs ``unit_code`` (the unit they manage); other roles take none.
    """
    name = normalise_username(username)
    if not name or len(name) > USERNAME_MAX or not all(c.isalnum() or c in "._-" for c in name):
        raise InvalidUser(
            "Tên đăng nhập chỉ gồm chữ, số, dấu chấm, gạch ngang, gạch dưới (tối đa 64 ký tự).",
            "The username may only have letters, digits, . _ - (at most 64).",
        )
    if role not in ROLES:
        raise InvalidUser(f"Vai trò phải là một trong {', '.join(ROLES)}.", f"The role must be one of {', '.join(ROLES)}.", "role")
    unit_id = await _manager_unit(session, role, unit_code)
    check_password_strength(password)
    if await session.scalar(select(User.id).where(User.username == name)) is not None:
        raise InvalidUser(f"Tên đăng nhập “{name}” đã tồn tại.", f"The username “{name}” is taken.")
    user = User(username=name, full_name=full_name, password_hash=hash_password(password), role=role, active=True, unit_id=unit_id)
    session.add(user)
    try:
        await session.flush()
        extra = {"unit_code": unit_code.strip()} if unit_id is not None and unit_code else {}
        audit.record(session, actor, "user.create", "user", user.id, username=name, role=role, **extra)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise InvalidUser(f"Tên đăng nhập “{name}” đã tồn tại.", f"The username “{name}” is taken.") from None
    return user


async def _manager_unit(session: AsyncSession, role: str, unit_code: str | None) -> int | None:
    """The unit id of a unit manager's unit; InvalidUser naming ``unit`` when it is missing or unknown."""
    from survey.db.models import Unit

    code = (unit_code or "").strip()
    if role != "unit_manager":
        if code:
            raise InvalidUser("Chỉ tài khoản quản lý đơn vị mới gắn với một đơn vị.", "Only a unit manager account has a unit.", "unit_code")
        return None
    if not code:
        raise InvalidUser("Tài khoản quản lý đơn vị cần chọn đơn vị.", "A unit manager account needs its unit.", "unit_code")
    unit_id = await session.scalar(select(Unit.id).where(Unit.code == code))
    if unit_id is None:
        raise InvalidUser(f"Không có đơn vị mã “{code}”.", f"No unit with code “{code}”.", "unit_code")
    return unit_id


def client_key(settings: Settings, address: str | None) -> str:
    """A keyed hash of the client address (64 hex digits); the address itself is never stored."""
    secret = hashlib.sha256(b"hailong-login-client:" + settings.secret_key.encode()).digest()
    return hmac.new(secret, (address or "unknown").encode(), hashlib.sha256).hexdigest()


async def _recent_failures(session: AsyncSession, since, *keys) -> int:
    """Failures matching every condition in ``keys`` since ``since`` and after the last success for the same keys."""
    last_success = await session.scalar(
        select(func.max(LoginAttempt.at)).where(*keys, LoginAttempt.success.is_(True), LoginAttempt.at >= since)
    )
    start = max(since, last_success) if last_success is not None else since
    cond = LoginAttempt.at > start if last_success is not None else LoginAttempt.at >= start
    return await session.scalar(select(func.count()).where(*keys, LoginAttempt.success.is_(False), cond)) or 0


async def is_throttled(session: AsyncSession, settings: Settings, username: str, client: str) -> bool:
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    limit = settings.login_max_attempts
    if await _recent_failures(session, since, LoginAttempt.username == username) >= limit:
        return True
    # only sign-in attempts count here: other purposes (``#kiosk-enrol``) keep their own counter per client
    sign_ins = ~LoginAttempt.username.startswith(PURPOSE_PREFIX)
    return await _recent_failures(session, since, LoginAttempt.client_key == client, sign_ins) >= limit


async def client_is_throttled(session: AsyncSession, settings: Settings, purpose: str, client: str) -> bool:
    """Too many failed ``purpose`` attempts (e.g. ``#kiosk-enrol``) from this client within the sign-in window."""
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    failures = await _recent_failures(session, since, LoginAttempt.username == purpose, LoginAttempt.client_key == client)
    return failures >= settings.login_max_attempts


def record_attempt(session: AsyncSession, purpose: str, client: str, success: bool) -> None:
    """Add a ``purpose`` attempt by this client to the session (the caller commits)."""
    session.add(LoginAttempt(username=purpose, client_key=client, success=success, at=utcnow()))


async def sign_in(session: AsyncSession, settings: Settings, username: str, password: str, address: str | None) -> SignedIn | None:
    """Check a sign-in. Returns the user, or None for a wrong username/password (recorded, committed).

    Raises LoginThrottled before looking at the password when there were too many recent failures.
    A successful sign-in is audited and rehashes the password when the hasher's parameters changed.
    """
    name = normalise_username(username)[:USERNAME_MAX]
    client = client_key(settings, address)
    if await is_throttled(session, settings, name, client):
        raise LoginThrottled()
    user = await session.scalar(select(User).where(User.username == name)) if name else None
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None and user.active
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    session.add(LoginAttempt(username=name, client_key=client, success=bool(ok), at=utcnow()))
    if not ok or user is None:
        await session.commit()  # the failure is kept in login_attempts (username + hashed client, no password)
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, user.username, "login", "user", user.id)
    await session.commit()
    return SignedIn(user_id=user.id, username=user.username, role=user.role)


async def list_users(session: AsyncSession) -> list[dict]:
    from survey.db.models import Unit

    rows = await session.execute(
        select(User.id, User.username, User.full_name, User.role, User.active, User.created_at, User.last_login_at, Unit.name.label("unit_name"))
        .outerjoin(Unit, Unit.id == User.unit_id)
        .order_by(User.username)
    )
    return [dict(r._mapping) for r in rows]


async def deactivate_user(session: AsyncSession, user_id: int, *, actor: str) -> User | None:
    """Lock an account and end all its sessions at once (audited, committed). None if there is no such user."""
    from survey.security import sessions

    user = await session.get(User, user_id)
    if user is None:
        return None
    user.active = False
    ended = await sessions.end_all_for_user(session, user.id)
    audit.record(session, actor, "user.deactivate", "user", user.id, username=user.username, sessions_ended=ended)
    await session.commit()
    return user


async def set_password(session: AsyncSession, username: str, password: str, *, actor: str) -> User:
    """Set a new password and end every session of the account (audited, committed).

    Raises WeakPassword, or InvalidUser when there is no such account.
    """
    from survey.security import sessions

    check_password_strength(password)
    name = normalise_username(username)
    user = await session.scalar(select(User).where(User.username == name))
    if user is None:
        raise InvalidUser(f"Không có tài khoản “{name}” / no account “{name}”.")
    user.password_hash = hash_password(password)
    ended = await sessions.end_all_for_user(session, user.id)
    audit.record(session, actor, "user.password", "user", user.id, username=user.username, sessions_ended=ended)
    await session.commit()
    return user
