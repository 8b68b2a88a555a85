"""unit managers: role ``unit_manager`` and ``users.unit_id`` (the unit whose results they read)

A unit manager sees the results of their unit and of the units below it, nothing else; the
database refuses a unit manager without a unit.

Revision ID: 0008_unit_managers
Revises: 0005_indices
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_unit_managers"
down_revision = "0005_indices"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin', 'statistician', 'viewer')"
NEW_ROLES = "role IN ('admin', 'statistician', 'viewer', 'unit_manager')"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_unit_id"), ["unit_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_users_unit_id_units"), "units", ["unit_id"], ["id"], ondelete="RESTRICT")
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role"), sa.text(NEW_ROLES))
        batch_op.create_check_constraint(batch_op.f("ck_users_unit_manager_unit"), sa.text("role <> 'unit_manager' OR unit_id IS NOT NULL"))


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'unit_manager'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_unit_manager_unit"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role"), sa.text(OLD_ROLES))
        batch_op.drop_constraint(batch_op.f("fk_users_unit_id_units"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_unit_id"))
        batch_op.drop_column("unit_id")
