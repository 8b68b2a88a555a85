"""/readyz: ready only when the database answers and its schema is at the latest migration."""

from __future__ import annotations

from sqlalchemy import text


async def test_ready_on_a_migrated_database(client):
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}


async def test_not_ready_while_migrations_are_pending(client, db):
    head = await db.scalar(text("SELECT version_num FROM alembic_version"))
    await db.execute(text("UPDATE alembic_version SET version_num = '0003_campaigns'"))
    await db.commit()
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["reason"] == "migrations pending"
        assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
    finally:  # the PostgreSQL test schema is shared by the tests that follow
        await db.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        await db.commit()
