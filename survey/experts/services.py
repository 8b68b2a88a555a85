"""Expert survey services: panels and groups (data), members, who-rates-whom, invitations, ratings, tracking.

Rules kept here and by the database: a member never rates their own unit (refused when the matrix is
generated or edited, by the check constraint on ``expert_assignments``, and by the survey page); an
invitation is submitted once (unique ``expert_submissions.invitation_id``); ratings of a submitted
invitation no longer change.  Invitation tokens use ``survey.receipts.tokens`` with purpose ``expert``
and the invitation id as subject, so they are never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.db.models import (
    ExpertAssignment,
    ExpertGroup,
    ExpertInvitation,
    ExpertMember,
    ExpertPanel,
    ExpertRating,
    ExpertSubmission,
    Unit,
)
from survey.db.write_turns import sqlite_write_turn
from survey.experts.schemas import AssignedUnit, GroupsFile, PanelSummary
from survey.imports.services import ImportResult, RowError, _stop, read_rows
from survey.par import methodology as meth
from survey.par.ranking import trimmed_group_means
from survey.receipts.tokens import TokenError, TokenExpired, mint, verify
from survey.responses.validation import FieldError
from survey.settings import Settings

DEFS_DIR = Path(__file__).parent / "defs"
DEFAULT_GROUPS = DEFS_DIR / "groups-default.json"
MEMBER_COLUMNS = ("group", "name", "title", "unit", "contact")
MEMBER_REQUIRED = ("group", "name")
NO_OPINION = 0


class ExpertInputError(ValueError):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in errors))
        self.errors = errors


class SelfRatingRefused(ExpertInputError):
    """A member was about to rate their own unit."""


class InvitationNotFound(LookupError):
    """Forged, malformed, other-purpose token, or no such invitation (404)."""


class InvitationExpired(LookupError):
    """The token verified but the survey is over (410)."""


class AlreadySubmitted(RuntimeError):
    """The invitation's answers were already submitted (409)."""


class NotAssigned(LookupError):
    """The unit is not one this member rates (404)."""


# --------------------------------------------------------------------------- panels and groups


def load_groups(path: Path | None = None) -> GroupsFile:
    path = path or DEFAULT_GROUPS
    try:
        groups = msgspec.json.decode(path.read_bytes(), type=GroupsFile)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
    for g in groups.groups:
        bad = [k for k in [*g.rates_kinds, *g.member_kinds] if k not in meth.UNIT_KINDS]
        if bad:
            raise ValueError(f"{path.name}: group {g.code}: unknown unit kind(s) {', '.join(bad)}")
        if "vi" not in g.name:
            raise ValueError(f"{path.name}: group {g.code}: name needs a Vietnamese text ('vi')")
    return groups


async def create_panel(
    session: AsyncSession, *, year: int, name: str, methodology_ids: list[str], expires_on: date, actor: str,
    groups: GroupsFile | None = None,
) -> int:
    """A new panel with its groups (from ``groups``, default ``defs/groups-default.json``)."""
    ms = [meth.get(mid) for mid in methodology_ids]
    kinds = [k for m in ms for k in m.unit_kinds]
    if len(kinds) != len(set(kinds)):
        raise ValueError("two methodologies of a panel cover the same unit kind")
    groups = groups or load_groups()
    panel = ExpertPanel(year=year, name=name, methodology_ids=list(methodology_ids), invitations_expire_on=expires_on, created_by=actor)
    session.add(panel)
    await session.flush()
    for g in groups.groups:
        session.add(ExpertGroup(panel_id=panel.id, code=g.code, name=g.name["vi"], name_en=g.name.get("en", ""),
                                member_kinds=list(g.member_kinds), rates_kinds=list(g.rates_kinds)))
    audit.record(session, actor, "experts.create_panel", "expert_panel", panel.id, year=year, name=name, methodologies=methodology_ids)
    await session.commit()
    return panel.id


async def list_panels(session: AsyncSession) -> list[PanelSummary]:
    out = []
    for p in await session.scalars(select(ExpertPanel).order_by(ExpertPanel.year.desc(), ExpertPanel.id.desc())):
        members = await session.scalar(select(func.count()).select_from(ExpertMember).where(ExpertMember.panel_id == p.id)) or 0
        invited = await session.scalar(
            select(func.count()).select_from(ExpertInvitation).join(ExpertMember).where(ExpertMember.panel_id == p.id)
        ) or 0
        submitted = await session.scalar(
            select(func.count()).select_from(ExpertSubmission).join(ExpertInvitation).join(ExpertMember).where(ExpertMember.panel_id == p.id)
        ) or 0
        out.append(PanelSummary(p.id, p.year, p.name, list(p.methodology_ids), p.invitations_expire_on, members, invited, submitted))
    return out


async def panel_ids_for_year(session: AsyncSession, year: int) -> list[int]:
    return list(await session.scalars(select(ExpertPanel.id).where(ExpertPanel.year == year).order_by(ExpertPanel.id)))


async def get_panel(session: AsyncSession, panel_id: int) -> ExpertPanel:
    panel = await session.get(ExpertPanel, panel_id)
    if panel is None:
        raise LookupError(f"panel {panel_id} does not exist")
    return panel


def _methodology_for_kind(panel: ExpertPanel, kind: str) -> meth.Methodology | None:
    for mid in panel.methodology_ids:
        m = meth.get(mid)
        if kind in m.unit_kinds:
            return m
    return None


# --------------------------------------------------------------------------- members


async def import_members(session: AsyncSession, panel_id: int, source: str | Path | bytes, actor: str) -> ImportResult:
    """Members from CSV ``group,name,title,unit,contact`` (all or nothing, line-numbered errors)."""
    await get_panel(session, panel_id)
    rows = read_rows(source, "experts", columns=MEMBER_COLUMNS, required=MEMBER_REQUIRED)
    groups = {g.code: g for g in await session.scalars(select(ExpertGroup).where(ExpertGroup.panel_id == panel_id))}
    units = {u.code: u for u in await session.scalars(select(Unit))}
    errors: list[RowError] = []
    parsed = []
    for line, row in rows:
        n = len(errors)
        g = groups.get(row["group"])
        if not row["group"]:
            errors.append(RowError(line, "group", "is required"))
        elif g is None:
            errors.append(RowError(line, "group", f"{row['group']!r} is not a group of this panel ({', '.join(groups)})"))
        if not row["name"]:
            errors.append(RowError(line, "name", "is required"))
        for name, limit in (("name", 200), ("title", 200), ("contact", 200)):
            if len(row[name]) > limit:
                errors.append(RowError(line, name, f"is longer than {limit} characters"))
        unit = None
        if row["unit"]:
            unit = units.get(row["unit"])
            if unit is None:
                errors.append(RowError(line, "unit", f"unknown unit {row['unit']!r}"))
            elif g is not None and g.member_kinds and unit.kind not in g.member_kinds:
                errors.append(RowError(line, "unit", f"{unit.code} is a {unit.kind}; members of {g.code} belong to {', '.join(g.member_kinds)}"))
        elif g is not None and g.member_kinds:
            errors.append(RowError(line, "unit", f"members of {g.code} belong to a unit ({', '.join(g.member_kinds)}): give its code"))
        if len(errors) == n:
            parsed.append((g, row, unit))
    _stop(errors)
    try:
        for g, row, unit in parsed:
            session.add(ExpertMember(panel_id=panel_id, group_id=g.id, name=row["name"], title=row["title"],
                                     unit_id=unit.id if unit else None, contact=row["contact"]))
        audit.record(session, actor, "experts.import_members", "expert_panel", panel_id, rows=len(parsed))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return ImportResult(rows=len(parsed), created=len(parsed), updated=0)


async def add_member(session: AsyncSession, panel_id: int, *, group_code: str, name: str, unit_code: str | None, actor: str,
                     title: str = "", contact: str = "") -> int:
    data = "group,name,title,unit,contact\n" + ",".join(_csv_cell(v) for v in (group_code, name, title, unit_code or "", contact)) + "\n"
    await import_members(session, panel_id, data.encode(), actor)
    return int(await session.scalar(select(func.max(ExpertMember.id)).where(ExpertMember.panel_id == panel_id)))


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


# --------------------------------------------------------------------------- who rates whom


async def _submitted_members(session: AsyncSession, panel_id: int) -> set[int]:
    return set(await session.scalars(
        select(ExpertInvitation.member_id).join(ExpertSubmission).join(ExpertMember).where(ExpertMember.panel_id == panel_id)
    ))


async def generate_matrix(session: AsyncSession, panel_id: int, actor: str) -> int:
    """(Re)build who rates whom from the group rules: each member rates every active unit of the kinds
    their group rates that a panel methodology covers — except their own unit.  Members who already
    submitted keep their assignments.  Returns the number of assignments written."""
    panel = await get_panel(session, panel_id)
    covered = {k for mid in panel.methodology_ids for k in meth.get(mid).unit_kinds}
    units = list(await session.scalars(select(Unit).where(Unit.active.is_(True), Unit.kind.in_(covered)).order_by(Unit.code)))
    groups = {g.id: g for g in await session.scalars(select(ExpertGroup).where(ExpertGroup.panel_id == panel_id))}
    members = list(await session.scalars(select(ExpertMember).where(ExpertMember.panel_id == panel_id)))
    done = await _submitted_members(session, panel_id)
    todo = [m for m in members if m.id not in done]
    written = 0
    try:
        if todo:
            await session.execute(delete(ExpertAssignment).where(ExpertAssignment.member_id.in_([m.id for m in todo])))
        for m in todo:
            rates = set(groups[m.group_id].rates_kinds)
            for u in units:
                if u.kind in rates and u.id != m.unit_id:
                    session.add(ExpertAssignment(member_id=m.id, unit_id=u.id, member_unit_id=m.unit_id))
                    written += 1
        audit.record(session, actor, "experts.generate_matrix", "expert_panel", panel_id, assignments=written, kept=len(done))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return written


async def set_assignment(session: AsyncSession, member_id: int, unit_code: str, *, rate: bool, actor: str) -> None:
    """Edit the matrix: add (``rate=True``) or remove one member-unit pair. Refuses a member's own unit."""
    member = await session.get(ExpertMember, member_id)
    if member is None:
        raise LookupError(f"member {member_id} does not exist")
    unit = await session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise ExpertInputError([FieldError("unit", f"Không có đơn vị {unit_code}.", f"unknown unit {unit_code}")])
    if member.id in await _submitted_members(session, member.panel_id):
        raise ExpertInputError([FieldError("member", "Thành viên đã gửi phiếu; không sửa được phân công.", "the member has submitted; assignments are frozen")])
    if rate and unit.id == member.unit_id:
        raise SelfRatingRefused([FieldError("unit", "Không được tự đánh giá đơn vị của mình.", "a member may not rate their own unit")])
    panel = await get_panel(session, member.panel_id)
    if rate and _methodology_for_kind(panel, unit.kind) is None:
        raise ExpertInputError([FieldError("unit", f"Bộ chỉ số của đợt này không áp dụng cho {unit.kind}.", f"no panel methodology covers {unit.kind}")])
    existing = await session.scalar(select(ExpertAssignment).where(ExpertAssignment.member_id == member.id, ExpertAssignment.unit_id == unit.id))
    if rate and existing is None:
        session.add(ExpertAssignment(member_id=member.id, unit_id=unit.id, member_unit_id=member.unit_id))
    elif not rate and existing is not None:
        await session.delete(existing)
    audit.record(session, actor, "experts.assignment", "expert_member", member.id, unit=unit.code, rate=rate)
    await session.commit()


async def matrix(session: AsyncSession, panel_id: int) -> dict[str, Any]:
    """The who-rates-whom matrix for the admin page: members (rows) x rated units (columns)."""
    panel = await get_panel(session, panel_id)
    covered = {k for mid in panel.methodology_ids for k in meth.get(mid).unit_kinds}
    units = list(await session.scalars(select(Unit).where(Unit.active.is_(True), Unit.kind.in_(covered)).order_by(Unit.kind, Unit.code)))
    rows = (await session.execute(
        select(ExpertMember, ExpertGroup.code, Unit.code)
        .join(ExpertGroup, ExpertGroup.id == ExpertMember.group_id)
        .outerjoin(Unit, Unit.id == ExpertMember.unit_id)
        .where(ExpertMember.panel_id == panel_id).order_by(ExpertGroup.id, ExpertMember.id)
    )).all()
    pairs = set((await session.execute(
        select(ExpertAssignment.member_id, ExpertAssignment.unit_id).join(ExpertMember).where(ExpertMember.panel_id == panel_id)
    )).all())
    return {
        "units": [{"id": u.id, "code": u.code, "name": u.name, "kind": u.kind} for u in units],
        "members": [
            {"id": m.id, "name": m.name, "group": g, "unit_code": uc or "", "cells": [
                {"unit_code": u.code, "own": u.id == m.unit_id, "rates": (m.id, u.id) in pairs} for u in units
            ]}
            for m, g, uc in rows
        ],
    }


# --------------------------------------------------------------------------- invitations


def invitation_token(settings: Settings, invitation_id: int, expires_on: date) -> str:
    kid, keys = settings.signing_keys()
    return mint("expert", invitation_id, expires_on, kid, keys)


def invitation_url(settings: Settings, token: str) -> str:
    """``HTTP(S)://HOST/E/TOKEN`` in upper case, so a printed QR code uses alphanumeric mode."""
    parts = urlsplit(settings.public_url.rstrip("/"))
    return f"{parts.scheme.upper()}://{parts.netloc.upper()}{parts.path}/E/{token.upper()}"


def message_text(lang: str, *, name: str, title: str, panel_name: str, url: str, expires_on: date) -> str:
    """The message to paste into Zalo or an e-mail (no personal data beyond the addressee's name)."""
    from survey.i18n import fmt_date

    due = fmt_date(expires_on, lang)
    if lang == "en":
        return (
            f"Dear {title + ' ' if title else ''}{name},\n"
            f"The Department of Home Affairs invites you to the sociological survey «{panel_name}». "
            f"Please open your personal link (do not share it) and rate each unit by {due}:\n{url}\n"
            "You can save and come back later; your answers are submitted once. Thank you."
        )
    return (
        f"Kính gửi {title + ' ' if title else ''}{name},\n"
        f"Sở Nội vụ trân trọng mời Ông/Bà tham gia phiếu điều tra xã hội học «{panel_name}». "
        f"Xin mở đường link riêng của Ông/Bà (không chia sẻ cho người khác) và đánh giá từng đơn vị trước ngày {due}:\n{url}\n"
        "Ông/Bà có thể lưu và tiếp tục sau; phiếu chỉ gửi một lần. Trân trọng cảm ơn."
    )


async def create_invitations(session: AsyncSession, panel_id: int, actor: str) -> int:
    """One invitation per member who has assignments and no invitation yet; returns how many were created."""
    panel = await get_panel(session, panel_id)
    have = set(await session.scalars(select(ExpertInvitation.member_id).join(ExpertMember).where(ExpertMember.panel_id == panel_id)))
    assigned = set(await session.scalars(
        select(ExpertAssignment.member_id).join(ExpertMember).where(ExpertMember.panel_id == panel_id).distinct()
    ))
    new = [mid for mid in sorted(assigned) if mid not in have]
    for mid in new:
        session.add(ExpertInvitation(member_id=mid, expires_on=panel.invitations_expire_on))
    audit.record(session, actor, "experts.invite", "expert_panel", panel_id, created=len(new))
    await session.commit()
    return len(new)


async def invitation_list(session: AsyncSession, panel_id: int, settings: Settings, lang: str = "vi", *, pending_only: bool = False) -> list[dict[str, Any]]:
    """Invitations with link, message text and status (the reminder list when ``pending_only``). Admin-only data."""
    panel = await get_panel(session, panel_id)
    q = (
        select(ExpertInvitation, ExpertMember, ExpertGroup.name, ExpertGroup.name_en, Unit.name, ExpertSubmission.submitted_at)
        .join(ExpertMember, ExpertMember.id == ExpertInvitation.member_id)
        .join(ExpertGroup, ExpertGroup.id == ExpertMember.group_id)
        .outerjoin(Unit, Unit.id == ExpertMember.unit_id)
        .outerjoin(ExpertSubmission, ExpertSubmission.invitation_id == ExpertInvitation.id)
        .where(ExpertMember.panel_id == panel_id)
        .order_by(ExpertGroup.id, ExpertMember.id)
    )
    started = set(await session.scalars(
        select(ExpertRating.invitation_id).join(ExpertInvitation).join(ExpertMember).where(ExpertMember.panel_id == panel_id).distinct()
    ))
    out = []
    for inv, member, group, group_en, unit_name, submitted_at in (await session.execute(q)).all():
        if pending_only and submitted_at is not None:
            continue
        token = invitation_token(settings, inv.id, inv.expires_on)
        url = invitation_url(settings, token)
        status = "submitted" if submitted_at else "started" if inv.id in started else "opened" if inv.opened_at else "sent"
        out.append({
            "id": inv.id, "member_id": member.id, "name": member.name, "title": member.title, "group": group, "group_en": group_en or "", "unit": unit_name or "",
            "contact": member.contact, "url": url, "token": token, "status": status, "submitted_at": submitted_at,
            "reminders": inv.reminders, "last_reminded_at": inv.last_reminded_at,
            "message": message_text(lang, name=member.name, title=member.title, panel_name=panel.name, url=url, expires_on=inv.expires_on),
        })
    return out


async def mark_reminded(session: AsyncSession, panel_id: int, actor: str) -> int:
    """Record that every pending invitation of the panel was reminded now; returns how many."""
    await get_panel(session, panel_id)
    pending = list(await session.scalars(
        select(ExpertInvitation).join(ExpertMember).outerjoin(ExpertSubmission)
        .where(ExpertMember.panel_id == panel_id, ExpertSubmission.id.is_(None))
    ))
    now = datetime.now(UTC)
    for inv in pending:
        inv.reminders += 1
        inv.last_reminded_at = now
    audit.record(session, actor, "experts.remind", "expert_panel", panel_id, reminded=len(pending))
    await session.commit()
    return len(pending)


async def letter(session: AsyncSession, invitation_id: int, settings: Settings, lang: str = "vi") -> dict[str, Any]:
    """What the printed letter shows: addressee, panel, link, QR SVG, due date."""
    from survey.receipts import qr

    inv = await session.get(ExpertInvitation, invitation_id)
    if inv is None:
        raise LookupError(f"invitation {invitation_id} does not exist")
    member = await session.get(ExpertMember, inv.member_id)
    panel = await get_panel(session, member.panel_id)
    n_units = await session.scalar(select(func.count()).select_from(ExpertAssignment).where(ExpertAssignment.member_id == member.id)) or 0
    url = invitation_url(settings, invitation_token(settings, inv.id, inv.expires_on))
    return {"name": member.name, "title": member.title, "panel": panel.name, "year": panel.year, "url": url,
            "qr_svg": qr.svg_inline(url), "expires_on": inv.expires_on, "n_units": n_units}


# --------------------------------------------------------------------------- the survey page


@dataclass(frozen=True, slots=True)
class ExpertLink:
    """What a verified expert token opens: ids only."""

    token: str
    invitation_id: int
    member_id: int
    member_unit_id: int | None
    panel_id: int
    submitted: bool


def local_today(settings: Settings) -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(settings.timezone)).date()


async def open_invitation(session: AsyncSession, token: str, settings: Settings, *, mark_opened: bool = False) -> ExpertLink:
    """Verify ``token`` (purpose ``expert``) and load its invitation. InvitationNotFound / InvitationExpired."""
    _kid, keys = settings.signing_keys()
    try:
        claims = verify(token, "expert", keys, local_today(settings))
    except TokenExpired:
        raise InvitationExpired(token) from None
    except TokenError:
        raise InvitationNotFound(token) from None
    row = (await session.execute(
        select(ExpertInvitation, ExpertMember.unit_id, ExpertMember.panel_id, ExpertSubmission.id)
        .join(ExpertMember, ExpertMember.id == ExpertInvitation.member_id)
        .outerjoin(ExpertSubmission, ExpertSubmission.invitation_id == ExpertInvitation.id)
        .where(ExpertInvitation.id == claims.subject_id)
    )).first()
    if row is None:
        raise InvitationNotFound(token)
    inv, unit_id, panel_id, sub_id = row
    if inv.expires_on != claims.expires_on:
        raise InvitationNotFound(token)  # a token minted for another expiry than the invitation's
    if mark_opened and inv.opened_at is None and sub_id is None:
        inv.opened_at = datetime.now(UTC)
        async with sqlite_write_turn(session):
            await session.commit()
    return ExpertLink(token.strip().upper(), inv.id, inv.member_id, unit_id, panel_id, sub_id is not None)


async def assigned_units(session: AsyncSession, link: ExpertLink) -> list[AssignedUnit]:
    """The units this member rates, in order, with how many survey criteria are answered."""
    panel = await get_panel(session, link.panel_id)
    units = list(await session.scalars(
        select(Unit).join(ExpertAssignment, ExpertAssignment.unit_id == Unit.id)
        .where(ExpertAssignment.member_id == link.member_id).order_by(Unit.kind, Unit.code)
    ))
    counts = dict((await session.execute(
        select(ExpertRating.unit_id, func.count()).where(ExpertRating.invitation_id == link.invitation_id).group_by(ExpertRating.unit_id)
    )).all())
    out = []
    for u in units:
        if u.id == link.member_unit_id:
            continue  # never one's own unit, whatever the matrix says
        m = _methodology_for_kind(panel, u.kind)
        if m is None:
            continue
        out.append(AssignedUnit(u.id, u.code, u.name, u.kind, m.id, int(counts.get(u.id, 0)), len(m.criteria_of("expert_survey"))))
    return out


async def unit_for_rating(session: AsyncSession, link: ExpertLink, unit_code: str) -> tuple[AssignedUnit, meth.Methodology, dict[str, int]]:
    """The assigned unit ``unit_code``, its methodology and the saved answers; refuses one's own unit."""
    unit = await session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is not None and unit.id == link.member_unit_id:
        raise SelfRatingRefused([FieldError("unit", "Ông/Bà không đánh giá đơn vị của chính mình.", "You do not rate your own unit.")])
    for a in await assigned_units(session, link):
        if a.code == unit_code:
            saved = dict((await session.execute(
                select(ExpertRating.criterion_id, ExpertRating.value)
                .where(ExpertRating.invitation_id == link.invitation_id, ExpertRating.unit_id == a.unit_id)
            )).all())
            return a, meth.get(a.methodology_id), saved
    raise NotAssigned(unit_code)


def parse_ratings(m: meth.Methodology, form: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, str], list[FieldError]]:
    """Posted ``c-<criterion>`` fields -> values; every survey criterion needs an answer on its scale."""
    values: dict[str, int] = {}
    raw_values: dict[str, str] = {}
    errors: list[FieldError] = []
    for c in m.criteria_of("expert_survey"):
        name = f"c-{c.id}"
        raw = form.get(name)
        raw = raw.strip() if isinstance(raw, str) else ""
        raw_values[name] = raw
        scale = m.scales[c.scale]
        allowed = set(scale.values) | ({NO_OPINION} if scale.no_opinion else set())
        if raw == "":
            errors.append(FieldError(name, f"Chọn một mức cho câu “{c.question.vi}”.", f"Choose a rating for “{c.question.in_('en')}”."))
            continue
        try:
            v = int(raw)
        except ValueError:
            v = -1
        if v not in allowed:
            errors.append(FieldError(name, f"Mức “{raw}” không có trong thang điểm.", f"“{raw}” is not on the scale."))
            continue
        values[c.id] = v
    return values, raw_values, errors


async def save_unit(session: AsyncSession, link: ExpertLink, unit_code: str, values: Mapping[str, int]) -> None:
    """Save (replace) this member's draft answers for one unit. Refused after submission and for one's own unit."""
    a, m, _saved = await unit_for_rating(session, link, unit_code)
    ids = {c.id for c in m.criteria_of("expert_survey")}
    if set(values) != ids:
        raise ExpertInputError([FieldError("form", "Phiếu chưa đủ câu trả lời.", "Some answers are missing.")])
    async with sqlite_write_turn(session):
        if await session.scalar(select(ExpertSubmission.id).where(ExpertSubmission.invitation_id == link.invitation_id)) is not None:
            await session.rollback()
            raise AlreadySubmitted(link.token)
        await session.execute(delete(ExpertRating).where(ExpertRating.invitation_id == link.invitation_id, ExpertRating.unit_id == a.unit_id))
        for cid, v in values.items():
            session.add(ExpertRating(invitation_id=link.invitation_id, unit_id=a.unit_id, criterion_id=cid, value=int(v)))
        await session.commit()


async def submit(session: AsyncSession, link: ExpertLink, language: str = "vi") -> None:
    """Submit once: every assigned unit must be complete; the unique constraint refuses a second submission."""
    units = await assigned_units(session, link)
    missing = [u for u in units if not u.complete]
    if missing:
        raise ExpertInputError([
            FieldError(f"u-{u.code}", f"Chưa đánh giá xong {u.name}.", f"{u.name} is not rated yet.") for u in missing
        ])
    try:
        async with sqlite_write_turn(session):
            session.add(ExpertSubmission(invitation_id=link.invitation_id, language=language))
            await session.commit()
    except IntegrityError:
        await session.rollback()
        raise AlreadySubmitted(link.token) from None


# --------------------------------------------------------------------------- tracking and aggregation


async def tracking(session: AsyncSession, panel_id: int) -> dict[str, Any]:
    """Response per group and per rated unit (assigned raters, submitted raters)."""
    await get_panel(session, panel_id)
    groups = []
    for g in await session.scalars(select(ExpertGroup).where(ExpertGroup.panel_id == panel_id).order_by(ExpertGroup.id)):
        members = await session.scalar(select(func.count()).select_from(ExpertMember).where(ExpertMember.group_id == g.id)) or 0
        invited = await session.scalar(select(func.count()).select_from(ExpertInvitation).join(ExpertMember).where(ExpertMember.group_id == g.id)) or 0
        opened = await session.scalar(
            select(func.count()).select_from(ExpertInvitation).join(ExpertMember).where(ExpertMember.group_id == g.id, ExpertInvitation.opened_at.is_not(None))
        ) or 0
        submitted = await session.scalar(
            select(func.count()).select_from(ExpertSubmission).join(ExpertInvitation).join(ExpertMember).where(ExpertMember.group_id == g.id)
        ) or 0
        groups.append({"code": g.code, "name": g.name, "name_en": g.name_en, "members": members, "invited": invited, "opened": opened,
                       "submitted": submitted, "rate": submitted / invited if invited else None, "rates_kinds": list(g.rates_kinds)})
    assigned = dict((await session.execute(
        select(ExpertAssignment.unit_id, func.count()).join(ExpertMember).where(ExpertMember.panel_id == panel_id).group_by(ExpertAssignment.unit_id)
    )).all())
    done = dict((await session.execute(
        select(ExpertAssignment.unit_id, func.count())
        .join(ExpertMember, ExpertMember.id == ExpertAssignment.member_id)
        .join(ExpertInvitation, ExpertInvitation.member_id == ExpertMember.id)
        .join(ExpertSubmission, ExpertSubmission.invitation_id == ExpertInvitation.id)
        .where(ExpertMember.panel_id == panel_id).group_by(ExpertAssignment.unit_id)
    )).all())
    units = []
    if assigned:
        for u in await session.scalars(select(Unit).where(Unit.id.in_(list(assigned))).order_by(Unit.kind, Unit.code)):
            units.append({"code": u.code, "name": u.name, "kind": u.kind, "assigned": assigned[u.id], "submitted": done.get(u.id, 0)})
    return {"groups": groups, "units": units}


@dataclass(frozen=True, slots=True)
class Aggregate:
    mean: float  # mean share of the criterion's points over raters (trimmed as the methodology says)
    n_raters: int


async def aggregate(session: AsyncSession, panel_ids: list[int], m: meth.Methodology) -> dict[tuple[int, str], Aggregate]:
    """Per rated unit and survey criterion of ``m``: the (trimmed) mean share over submitted raters.

    Answers "not enough information" (0) are not counted; a rater counts once per unit and criterion.
    """
    crits = {c.id: c for c in m.criteria_of("expert_survey")}
    if not crits or not panel_ids:
        return {}
    rows = (await session.execute(
        select(ExpertRating.unit_id, ExpertRating.criterion_id, ExpertRating.value)
        .join(ExpertInvitation, ExpertInvitation.id == ExpertRating.invitation_id)
        .join(ExpertSubmission, ExpertSubmission.invitation_id == ExpertInvitation.id)
        .join(ExpertMember, ExpertMember.id == ExpertInvitation.member_id)
        .join(Unit, Unit.id == ExpertRating.unit_id)
        .where(ExpertMember.panel_id.in_(panel_ids), ExpertRating.criterion_id.in_(list(crits)), ExpertRating.value != NO_OPINION,
               Unit.kind.in_(m.unit_kinds),
               (ExpertMember.unit_id.is_(None)) | (ExpertMember.unit_id != ExpertRating.unit_id))
    )).all()
    if not rows:
        return {}
    unit_ids = np.array([r[0] for r in rows], dtype=np.int64)
    cids = [r[1] for r in rows]
    codes = {cid: i for i, cid in enumerate(sorted(crits))}
    crit_idx = np.array([codes[c] for c in cids], dtype=np.int64)
    shares = np.array([m.scales[crits[c].scale].share(v) or 0.0 for c, v in zip(cids, (r[2] for r in rows), strict=True)])
    keys = unit_ids * len(codes) + crit_idx
    labels, means, counts = trimmed_group_means(keys, shares, m.trim)
    names = sorted(crits)
    return {(int(k // len(codes)), names[int(k % len(codes))]): Aggregate(float(mu), int(n)) for k, mu, n in zip(labels, means, counts, strict=True)}
