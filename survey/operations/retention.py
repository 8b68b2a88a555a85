"""Retention of personal data (Nghị định 13/2023/NĐ-CP): one setting per kind, and the purge that applies them.

Each :class:`RetentionKind` names the data, the setting that says how many days it is kept
(``0`` = kept until deleted by hand), and a function that erases what is older than the cutoff and
returns how many records it changed.  ``hailong purge`` runs every kind in one transaction and
records one audit entry (``privacy.purge``) with the cutoffs and the counts.

Other features register their kinds here: ``survey.operations.expert_data`` (the expert panels'
names and contacts) calls :func:`register` when imported; add a module to ``FEATURE_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.db.base import utcnow
from survey.db.models import AuditLog, CampaignMember, LoginAttempt, Receipt, Response, User
from survey.settings import Settings

PURGED_PREFIX = "PURGED-"
ERASED_PREFIX = "erased-"

#: (session, cutoff, dry_run) -> number of records erased (or that would be)
Purger = Callable[[AsyncSession, datetime, bool], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class RetentionKind:
    name: str
    setting: str  # the Settings field holding the days
    description: str
    purge: Purger


KINDS: list[RetentionKind] = []

#: modules of other features that register their own kinds when imported (missing ones are fine)
FEATURE_MODULES = ("survey.operations.expert_data",)


def register(kind: RetentionKind) -> RetentionKind:
    if all(k.name != kind.name for k in KINDS):
        KINDS.append(kind)
    return kind


async def _count(session: AsyncSession, stmt) -> int:
    return int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def purge_comments(session: AsyncSession, cutoff: datetime, dry_run: bool) -> int:
    """Free-text comments may name people or give phone numbers: erased (set empty), the ratings stay."""
    where = and_(Response.comment.is_not(None), Response.submitted_at < cutoff)
    n = await _count(session, select(Response.id).where(where))
    if n and not dry_run:
        await session.execute(update(Response).where(where).values(comment=None).execution_options(synchronize_session=False))
    return n


async def purge_dossier_codes(session: AsyncSession, cutoff: datetime, dry_run: bool) -> int:
    """Dossier codes lead back to a citizen's case file in the one-stop system: replaced by a pseudonym
    (``PURGED-<id>``) in receipts and call lists; the counter name goes too.  Dates, unit and procedure stay."""
    where = and_(Receipt.received_at < cutoff, ~Receipt.dossier_code.startswith(PURGED_PREFIX))
    n = await _count(session, select(Receipt.id).where(where))
    member_where = and_(
        ~CampaignMember.dossier_code.startswith(PURGED_PREFIX),
        or_(CampaignMember.receipt_id.in_(select(Receipt.id).where(where)),
            and_(CampaignMember.received_on.is_not(None), CampaignMember.received_on < cutoff.date())),
    )
    members = await _count(session, select(CampaignMember.id).where(member_where))
    if not dry_run:
        if members:
            await session.execute(
                update(CampaignMember).where(member_where)
                .values(dossier_code=literal(PURGED_PREFIX, String) + cast(CampaignMember.id, String))
                .execution_options(synchronize_session=False)
            )
        if n:
            await session.execute(
                update(Receipt).where(where)
                .values(dossier_code=literal(PURGED_PREFIX, String) + cast(Receipt.id, String), counter=None)
                .execution_options(synchronize_session=False)
            )
    return n + members


async def purge_login_attempts(session: AsyncSession, cutoff: datetime, dry_run: bool) -> int:
    """Sign-in attempts hold the usernames typed (sometimes a password typed in the wrong box) and client keys."""
    where = LoginAttempt.at < cutoff
    n = await _count(session, select(LoginAttempt.id).where(where))
    if n and not dry_run:
        await session.execute(delete(LoginAttempt).where(where))
    return n


async def purge_inactive_accounts(session: AsyncSession, cutoff: datetime, dry_run: bool) -> int:
    """A deactivated staff account whose last sign-in (or creation) is older than the cutoff loses its
    name and username (``erased-<id>``) and its password hash; the row stays for the records that point to it."""
    last_seen = func.coalesce(User.last_login_at, User.created_at)
    where = and_(User.active.is_(False), last_seen < cutoff, ~User.username.startswith(ERASED_PREFIX))
    n = await _count(session, select(User.id).where(where))
    if n and not dry_run:
        await session.execute(
            update(User).where(where)
            .values(username=literal(ERASED_PREFIX, String) + cast(User.id, String), full_name="", password_hash="!")
            .execution_options(synchronize_session=False)
        )
    return n


async def purge_audit(session: AsyncSession, cutoff: datetime, dry_run: bool) -> int:
    """Audit entries name the staff member who acted: deleted after the retention period."""
    where = AuditLog.at < cutoff
    n = await _count(session, select(AuditLog.id).where(where))
    if n and not dry_run:
        await session.execute(delete(AuditLog).where(where))
    return n


for _kind in (
    RetentionKind("comments", "retain_comments_days", "free-text comments of responses", purge_comments),
    RetentionKind("dossier_codes", "retain_dossier_codes_days", "dossier codes and counters of receipts and call lists", purge_dossier_codes),
    RetentionKind("login_attempts", "retain_login_attempts_days", "sign-in attempts (usernames typed, client keys)", purge_login_attempts),
    RetentionKind("inactive_accounts", "retain_inactive_accounts_days", "names and usernames of deactivated staff accounts", purge_inactive_accounts),
    RetentionKind("audit", "retain_audit_days", "audit-log entries (they name the staff who acted)", purge_audit),
):
    register(_kind)


def load_feature_kinds() -> None:
    for module in FEATURE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


@dataclass(frozen=True, slots=True)
class PurgeLine:
    kind: str
    description: str
    days: int
    cutoff: datetime | None  # None: kept forever (days = 0)
    count: int


async def purge(session: AsyncSession, settings: Settings, *, actor: str, dry_run: bool = False,
                only: str | None = None, now: datetime | None = None) -> list[PurgeLine]:
    """Apply every retention setting (or only the kind ``only``) in one transaction; audited unless ``dry_run``."""
    load_feature_kinds()
    now = now or utcnow()
    kinds = [k for k in KINDS if only is None or k.name == only]
    if only is not None and not kinds:
        raise ValueError(f"unknown kind {only!r}; one of: {', '.join(k.name for k in KINDS)}")
    lines: list[PurgeLine] = []
    for kind in kinds:
        days = int(getattr(settings, kind.setting))
        if days <= 0:
            lines.append(PurgeLine(kind.name, kind.description, days, None, 0))
            continue
        cutoff = now - timedelta(days=days)
        lines.append(PurgeLine(kind.name, kind.description, days, cutoff, await kind.purge(session, cutoff, dry_run)))
    if dry_run:
        await session.rollback()
        return lines
    audit.record(session, actor, "privacy.purge", "retention", None,
                 **{line.kind: {"days": line.days, "cutoff": line.cutoff.isoformat() if line.cutoff else None, "erased": line.count}
                    for line in lines})
    await session.commit()
    return lines
