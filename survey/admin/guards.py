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


# --------------------------------------------------------------------------- unit managers (results pages)

#: pages meant for a unit manager (the results of one unit) accept admins and statisticians too
ROLE_INCLUDES["unit_manager"] = {"admin", "statistician", "unit_manager"}


@dataclass(frozen=True, slots=True)
class UnitScope:
    """Which units' results a staff member may read: ``codes is None`` means every unit."""

    codes: frozenset[str] | None
    home_code: str | None = None

    def allows(self, code: str) -> bool:
        return self.codes is None or code in self.codes


async def unit_scope(session, user: StaffUser) -> UnitScope:
    """Admins and statisticians read every unit; a unit manager their unit (``users.unit_id``) and the units below it.

    Read from the database on every request, so a changed assignment or a deactivated account takes effect at once.
    """
    from sqlalchemy import select

    from survey.db.models import Unit, User

    if user.role != "unit_manager":
        return UnitScope(codes=None)
    row = (await session.execute(select(User.unit_id, User.active).where(User.id == user.id))).first()
    if row is None or not row.active or row.unit_id is None:
        raise PermissionDeniedException("Tài khoản không có quyền truy cập trang này.")
    units = (await session.execute(select(Unit.id, Unit.code, Unit.parent_id))).all()
    children: dict[int | None, list[int]] = {}
    code_of = {}
    for u in units:
        children.setdefault(u.parent_id, []).append(u.id)
        code_of[u.id] = u.code
    seen, stack = set(), [row.unit_id]
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen.add(uid)
        stack.extend(children.get(uid, ()))
    return UnitScope(codes=frozenset(code_of[i] for i in seen if i in code_of), home_code=code_of.get(row.unit_id))


def ensure_unit_visible(scope: UnitScope, code: str) -> None:
    """403 when ``code`` is outside the reader's scope (a unit manager looking at another unit)."""
    if not scope.allows(code):
        raise PermissionDeniedException("Bạn chỉ xem được kết quả của đơn vị mình và các đơn vị trực thuộc.")
