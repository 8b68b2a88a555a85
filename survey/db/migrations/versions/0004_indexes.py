"""indexes: per-unit day ranges read on every kiosk submission

Kiosk ingest screening reads, for one unit and one local day, the other channels' ratings
(``responses`` by unit_id and submitted_at) and the receipts at the counters (``receipts`` by
unit_id and received_at).  With only single-column indexes both searches walked every row the
unit ever had; these composite indexes make them range scans of one day.

Revision ID: 0004_indexes
Revises: 0003_campaigns
"""
from __future__ import annotations

from alembic import op

revision = "0004_indexes"
down_revision = "0003_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_responses_unit_id_submitted_at", "responses", ["unit_id", "submitted_at"], unique=False)
    op.create_index("ix_receipts_unit_id_received_at", "receipts", ["unit_id", "received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_receipts_unit_id_received_at", table_name="receipts")
    op.drop_index("ix_responses_unit_id_submitted_at", table_name="responses")
