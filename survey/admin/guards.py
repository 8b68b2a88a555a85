"""Access checks for signed-in staff. The session holds only ``user_id``, ``username`` and ``role``.

Use ``guards=[requires_role("admin")]`` on a route or controller; ``statistician`` pages accept admins too.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

#: which roles may use pages meant for a role
ROLE_INCLUDES = {"admin": {"admin"}, "statistician": {"admin", "statistician"}, "viewer": {"admin", "statistician", "viewer"}}


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    username: str
    role: str


def current_user(connection: ASGIConnection) -> StaffUser | None:
    """The signed-in staff member, or None."""
    data = connection.scope.get("session") or {}
    if not data.get("user_id"):
        return None
    return StaffUser(id=int(data["user_id"]), username=str(data["username"]), role=str(data["role"]))


def requires_role(role: str):
    """A Litestar guard: 401 when not signed in, 403 when the role is not enough."""
    allowed = ROLE_INCLUDES[role]

    def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        user = current_user(connection)
        if user is None:
            raise NotAuthorizedException("Vui lòng đăng nhập.")
        if user.role not in allowed:
            raise PermissionDeniedException("Tài khoản không có quyền truy cập trang này.")

    guard.__name__ = f"requires_{role}"
    return guard
