"""The audit log service: every state change (web, API, command line) is recorded through ``record``.

The command line records as ``cli:<os user>`` (:func:`cli_actor`); every ``hailong`` command that changes
data passes it to the services it calls (``survey/cli.py`` declares which commands those are).
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.models import AuditLog

CLI_PREFIX = "cli:"


def record(session: AsyncSession, actor: str, action: str, target_type: str | None = None, target_id: object = None, **details: Any) -> AuditLog:
    """Add an audit entry to the session; it is committed with the action it describes."""
    entry = AuditLog(actor=actor, action=action, target_type=target_type, target_id=None if target_id is None else str(target_id), details=details)
    session.add(entry)
    return entry


def cli_actor() -> str:
    """``cli:<os user>``: who ran a ``hailong`` command (the login name, else the numeric uid)."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no name for this uid (containers): the uid itself
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{CLI_PREFIX}{user}"
