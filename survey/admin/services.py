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


@dataclass(frozen=True, slots=True)
class ReceiptSearch:
    """Filters of the receipts list: part of a dossier code, a unit, a range of local reception days."""

    code: str = ""
    unit_id: int | None = None
    date_from: Any = None  # datetime.date | None
    date_to: Any = None
    timezone: str = "Asia/Ho_Chi_Minh"

    def conditions(self) -> list[Any]:
        from datetime import datetime, time, timedelta
        from zoneinfo import ZoneInfo

        out: list[Any] = []
        code = self.code.strip().upper()
        if code:
            escaped = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            out.append(Receipt.dossier_code.like(f"%{escaped}%", escape="\\"))
        if self.unit_id is not None:
            out.append(Receipt.unit_id == self.unit_id)
        tz = ZoneInfo(self.timezone)
        if self.date_from is not None:
            out.append(Receipt.received_at >= datetime.combine(self.date_from, time(), tz))
        if self.date_to is not None:
            out.append(Receipt.received_at < datetime.combine(self.date_to + timedelta(days=1), time(), tz))
        return out


async def receipts_page(session: AsyncSession, page: int, size: int = PAGE_SIZE, search: ReceiptSearch | None = None) -> Page:
    where = (search or ReceiptSearch()).conditions()
    total = await session.scalar(select(func.count()).select_from(Receipt).where(*where)) or 0
    pages = max(1, -(-total // size))
    page = min(page, pages)
    stmt = (
        select(Receipt.id, Receipt.dossier_code, Receipt.received_at, Receipt.channel, Unit.name.label("unit"), Procedure.name.label("procedure"), Response.id.label("response_id"))
        .join(Unit, Unit.id == Receipt.unit_id)
        .outerjoin(Procedure, Procedure.id == Receipt.procedure_id)
        .outerjoin(Response, Response.receipt_id == Receipt.id)
        .where(*where)
        .order_by(Receipt.received_at.desc(), Receipt.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    items = [
        {"dossier_code": r.dossier_code, "unit": r.unit, "procedure": r.procedure, "received_at": r.received_at, "channel": r.channel, "answered": r.response_id is not None}
        for r in await session.execute(stmt)
    ]
    return Page(items, page, pages, total)


#: how an audit detail is shown: "label:<kind>" / "labels:<kind>" (codes -> labels of survey/labels.py),
#: "unit" (id -> the unit's name), "data" (a name typed by people), "number", "date", "code"; else text
DETAIL_KINDS = {
    "role": "label:role", "allocation": "label:allocation", "before": "label:review_status",
    "strata": "labels:strata", "flags": "labels:kiosk_rule", "unit_id": "unit",
    "name": "data", "counter": "data", "username": "code", "key_prefix": "code", "file": "code",
    "first": "date", "last": "date",
    "source": "label:index_source", "inputs_hash": "code", "methodology_version": "code", "format": "code", "period": "code", "methodology": "code",
}


def _shown_details(details: dict[str, Any], unit_names: dict[int, str]) -> list[dict[str, Any]]:
    """An audit entry's details for people: each {key, kind, value} (the template turns codes into labels)."""
    from datetime import date

    out = []
    for key in sorted(details):
        value = details[key]
        kind = DETAIL_KINDS.get(key) or ("number" if isinstance(value, int | float) and not isinstance(value, bool) else "text")
        if kind == "unit":
            value, kind = (unit_names.get(int(value), f"#{value}"), "data") if value is not None else ("–", "text")
        elif value is None:
            value, kind = "–", "text"
        elif kind == "date":
            try:
                value = date.fromisoformat(str(value))
            except ValueError:
                kind = "text"
        elif kind.startswith("labels:") and not isinstance(value, list | tuple):
            value = [value]
        out.append({"key": key, "kind": kind, "value": value})
    return out


async def audit_page(session: AsyncSession, page: int, size: int = PAGE_SIZE) -> Page:
    total = await _count(session, AuditLog)
    pages = max(1, -(-total // size))
    page = min(page, pages)
    rows = (await session.execute(select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(size).offset((page - 1) * size))).scalars().all()
    unit_ids = {int(a.details["unit_id"]) for a in rows if isinstance(a.details, dict) and str(a.details.get("unit_id") or "").isdigit()}
    unit_names = dict((await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))).all()) if unit_ids else {}
    items = [
        {"at": a.at, "actor": a.actor, "action": a.action, "target_type": a.target_type, "target_id": a.target_id,
         "details": dict(a.details or {}), "shown": _shown_details(dict(a.details or {}), unit_names)}
        for a in rows
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
    from survey.i18n import vi_sort_key

    rows = (await session.execute(select(Unit.code, Unit.name, Unit.kind))).all()
    return [{"code": r.code, "name": r.name, "kind": r.kind, "kind_label": KIND_LABELS.get(r.kind, r.kind)} for r in sorted(rows, key=lambda r: vi_sort_key(r.name))]


async def unit_choices(session: AsyncSession) -> list[dict[str, Any]]:
    """Every unit, the province included, in Vietnamese alphabetical order of the name (Đ after D)."""
    from survey.i18n import vi_sort_key

    rows = (await session.execute(select(Unit.id, Unit.name, Unit.kind))).all()
    return [{"id": r.id, "name": r.name, "kind": r.kind} for r in sorted(rows, key=lambda r: vi_sort_key(r.name))]
