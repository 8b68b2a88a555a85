"""indexes: drop the two single-column indexes of ``responses`` that a composite index already covers

``ix_responses_unit_id`` is the leading column of ``ix_responses_unit_id_submitted_at`` (0004) and
``ix_responses_device_id`` of ``ix_responses_device_id_device_time`` (0002): every search by unit or by
device, and the foreign-key checks on deleting a unit, use the composite index, while each stored response
had to update all of them (the intake writes 10 indexes per response; now 8).

Revision ID: 0011_redundant_indexes
Revises: 0010_response_days
"""
from __future__ import annotations

from alembic import op

revision = "0011_redundant_indexes"
down_revision = "0010_response_days"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_responses_unit_id", table_name="responses")
    op.drop_index("ix_responses_device_id", table_name="responses")


def downgrade() -> None:
    op.create_index("ix_responses_device_id", "responses", ["device_id"], unique=False)
    op.create_index("ix_responses_unit_id", "responses", ["unit_id"], unique=False)
