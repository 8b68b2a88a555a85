"""read model: responses.packed, a fixed-width record of everything immutable an index run reads

Existing rows are packed with the application's own function (``survey.responses.readmodel.pack``),
in batches, joined to their receipts for the procedure and channel.

Revision ID: 0009_read_model
Revises: 0007_sessions
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_read_model"
down_revision = "0007_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.add_column(sa.Column("packed", sa.Text(), nullable=True))
    from survey.responses.readmodel import fill_missing

    fill_missing(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("packed")
