"""Demo: a sampling campaign with answered members and dispositions, then a published sample run and a
published self-selected run for the demo period (called from :func:`survey.demo.seed`).

The campaign is drawn by :func:`survey.campaigns.services.draw` from the demo receipts; members answer the
full SIPAS questionnaire with rows exactly as ``/c/<token>`` stores them (validated by
``check_submission``, the receipt named in ``extra``, one ``client_uuid`` per member) and non-respondents
get AAPOR dispositions through :func:`survey.campaigns.services.set_dispositions`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey.settings import Settings

SEED = 20261010
SAMPLE_N = 720
#: disposition codes of the members who did not answer, and their probabilities
NONRESPONSE = (("R", 0.32), ("NC", 0.43), ("O", 0.06), ("UH", 0.12), ("NE", 0.07))


def _full_answers(rng: np.random.Generator, quality: float, pillar_of: list[str], pillars: list[str]) -> tuple[int, np.ndarray]:
    person = 3.85 + 0.65 * quality + rng.normal(0.0, 0.7)
    bias = {"access": 0.1, "procedure": -0.15, "officer": 0.05, "result": 0.1, "feedback": -0.35}
    vals = np.array([person + bias.get(p, 0.0) + rng.normal(0.0, 0.55) for p in pillar_of])
    items = np.clip(np.rint(vals), 1, 5).astype(int)
    items[rng.random(items.size) < np.array([0.16 if p == "feedback" else 0.03 for p in pillar_of])] = 0
    overall = int(np.clip(np.rint(person + rng.normal(0.0, 0.3)), 1, 5))
    return overall, items


async def seed_indices(session: AsyncSession, settings: Settings, quality_of: dict[str, float], actor: str = "demo") -> dict[str, Any]:
    """Draw the demo campaign, answer it, and store the two runs. Returns ids for the printed summary."""
    from survey.campaigns import services as campaigns
    from survey.campaigns.controllers import member_client_uuid
    from survey.db.models import CampaignMember, Response
    from survey.demo import _expectations, _row
    from survey.indices import services as indices
    from survey.questionnaires import registry
    from survey.responses.services import Submission, check_submission
    from survey.stats import FrameFilter, load_frame

    rng = np.random.default_rng(SEED)
    tz = ZoneInfo(settings.timezone)
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    start = today - timedelta(days=90)
    flt = FrameFilter(period_from=start, period_to=today, completed_only=True, timezone=settings.timezone)
    frame = await load_frame(session, flt)
    design = campaigns.SampleDesign(
        name="Khảo sát SIPAS quý (demo)", strata=("unit",), size_method="fixed", n=min(SAMPLE_N, len(frame)),
        allocation="proportional", minimum=12, seed=SEED, reserve_fraction=0.2, questionnaire_id="sipas-full",
    )
    drawn = await campaigns.draw(session, frame, design, actor=actor, frame_description=flt.as_dict(), flt=flt)
    q = registry.get("sipas-full")
    pillar_of = [i.pillar for i in q.items]
    pillars = [p.id for p in q.pillars]
    members = (
        await session.execute(
            select(CampaignMember).where(CampaignMember.campaign_id == drawn.campaign_id, CampaignMember.is_reserve.is_(False))
            .order_by(CampaignMember.member_no)
        )
    ).scalars().all()
    session.expunge_all()  # plain reads from here: no ORM bookkeeping on the bulk updates below
    rows, answered, dispositions = [], [], {}
    codes, probs = zip(*NONRESPONSE, strict=True)
    for m in members:
        quality = quality_of.get(m.unit_code, 0.0)
        if rng.random() < 0.58 + 0.08 * quality:
            overall, items = _full_answers(rng, quality, pillar_of, pillars)
            pillar_min = [int(min([v for v, p in zip(items, pillar_of, strict=True) if p == pid and v > 0] or [5])) for pid in pillars]
            sub = Submission(
                questionnaire_id=q.id, questionnaire_version=q.version, channel="campaign", unit_id=m.unit_id,
                procedure_id=m.procedure_id, answers={i.id: int(v) for i, v in zip(q.items, items, strict=True)}, overall=overall,
                expectations=_expectations(rng, np.array(pillar_min)), language="vi", client_uuid=member_client_uuid(m.id),
                extra={"campaign_id": m.campaign_id, "member_id": m.id, "receipt_id": m.receipt_id, "stratum": m.stratum,
                       "inclusion_prob": m.inclusion_prob},
            )
            at = now - timedelta(hours=float(rng.uniform(2.0, 24.0 * 12)))
            rows.append(_row(sub, at, check_submission, settings))
            answered.append((m.id, rows[-1]["id"]))
        else:
            dispositions[m.member_no] = str(rng.choice(codes, p=probs))
    await session.execute(insert(Response), rows)
    t = CampaignMember.__table__
    await session.execute(
        update(t).where(t.c.id == bindparam("mid")).values(status="I", response_id=bindparam("rid"), updated_at=now),
        [{"mid": mid, "rid": rid} for mid, rid in answered],
    )
    await session.commit()
    await campaigns.set_dispositions(session, drawn.campaign_id, dispositions, actor=actor)

    sample = await indices.create_run(session, settings, period_start=start, period_end=today, source="sample", campaign_id=drawn.campaign_id, actor=actor)
    sample = await indices.publish_run(session, sample.id, actor)
    selfsel = await indices.create_run(session, settings, period_start=start, period_end=today, source="self_selected", actor=actor)
    selfsel = await indices.publish_run(session, selfsel.id, actor)
    return {"campaign_id": drawn.campaign_id, "campaign_respondents": len(rows), "sample_run": sample.id, "self_selected_run": selfsel.id,
            "period": (start, today)}
