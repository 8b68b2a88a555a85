"""campaigns: sampling campaigns and their drawn members

Revision ID: 0003_campaigns
Revises: 0002_kiosk
"""
from __future__ import annotations

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0003_campaigns"
down_revision = "0002_kiosk"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sampling_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("design", JSON, nullable=False),
        sa.Column("frame_filter", JSON, nullable=False),
        sa.Column("frame_source", sa.String(length=10), nullable=False),
        sa.Column("frame_size", sa.Integer(), nullable=False),
        sa.Column("frame_counts", JSON, nullable=False),
        sa.Column("allocation", JSON, nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("reserve_size", sa.Integer(), nullable=False),
        sa.Column("seed", BIGID, nullable=False),
        sa.Column("questionnaire_id", sa.String(length=40), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=False),
        sa.Column("invitations_expire_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("drawn_at", UTC_DT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sampling_campaigns")),
    )
    op.create_table(
        "campaign_members",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_no", sa.Integer(), nullable=False),
        sa.Column("receipt_id", BIGID, nullable=True),
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=True),
        sa.Column("procedure_code", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("stratum", sa.String(length=300), nullable=False),
        sa.Column("inclusion_prob", sa.Float(), nullable=False),
        sa.Column("selection_order", sa.Integer(), nullable=False),
        sa.Column("is_reserve", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("response_id", sa.String(length=36), nullable=True),
        sa.Column("updated_at", UTC_DT, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'I', 'P', 'R', 'NC', 'O', 'UH', 'UO', 'NE')", name=op.f("ck_campaign_members_status")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["sampling_campaigns.id"], name=op.f("fk_campaign_members_campaign_id_sampling_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"], name=op.f("fk_campaign_members_receipt_id_receipts"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_campaign_members_unit_id_units"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["procedure_id"], ["procedures.id"], name=op.f("fk_campaign_members_procedure_id_procedures"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_members")),
        sa.UniqueConstraint("campaign_id", "member_no", name="campaign_member_no"),
    )
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_members_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_campaign_members_receipt_id"), ["receipt_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_members_receipt_id"))
        batch_op.drop_index(batch_op.f("ix_campaign_members_campaign_id"))
    op.drop_table("campaign_members")
    op.drop_table("sampling_campaigns")
