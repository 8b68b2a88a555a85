"""The audit log service: every admin action is recorded through ``record``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.models import AuditLog


def record(session: AsyncSession, actor: str, action: str, target_type: str | None = None, target_id: object = None, **details: Any) -> AuditLog:
    """Add an audit entry to the session; it is committed with the action it describes."""
    entry = AuditLog(actor=actor, action=action, target_type=target_type, target_id=None if target_id is None else str(target_id), details=details)
    session.add(entry)
    return entry
