"""All ORM models, imported here so Alembic and the app see one metadata."""

from survey.db.base import Base
from survey.db.models.accounts import ApiClient, LoginAttempt, User
from survey.db.models.audit import AuditLog
from survey.db.models.campaigns import CampaignMember, SamplingCampaign
from survey.db.models.experts import (
    ExpertAssignment,
    ExpertGroup,
    ExpertInvitation,
    ExpertMember,
    ExpertPanel,
    ExpertRating,
    ExpertSubmission,
)
from survey.db.models.indices import IndexCell, IndexRun
from survey.db.models.par import Appraisal, Composition, CompositionResult
from survey.db.models.questionnaires import QuestionnaireVersion
from survey.db.models.receipts import Receipt
from survey.db.models.responses import Response, ResponseDay
from survey.db.models.sessions import StaffSession
from survey.db.models.units import Procedure, Unit

__all__ = [
    "Appraisal",
    "Composition",
    "CompositionResult",
    "ExpertAssignment",
    "ExpertGroup",
    "ExpertInvitation",
    "ExpertMember",
    "ExpertPanel",
    "ExpertRating",
    "ExpertSubmission",
    "ApiClient",
    "AuditLog",
    "Base",
    "CampaignMember",
    "IndexCell",
    "IndexRun",
    "LoginAttempt",
    "Procedure",
    "QuestionnaireVersion",
    "Receipt",
    "Response",
    "SamplingCampaign",
    "ResponseDay",
    "StaffSession",
    "Unit",
    "User",
]
