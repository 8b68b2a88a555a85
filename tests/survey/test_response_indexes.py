"""The indexes of ``responses`` (migration 0011): no single-column index that a composite one already leads with,
and the searches by unit and by device still find an index (each stored response updates every index)."""

from __future__ import annotations

from sqlalchemy import inspect, text

from tests.conftest import is_postgres


async def _index_names(db) -> set[str]:
    conn = await db.connection()
    return await conn.run_sync(lambda sync: {ix["name"] for ix in inspect(sync).get_indexes("responses")})


async def _plan(db, sql: str) -> str:
    if is_postgres():
        await db.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: ask whether an index can serve
        rows = (await db.execute(text(f"EXPLAIN {sql}"))).scalars().all()
    else:
        rows = [r[-1] for r in (await db.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()]
    return "\n".join(rows)


async def test_no_index_repeats_the_leading_column_of_another(db):
    names = await _index_names(db)
    assert {"ix_responses_unit_id_submitted_at", "ix_responses_device_id_device_time"} <= names
    assert not names & {"ix_responses_unit_id", "ix_responses_device_id"}


async def test_searches_by_unit_and_by_device_use_the_composite_indexes(db):
    assert "ix_responses_unit_id_submitted_at" in await _plan(db, "SELECT id FROM responses WHERE unit_id = 7")
    assert "ix_responses_device_id_device_time" in await _plan(db, "SELECT id FROM responses WHERE device_id = 3")
    await db.rollback()
