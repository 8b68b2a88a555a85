"""Settings: one documented list, read from ``HAILONG_*`` environment variables.

Every field below is documented in README.md ("Settings"); a test checks that the two agree.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("hailong.sqlite3")
#: HAILONG_TOKEN_TTL_DAYS above this is refused (a century; the token's expiry field ends in 2199 anyway)
MAX_TOKEN_TTL_DAYS = 36500


def _env(name: str, default: str) -> str:
    return os.environ.get(f"HAILONG_{name}", default)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(f"HAILONG_{name}")
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a clear message naming the variable
        raise ValueError(f"HAILONG_{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(f"HAILONG_{name}")
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _parse_token_keys(raw: str) -> dict[str, bytes]:
    """Parse ``kid:hexkey,kid:hexkey`` into {kid: key}."""
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        kid, _, hexkey = part.partition(":")
        if len(kid) != 1 or not kid.isalnum():
            raise ValueError("HAILONG_TOKEN_KEYS: a key id must be one letter or digit")
        key = bytes.fromhex(hexkey)
        if len(key) < 16:
            raise ValueError("HAILONG_TOKEN_KEYS: keys must be at least 16 bytes (32 hex digits)")
        keys[kid.upper()] = key
    return keys


def _local_secret(path: Path) -> str:
    """A per-installation secret kept next to the database, created on first use (development only)."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """Application settings. Build with :meth:`from_env`; tests pass explicit values."""

    #: SQLAlchemy async URL. Default: an embedded SQLite file ``hailong.sqlite3`` in the working directory.
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}"
    #: Public base URL printed in QR codes and links, e.g. ``https://hailong.example.gov.vn``.
    public_url: str = "http://127.0.0.1:8000"
    #: Secret for session cookies and CSRF (hex, ≥ 32 bytes). Default: generated once into ``.hailong-secret``.
    secret_key: str = ""
    #: Token signing keys ``kid:hexkey,...`` (kid is one letter/digit, key ≥ 16 bytes). Default derives from secret_key.
    token_keys: dict[str, bytes] = field(default_factory=dict)
    #: Key id used to sign new tokens (must be in token_keys). Default: the first key.
    token_active_kid: str = ""
    #: Days a receipt's survey link stays valid after the receipt is registered.
    token_ttl_days: int = 60
    #: Maximum failed sign-ins per account and per client address (and kiosk enrolments per address) within login_window_seconds.
    login_max_attempts: int = 5
    #: Window for counting failed sign-ins, in seconds.
    login_window_seconds: int = 900
    #: Maximum length of the optional free-text comment, in characters.
    comment_max_chars: int = 1000
    #: Maximum request body in bytes (larger bodies get 413).
    max_body_bytes: int = 64 * 1024
    #: Serve the Secure flag on cookies (turn on behind HTTPS).
    secure_cookies: bool = False
    #: Debug mode (tracebacks in responses). Never in production.
    debug: bool = False
    #: Kiosk: seconds of inactivity before a kiosk returns to its start screen (per-device override possible).
    kiosk_idle_seconds: int = 20
    #: Kiosk screening: more than this many ratings ...
    kiosk_burst_count: int = 5
    #: ... within this many seconds on one device is a burst.
    kiosk_burst_seconds: int = 30
    #: Kiosk screening: opening hours (local time) as ``HH:MM-HH:MM``; ratings outside are flagged.
    kiosk_opening_hours: str = "07:00-17:30"
    #: Kiosk screening: weekdays the counters are closed (``sat,sun``); ratings on them are flagged like out-of-hours ones.
    kiosk_closed_weekdays: str = ""
    #: Kiosk screening: public holidays and other closed dates, ``YYYY-MM-DD,...`` (flagged like out-of-hours).
    kiosk_closed_dates: str = ""
    #: Local time zone of the province (IANA name).
    timezone: str = "Asia/Ho_Chi_Minh"
    #: Kiosk screening: a counter may get at most ratio% × its receipts that day ...
    kiosk_receipt_ratio_percent: int = 100
    #: ... plus this many ratings (people returning for results also rate) before the excess is flagged.
    kiosk_receipt_slack: int = 2
    #: Kiosk screening: a device-day needs at least this many ratings to be tested for a skewed distribution ...
    kiosk_skew_min_count: int = 20
    #: ... and the rest of its unit that day at least this many (the reference distribution).
    kiosk_skew_min_reference: int = 20
    #: ... and is skewed when the total-variation distance between the two is at least this many percent.
    kiosk_skew_distance_percent: int = 30
    #: Kiosk screening: this many identical ratings in a row on one device ...
    kiosk_identical_run: int = 4
    #: ... each within this many seconds of the previous one is an identical rapid sequence.
    kiosk_identical_seconds: int = 60
    #: Hours a kiosk enrolment code stays valid after an admin creates it.
    kiosk_enrol_code_hours: int = 24
    # --- operations (issue 13): database pool per worker, metrics, retention of personal data
    #: PostgreSQL: connections each app process keeps open (its pool). Workers x nodes x (pool + overflow) must stay below max_connections.
    db_pool_size: int = 10
    #: PostgreSQL: extra connections a process may open under load beyond the pool (closed again when returned); 0 = none, no churn.
    db_max_overflow: int = 0
    #: Seconds a request waits for a free pooled connection before failing.
    db_pool_timeout: int = 30
    #: Bearer token a Prometheus scraper must send to read /metrics; empty = /metrics is off (404).
    metrics_token: str = ""
    #: Days the free-text comments of responses are kept (then erased by ``hailong purge``); 0 = forever.
    retain_comments_days: int = 730
    #: Days dossier codes (receipts, call lists) are kept before ``hailong purge`` replaces them with a pseudonym; 0 = forever.
    retain_dossier_codes_days: int = 1095
    #: Days sign-in attempts (usernames typed, client keys) are kept; 0 = forever.
    retain_login_attempts_days: int = 90
    #: Days an inactive staff account keeps its name and username before they are erased; 0 = forever.
    retain_inactive_accounts_days: int = 365
    #: Days audit-log entries (they name the staff who acted) are kept; 0 = forever.
    retain_audit_days: int = 1825
    #: Days after its panel was created that an expert-survey member keeps name, title and contact; 0 = forever.
    retain_expert_contacts_days: int = 730
    #: API: a client restricted to a unit may also read and replay receipts of its units registered by other
    #: clients or imported (off: every client sees and changes only the receipts it registered itself).
    api_share_unit_receipts: bool = False
    #: Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed for per-address limits; empty: never.
    trusted_proxies: str = ""
    #: Hours a staff sign-in lasts (server-side session; signing out, deactivation or a password change end it earlier).
    session_hours: int = 8
    #: Index runs: a published cell needs at least this many respondents; below it a unit cell shows the
    #: Fay-Herriot (small-area) estimate, marked, or is suppressed, never a raw percentage.
    index_min_n: int = 30

    @classmethod
    def from_env(cls) -> Settings:
        """Read every ``HAILONG_*`` variable; unset ones keep the documented default."""
        d = cls()  # defaults (class attributes of a slots dataclass are descriptors, not values)
        database_url = _env("DATABASE_URL", d.database_url)
        secret = _env("SECRET_KEY", "")
        if not secret:
            secret = _local_secret(Path(_env("SECRET_FILE", ".hailong-secret")))
        settings = cls(
            database_url=database_url,
            public_url=_env("PUBLIC_URL", d.public_url).rstrip("/"),
            secret_key=secret,
            token_keys=_parse_token_keys(_env("TOKEN_KEYS", "")),
            token_active_kid=_env("TOKEN_ACTIVE_KID", "").upper(),
            token_ttl_days=_env_int("TOKEN_TTL_DAYS", d.token_ttl_days),
            login_max_attempts=_env_int("LOGIN_MAX_ATTEMPTS", d.login_max_attempts),
            login_window_seconds=_env_int("LOGIN_WINDOW_SECONDS", d.login_window_seconds),
            comment_max_chars=_env_int("COMMENT_MAX_CHARS", d.comment_max_chars),
            max_body_bytes=_env_int("MAX_BODY_BYTES", d.max_body_bytes),
            secure_cookies=_env_bool("SECURE_COOKIES", d.secure_cookies),
            debug=_env_bool("DEBUG", d.debug),
            kiosk_idle_seconds=_env_int("KIOSK_IDLE_SECONDS", d.kiosk_idle_seconds),
            kiosk_burst_count=_env_int("KIOSK_BURST_COUNT", d.kiosk_burst_count),
            kiosk_burst_seconds=_env_int("KIOSK_BURST_SECONDS", d.kiosk_burst_seconds),
            kiosk_opening_hours=_env("KIOSK_OPENING_HOURS", d.kiosk_opening_hours),
            kiosk_closed_weekdays=_env("KIOSK_CLOSED_WEEKDAYS", d.kiosk_closed_weekdays),
            kiosk_closed_dates=_env("KIOSK_CLOSED_DATES", d.kiosk_closed_dates),
            timezone=_env("TIMEZONE", d.timezone),
            kiosk_receipt_ratio_percent=_env_int("KIOSK_RECEIPT_RATIO_PERCENT", d.kiosk_receipt_ratio_percent),
            kiosk_receipt_slack=_env_int("KIOSK_RECEIPT_SLACK", d.kiosk_receipt_slack),
            kiosk_skew_min_count=_env_int("KIOSK_SKEW_MIN_COUNT", d.kiosk_skew_min_count),
            kiosk_skew_min_reference=_env_int("KIOSK_SKEW_MIN_REFERENCE", d.kiosk_skew_min_reference),
            kiosk_skew_distance_percent=_env_int("KIOSK_SKEW_DISTANCE_PERCENT", d.kiosk_skew_distance_percent),
            kiosk_identical_run=_env_int("KIOSK_IDENTICAL_RUN", d.kiosk_identical_run),
            kiosk_identical_seconds=_env_int("KIOSK_IDENTICAL_SECONDS", d.kiosk_identical_seconds),
            kiosk_enrol_code_hours=_env_int("KIOSK_ENROL_CODE_HOURS", d.kiosk_enrol_code_hours),
            db_pool_size=_env_int("DB_POOL_SIZE", d.db_pool_size),
            db_max_overflow=_env_int("DB_MAX_OVERFLOW", d.db_max_overflow),
            db_pool_timeout=_env_int("DB_POOL_TIMEOUT", d.db_pool_timeout),
            metrics_token=_env("METRICS_TOKEN", d.metrics_token),
            retain_comments_days=_env_int("RETAIN_COMMENTS_DAYS", d.retain_comments_days),
            retain_dossier_codes_days=_env_int("RETAIN_DOSSIER_CODES_DAYS", d.retain_dossier_codes_days),
            retain_login_attempts_days=_env_int("RETAIN_LOGIN_ATTEMPTS_DAYS", d.retain_login_attempts_days),
            retain_inactive_accounts_days=_env_int("RETAIN_INACTIVE_ACCOUNTS_DAYS", d.retain_inactive_accounts_days),
            retain_audit_days=_env_int("RETAIN_AUDIT_DAYS", d.retain_audit_days),
            retain_expert_contacts_days=_env_int("RETAIN_EXPERT_CONTACTS_DAYS", d.retain_expert_contacts_days),
            api_share_unit_receipts=_env_bool("API_SHARE_UNIT_RECEIPTS", d.api_share_unit_receipts),
            trusted_proxies=_env("TRUSTED_PROXIES", d.trusted_proxies),
            session_hours=_env_int("SESSION_HOURS", d.session_hours),
            index_min_n=_env_int("INDEX_MIN_N", d.index_min_n),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse, at start-up, values the app cannot work with; the ValueError names the variable."""
        from datetime import date, timedelta

        from survey.receipts.tokens import EPOCH

        last = EPOCH + timedelta(days=2**16 - 1)  # the last expiry date a token can carry
        room = (last - date.today()).days
        if not 1 <= self.token_ttl_days <= min(MAX_TOKEN_TTL_DAYS, room):
            raise ValueError(
                f"HAILONG_TOKEN_TTL_DAYS must be between 1 and {min(MAX_TOKEN_TTL_DAYS, room)} days, got "
                f"{self.token_ttl_days}: a survey link's expiry must fit in the token (expiry dates end on {last:%Y-%m-%d})"
            )

    def signing_keys(self) -> tuple[str, dict[str, bytes]]:
        """The active key id and all verification keys; derived from secret_key when none are configured."""
        return _signing_keys(self.secret_key, tuple(self.token_keys.items()), self.token_active_kid)


@lru_cache(maxsize=8)
def _signing_keys(secret_key: str, token_keys: tuple[tuple[str, bytes], ...], active_kid: str) -> tuple[str, dict[str, bytes]]:
    """Derived once per configuration (every token check asks); callers must not change the dict."""
    import hashlib

    keys = dict(token_keys)
    if not keys:
        if not secret_key:
            raise ValueError("secret_key is empty: set HAILONG_SECRET_KEY or HAILONG_TOKEN_KEYS")
        keys = {"A": hashlib.sha256(b"hailong-token-key:" + secret_key.encode()).digest()}
    active = active_kid or next(iter(keys))
    if active not in keys:
        raise ValueError(f"HAILONG_TOKEN_ACTIVE_KID {active!r} is not among HAILONG_TOKEN_KEYS")
    return active, keys


def setting_names() -> list[str]:
    """The environment variable names of every setting (for the documentation test)."""
    return [f"HAILONG_{f.name.upper()}" for f in fields(Settings)]
