"""Who may use the expert-survey admin pages (statisticians and admins); the survey itself is authorised by its token."""

from __future__ import annotations

from litestar import Request

from survey.admin.guards import current_user, requires_role

STATISTICIAN = [requires_role("statistician")]


def actor(request: Request) -> str:
    user = current_user(request)
    return user.username if user else "-"
