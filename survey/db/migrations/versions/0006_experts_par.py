"""experts and PAR Index: panels, invitations, ratings, appraisal, compositions

Revision ID: 0006_experts_par
Revises: 0008_unit_managers
"""

from __future__ import annotations

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0006_experts_par"
down_revision = "0008_unit_managers"
branch_labels = None
depends_on = None

#: composition columns fixed at creation (only status / published_by / published_at change, once)
FROZEN_COMPOSITION_COLUMNS = (
    "id",
    "year",
    "methodology_id",
    "methodology_sha256",
    "block",
    "block_label",
    "index_run_id",
    "panel_ids",
    "previous_composition_id",
    "inputs_hash",
    "summary",
    "created_by",
    "created_at",
)
SQLITE_TRIGGERS = [
    """CREATE TRIGGER par_results_no_update BEFORE UPDATE ON par_results
       BEGIN SELECT RAISE(ABORT, 'composition results are immutable'); END""",
    """CREATE TRIGGER par_results_no_delete_published BEFORE DELETE ON par_results
       WHEN (SELECT status FROM par_compositions WHERE id = OLD.composition_id) = 'published'
       BEGIN SELECT RAISE(ABORT, 'a published composition is frozen'); END""",
    """CREATE TRIGGER par_compositions_published_frozen BEFORE UPDATE ON par_compositions
       WHEN OLD.status = 'published'
       BEGIN SELECT RAISE(ABORT, 'a published composition is frozen'); END""",
    "CREATE TRIGGER par_compositions_inputs_frozen BEFORE UPDATE ON par_compositions WHEN "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN_COMPOSITION_COLUMNS)
    + " BEGIN SELECT RAISE(ABORT, 'a composition is immutable: only draft -> published may change'); END",
    """CREATE TRIGGER par_compositions_no_delete_published BEFORE DELETE ON par_compositions
       WHEN OLD.status = 'published'
       BEGIN SELECT RAISE(ABORT, 'a published composition is frozen'); END""",
]
_OLD = ", ".join(f"OLD.{c}::text" for c in FROZEN_COMPOSITION_COLUMNS)
_NEW = ", ".join(f"NEW.{c}::text" for c in FROZEN_COMPOSITION_COLUMNS)
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION par_compositions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'a published composition is frozen';
      END IF;
      IF TG_OP = 'DELETE' THEN
        RETURN OLD;
      END IF;
      IF ROW({_NEW}) IS DISTINCT FROM ROW({_OLD}) THEN
        RAISE EXCEPTION 'a composition is immutable: only draft -> published may change';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER par_compositions_guard BEFORE UPDATE OR DELETE ON par_compositions
       FOR EACH ROW EXECUTE FUNCTION par_compositions_guard()""",
    """CREATE FUNCTION par_results_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'composition results are immutable';
      END IF;
      IF (SELECT status FROM par_compositions WHERE id = OLD.composition_id) = 'published' THEN
        RAISE EXCEPTION 'a published composition is frozen';
      END IF;
      RETURN OLD;
    END $$""",
    """CREATE TRIGGER par_results_guard BEFORE UPDATE OR DELETE ON par_results
       FOR EACH ROW EXECUTE FUNCTION par_results_guard()""",
]


def upgrade() -> None:
    op.create_table(
        "expert_panels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "methodology_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("invitations_expire_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_panels")),
    )
    op.create_table(
        "par_compositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("methodology_id", sa.String(length=80), nullable=False),
        sa.Column("methodology_sha256", sa.String(length=64), nullable=False),
        sa.Column("block", sa.String(length=40), nullable=False),
        sa.Column("block_label", sa.String(length=200), nullable=False),
        sa.Column("index_run_id", sa.Integer(), nullable=True),
        sa.Column(
            "panel_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("previous_composition_id", sa.Integer(), nullable=True),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=80), nullable=True),
        sa.Column("published_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_par_compositions_status")),
        sa.ForeignKeyConstraint(
            ["previous_composition_id"],
            ["par_compositions.id"],
            name=op.f("fk_par_compositions_previous_composition_id_par_compositions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_par_compositions")),
    )
    with op.batch_alter_table("par_compositions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_par_compositions_year"), ["year"], unique=False)

    op.create_table(
        "expert_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column(
            "member_kinds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "rates_kinds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["expert_panels.id"],
            name=op.f("fk_expert_groups_panel_id_expert_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_groups")),
        sa.UniqueConstraint("panel_id", "code", name="expert_group_code"),
    )
    with op.batch_alter_table("expert_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_groups_panel_id"), ["panel_id"], unique=False)

    op.create_table(
        "par_appraisals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("methodology_id", sa.String(length=80), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=20), nullable=False),
        sa.Column("self_points", sa.Float(), nullable=True),
        sa.Column("council_points", sa.Float(), nullable=False),
        sa.Column("evidence", sa.String(length=500), nullable=False),
        sa.Column("imported_by", sa.String(length=80), nullable=False),
        sa.Column("imported_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_par_appraisals_unit_id_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_par_appraisals")),
        sa.UniqueConstraint("year", "methodology_id", "unit_id", "criterion_id", name="par_appraisal_key"),
    )
    with op.batch_alter_table("par_appraisals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_par_appraisals_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "par_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("composition_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("unit_name", sa.String(length=255), nullable=False),
        sa.Column("unit_kind", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("appraisal", sa.Float(), nullable=False),
        sa.Column("survey", sa.Float(), nullable=False),
        sa.Column("satisfaction", sa.Float(), nullable=False),
        sa.Column("bonus", sa.Float(), nullable=False),
        sa.Column("penalty", sa.Float(), nullable=False),
        sa.Column("rescale_factor", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("appraisal_rank", sa.Integer(), nullable=False),
        sa.Column("previous_rank", sa.Integer(), nullable=True),
        sa.Column("rank_change", sa.Integer(), nullable=True),
        sa.Column("unit_class", sa.String(length=10), nullable=False),
        sa.Column(
            "breakdown",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["composition_id"],
            ["par_compositions.id"],
            name=op.f("fk_par_results_composition_id_par_compositions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_par_results_unit_id_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_par_results")),
        sa.UniqueConstraint("composition_id", "unit_id", name="par_result_unit"),
    )
    with op.batch_alter_table("par_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_par_results_composition_id"), ["composition_id"], unique=False)

    op.create_table(
        "expert_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["expert_groups.id"],
            name=op.f("fk_expert_members_group_id_expert_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["expert_panels.id"],
            name=op.f("fk_expert_members_panel_id_expert_panels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_expert_members_unit_id_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_members")),
    )
    with op.batch_alter_table("expert_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_members_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expert_members_panel_id"), ["panel_id"], unique=False)

    op.create_table(
        "expert_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("member_unit_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "member_unit_id IS NULL OR unit_id <> member_unit_id",
            name=op.f("ck_expert_assignments_not_own_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["expert_members.id"],
            name=op.f("fk_expert_assignments_member_id_expert_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_expert_assignments_unit_id_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_assignments")),
        sa.UniqueConstraint("member_id", "unit_id", name="expert_assignment_pair"),
    )
    with op.batch_alter_table("expert_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_assignments_member_id"), ["member_id"], unique=False)

    op.create_table(
        "expert_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("opened_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column(
            "last_reminded_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["expert_members.id"],
            name=op.f("fk_expert_invitations_member_id_expert_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_invitations")),
        sa.UniqueConstraint("member_id", name=op.f("uq_expert_invitations_member_id")),
    )
    op.create_table(
        "expert_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("saved_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["expert_invitations.id"],
            name=op.f("fk_expert_ratings_invitation_id_expert_invitations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_expert_ratings_unit_id_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_ratings")),
        sa.UniqueConstraint("invitation_id", "unit_id", "criterion_id", name="expert_rating_key"),
    )
    with op.batch_alter_table("expert_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_ratings_invitation_id"), ["invitation_id"], unique=False)

    op.create_table(
        "expert_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["expert_invitations.id"],
            name=op.f("fk_expert_submissions_invitation_id_expert_invitations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_submissions")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_expert_submissions_invitation_id")),
    )

    for ddl in SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS par_results_guard ON par_results")
        op.execute("DROP TRIGGER IF EXISTS par_compositions_guard ON par_compositions")
        op.execute("DROP FUNCTION IF EXISTS par_results_guard()")
        op.execute("DROP FUNCTION IF EXISTS par_compositions_guard()")
    op.drop_table("expert_submissions")
    op.drop_table("expert_ratings")
    op.drop_table("expert_invitations")
    op.drop_table("expert_assignments")
    op.drop_table("expert_members")
    op.drop_table("par_results")
    op.drop_table("par_appraisals")
    op.drop_table("expert_groups")
    op.drop_table("par_compositions")
    op.drop_table("expert_panels")
