"""indices: stored, immutable index runs and their cells

Cells are never updated; a run changes once, from draft to published (status, published_by,
published_at), and a published run or its cells are never updated or deleted.  Triggers enforce it
on both backends, so even a hand-written UPDATE cannot change a published figure.

Revision ID: 0005_indices
Revises: 0004_indexes
"""
from __future__ import annotations

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0005_indices"
down_revision = "0004_indexes"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)

#: run columns fixed at creation (only status / published_by / published_at change, once)
FROZEN_RUN_COLUMNS = (
    "id", "period_start", "period_end", "source", "campaign_id", "methodology_version", "questionnaire_id",
    "inputs_hash", "parameters", "summary", "created_by", "created_at",
)

SQLITE_TRIGGERS = [
    """CREATE TRIGGER index_cells_no_update BEFORE UPDATE ON index_cells
       BEGIN SELECT RAISE(ABORT, 'index cells are immutable'); END""",
    """CREATE TRIGGER index_cells_no_delete_published BEFORE DELETE ON index_cells
       WHEN (SELECT status FROM index_runs WHERE id = OLD.run_id) = 'published'
       BEGIN SELECT RAISE(ABORT, 'a published index run is never changed'); END""",
    """CREATE TRIGGER index_runs_published_frozen BEFORE UPDATE ON index_runs
       WHEN OLD.status = 'published'
       BEGIN SELECT RAISE(ABORT, 'a published index run is never changed'); END""",
    "CREATE TRIGGER index_runs_inputs_frozen BEFORE UPDATE ON index_runs WHEN "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN_RUN_COLUMNS)
    + " BEGIN SELECT RAISE(ABORT, 'an index run is immutable: only draft -> published may change'); END",
    """CREATE TRIGGER index_runs_no_delete_published BEFORE DELETE ON index_runs
       WHEN OLD.status = 'published'
       BEGIN SELECT RAISE(ABORT, 'a published index run is never changed'); END""",
]

_OLD = ", ".join(f"OLD.{c}" for c in FROZEN_RUN_COLUMNS)
_NEW = ", ".join(f"NEW.{c}" for c in FROZEN_RUN_COLUMNS)
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION index_runs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.status = 'published' THEN
        RAISE EXCEPTION 'a published index run is never changed';
      END IF;
      IF TG_OP = 'DELETE' THEN
        RETURN OLD;
      END IF;
      IF ROW({_NEW}) IS DISTINCT FROM ROW({_OLD}) THEN
        RAISE EXCEPTION 'an index run is immutable: only draft -> published may change';
      END IF;
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER index_runs_guard BEFORE UPDATE OR DELETE ON index_runs
       FOR EACH ROW EXECUTE FUNCTION index_runs_guard()""",
    """CREATE FUNCTION index_cells_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'index cells are immutable';
      END IF;
      IF (SELECT status FROM index_runs WHERE id = OLD.run_id) = 'published' THEN
        RAISE EXCEPTION 'a published index run is never changed';
      END IF;
      RETURN OLD;
    END $$""",
    """CREATE TRIGGER index_cells_guard BEFORE UPDATE OR DELETE ON index_cells
       FOR EACH ROW EXECUTE FUNCTION index_cells_guard()""",
]


def upgrade() -> None:
    op.create_table(
        "index_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("methodology_version", sa.String(length=40), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=40), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("published_by", sa.String(length=80), nullable=True),
        sa.Column("published_at", UTC_DT, nullable=True),
        sa.CheckConstraint("source IN ('sample', 'self_selected')", name=op.f("ck_index_runs_source")),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_index_runs_status")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["sampling_campaigns.id"], name=op.f("fk_index_runs_campaign_id_sampling_campaigns"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_runs")),
    )
    with op.batch_alter_table("index_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_index_runs_period_start"), ["period_start"], unique=False)
        batch_op.create_index(batch_op.f("ix_index_runs_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_index_runs_inputs_hash"), ["inputs_hash"], unique=False)
    op.create_table(
        "index_cells",
        sa.Column("id", BIGID, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=16), nullable=False),
        sa.Column("domain_code", sa.String(length=255), nullable=False),
        sa.Column("domain_label", sa.String(length=255), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("measure_code", sa.String(length=64), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=True),
        sa.Column("se", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("df", sa.Float(), nullable=True),
        sa.Column("deff", sa.Float(), nullable=True),
        sa.Column("n_eff", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "domain IN ('province', 'unit_group', 'unit', 'field', 'channel')", name=op.f("ck_index_cells_domain")
        ),
        sa.CheckConstraint(
            "measure IN ('sipas', 'pillar', 'item', 'overall', 'mean_score', 'expectation', 'admin_766')",
            name=op.f("ck_index_cells_measure"),
        ),
        sa.CheckConstraint(
            "method IN ('direct', 'fay_herriot', 'suppressed', 'administrative')", name=op.f("ck_index_cells_method")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["index_runs.id"], name=op.f("fk_index_cells_run_id_index_runs"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_cells")),
        sa.UniqueConstraint("run_id", "domain", "domain_code", "measure", "measure_code", name="index_cell_key"),
    )
    with op.batch_alter_table("index_cells", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_index_cells_run_id"), ["run_id"], unique=False)
    triggers = SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRIGGERS
    for ddl in triggers:
        op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("index_cells_no_update", "index_cells_no_delete_published", "index_runs_published_frozen",
                     "index_runs_inputs_frozen", "index_runs_no_delete_published"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS index_cells_guard ON index_cells")
        op.execute("DROP TRIGGER IF EXISTS index_runs_guard ON index_runs")
        op.execute("DROP FUNCTION IF EXISTS index_cells_guard()")
        op.execute("DROP FUNCTION IF EXISTS index_runs_guard()")
    with op.batch_alter_table("index_cells", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_cells_run_id"))
    op.drop_table("index_cells")
    with op.batch_alter_table("index_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_runs_inputs_hash"))
        batch_op.drop_index(batch_op.f("ix_index_runs_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_index_runs_period_start"))
    op.drop_table("index_runs")
