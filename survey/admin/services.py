"""Read models of the admin pages: every function returns plain dicts for the templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.models import ApiClient, AuditLog, Procedure, Receipt, Response, Unit, User

PAGE_SIZE = 50

#: Unit kinds as shown to staff (the hierarchy itself is data: ``units.parent_id``).
KIND_LABELS = {
    "province": "Tỉnh, thành phố",
    "department": "Sở, ban, ngành",
    "commune": "Xã",
    "ward": "Phường",
    "special_zone": "Đặc khu",
}


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    page: int
    pages: int
    total: int

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "page": self.page, "pages": self.pages, "total": self.total}


def page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


async def _count(session: AsyncSession, model) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


async def dashboard(session: AsyncSession, *, include_audit: bool = False) -> dict[str, Any]:
    """Counts for the dashboard; the recent audit entries only when ``include_audit`` (admins: /admin/audit's rule)."""
    counts = {
        "units": await _count(session, Unit),
        "procedures": await _count(session, Procedure),
        "receipts": await _count(session, Receipt),
        "responses": await _count(session, Response),
        "users": await _count(session, User),
        "api_clients": await session.scalar(select(func.count()).select_from(ApiClient).where(ApiClient.revoked_at.is_(None))) or 0,
    }
    by_channel = dict((await session.execute(select(Response.channel, func.count()).group_by(Response.channel))).all())
    recent = (await audit_page(session, 1, size=10)).items if include_audit else []
    return {"counts": counts, "by_channel": by_channel, "recent_audit": recent, "show_audit": include_audit}


async def unit_tree(session: AsyncSession) -> list[dict[str, Any]]:
    """Roots (units without parent) with nested ``children``, ordered by kind then name."""
    rows = (await session.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id, Unit.active))).all()
    counts = dict((await session.execute(select(Receipt.unit_id, func.count()).group_by(Receipt.unit_id))).all())
    nodes = {
        r.id: {"id": r.id, "code": r.code, "name": r.name, "kind": r.kind, "kind_label": KIND_LABELS.get(r.kind, r.kind), "active": r.active, "receipts": counts.get(r.id, 0), "children": []}
        for r in rows
    }
    roots = []
    order = list(KIND_LABELS)
    for r in rows:
        (nodes[r.parent_id]["children"] if r.parent_id in nodes else roots).append(nodes[r.id])

    def sort(items: list[dict[str, Any]]) -> None:
        items.sort(key=lambda n: (order.index(n["kind"]) if n["kind"] in order else 99, n["name"]))
        for n in items:
            sort(n["children"])

    sort(roots)
    return roots


async def procedures_by_field(session: AsyncSession) -> list[dict[str, Any]]:
    counts = dict((await session.execute(select(Receipt.procedure_id, func.count()).group_by(Receipt.procedure_id))).all())
    rows = (await session.execute(select(Procedure.id, Procedure.code, Procedure.name, Procedure.field, Procedure.processing_days).order_by(Procedure.field, Procedure.name))).all()
    fields: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        fields.setdefault(r.field, []).append({"code": r.code, "name": r.name, "processing_days": r.processing_days, "receipts": counts.get(r.id, 0)})
    return [{"field": name, "procedures": procs} for name, procs in fields.items()]


async def receipts_page(session: AsyncSession, page: int, size: int = PAGE_SIZE) -> Page:
    total = await _count(session, Receipt)
    pages = max(1, -(-total // size))
    page = min(page, pages)
    stmt = (
        select(Receipt.id, Receipt.dossier_code, Receipt.received_at, Receipt.channel, Unit.name.label("unit"), Procedure.name.label("procedure"), Response.id.label("response_id"))
        .join(Unit, Unit.id == Receipt.unit_id)
        .outerjoin(Procedure, Procedure.id == Receipt.procedure_id)
        .outerjoin(Response, Response.receipt_id == Receipt.id)
        .order_by(Receipt.received_at.desc(), Receipt.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    items = [
        {"dossier_code": r.dossier_code, "unit": r.unit, "procedure": r.procedure, "received_at": r.received_at, "channel": r.channel, "answered": r.response_id is not None}
        for r in await session.execute(stmt)
    ]
    return Page(items, page, pages, total)


async def audit_page(session: AsyncSession, page: int, size: int = PAGE_SIZE) -> Page:
    total = await _count(session, AuditLog)
    pages = max(1, -(-total // size))
    page = min(page, pages)
    rows = await session.execute(select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(size).offset((page - 1) * size))
    items = [
        {"at": a.at, "actor": a.actor, "action": a.action, "target_type": a.target_type, "target_id": a.target_id, "details": dict(a.details or {})}
        for a in rows.scalars()
    ]
    return Page(items, page, pages, total)


async def api_clients(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ApiClient.id, ApiClient.name, ApiClient.key_prefix, ApiClient.created_at, ApiClient.revoked_at, ApiClient.last_used_at, Unit.name.label("unit"))
        .outerjoin(Unit, Unit.id == ApiClient.unit_id)
        .order_by(ApiClient.revoked_at.is_not(None), ApiClient.created_at.desc())
    )
    return [dict(r._mapping) for r in rows]


async def manager_unit_choices(session: AsyncSession) -> list[dict[str, Any]]:
    """Every unit a unit manager may be given (the province too: its manager reads every unit)."""
    rows = await session.execute(select(Unit.code, Unit.name, Unit.kind).order_by(Unit.kind, Unit.name))
    return [{"code": r.code, "name": r.name, "kind_label": KIND_LABELS.get(r.kind, r.kind)} for r in rows]


async def unit_choices(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(select(Unit.id, Unit.name, Unit.kind).where(Unit.kind != "province").order_by(Unit.kind, Unit.name))
    return [{"id": r.id, "name": r.name, "kind_label": KIND_LABELS.get(r.kind, r.kind)} for r in rows]
