"""read model by day: response_days (one compacted row per closed local day) and the index of the
responses the review has not accepted

Revision ID: 0010_response_days
Revises: 0009_read_model
"""
from __future__ import annotations

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_response_days"
down_revision = "0009_read_model"
branch_labels = None
depends_on = None

UTC_DT = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)
JSON_T = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "response_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lo", UTC_DT, nullable=False),
        sa.Column("hi", UTC_DT, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("parts", JSON_T, nullable=False),
        sa.Column("records", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_days")),
        sa.UniqueConstraint("timezone", "day", name="uq_response_days_timezone_day"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # the records are digits and ids already read in bulk: compressing them costs more than it saves
        op.execute("ALTER TABLE response_days ALTER COLUMN records SET STORAGE EXTERNAL")
    op.create_index(
        "ix_responses_not_accepted", "responses", ["submitted_at"], unique=False,
        sqlite_where=sa.text("review_status <> 'accepted'"), postgresql_where=sa.text("review_status <> 'accepted'"),
    )


def downgrade() -> None:
    op.drop_index("ix_responses_not_accepted", table_name="responses")
    op.drop_table("response_days")
