"""Personal data of the expert survey's members (names, titles, contacts): retention and export on request.

- Retention: ``HAILONG_RETAIN_EXPERT_CONTACTS_DAYS`` after their panel was created, a member's name,
  title and contact are erased by ``hailong purge`` (the name becomes ``erased-<id>``); assignments,
  ratings and submissions stay, no longer linked to a person.
- Export (Nghị định 13/2023, the data subject's right to obtain their data): :func:`export_member`
  gathers everything stored about one member (panel, group, unit, invitation, each saved rating,
  the submission) as plain data; ``hailong export-expert`` writes it as JSON (audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey import audit
from survey.db.models import (
    ExpertGroup,
    ExpertInvitation,
    ExpertMember,
    ExpertPanel,
    ExpertRating,
    ExpertSubmission,
    Unit,
)
from survey.operations.retention import ERASED_PREFIX, RetentionKind, _count, register


async def purge_expert_contacts(session: AsyncSession, cutoff: datetime, dry_run: bool) -> int:
    old_panels = select(ExpertPanel.id).where(ExpertPanel.created_at < cutoff)
    where = and_(ExpertMember.panel_id.in_(old_panels), ~ExpertMember.name.startswith(ERASED_PREFIX))
    n = await _count(session, select(ExpertMember.id).where(where))
    if n and not dry_run:
        await session.execute(
            update(ExpertMember).where(where)
            .values(name=literal(ERASED_PREFIX, String) + cast(ExpertMember.id, String), title="", contact="")
            .execution_options(synchronize_session=False)
        )
    return n


register(RetentionKind("expert_contacts", "retain_expert_contacts_days",
                       "names, titles and contacts of expert-survey members", purge_expert_contacts))


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


async def export_member(session: AsyncSession, member_id: int, actor: str) -> dict[str, Any] | None:
    """Everything stored about expert member ``member_id``, or None if there is no such member. Audited."""
    row = (
        await session.execute(
            select(ExpertMember, ExpertGroup, ExpertPanel)
            .join(ExpertGroup, ExpertGroup.id == ExpertMember.group_id)
            .join(ExpertPanel, ExpertPanel.id == ExpertMember.panel_id)
            .where(ExpertMember.id == member_id)
        )
    ).first()
    if row is None:
        return None
    member, group, panel = row
    units = dict((await session.execute(select(Unit.id, Unit.code))).all())
    names = dict((await session.execute(select(Unit.id, Unit.name))).all())
    invitation = await session.scalar(select(ExpertInvitation).where(ExpertInvitation.member_id == member.id))
    ratings: list[dict[str, Any]] = []
    submission = None
    if invitation is not None:
        for r in (await session.scalars(select(ExpertRating).where(ExpertRating.invitation_id == invitation.id)
                                        .order_by(ExpertRating.unit_id, ExpertRating.criterion_id))).all():
            ratings.append({"unit_code": units.get(r.unit_id), "unit_name": names.get(r.unit_id), "criterion_id": r.criterion_id,
                            "value": r.value, "saved_at": _iso(r.saved_at)})
        submission = await session.scalar(select(ExpertSubmission).where(ExpertSubmission.invitation_id == invitation.id))
    data = {
        "kind": "hailong.expert_member_export",
        "member": {"id": member.id, "name": member.name, "title": member.title, "contact": member.contact,
                   "unit_code": units.get(member.unit_id), "created_at": _iso(member.created_at)},
        "panel": {"id": panel.id, "year": panel.year, "name": panel.name},
        "group": {"code": group.code, "name": group.name},
        "invitation": None if invitation is None else {
            "expires_on": _iso(invitation.expires_on), "created_at": _iso(invitation.created_at),
            "opened_at": _iso(invitation.opened_at), "reminders": invitation.reminders,
            "last_reminded_at": _iso(invitation.last_reminded_at)},
        "ratings": ratings,
        "submission": None if submission is None else {"submitted_at": _iso(submission.submitted_at), "language": submission.language},
    }
    audit.record(session, actor, "privacy.export", "expert_member", member.id, ratings=len(ratings))
    await session.commit()
    return data
