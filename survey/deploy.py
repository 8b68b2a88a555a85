"""Checks before starting several app processes: the database must take them all.

``hailong serve --workers N`` calls :func:`check_workers` first.  SQLite allows one writer and this
app queues its writers per process, so several processes on one SQLite file are refused.  On
PostgreSQL each worker keeps a pool of ``HAILONG_DB_POOL_SIZE`` connections (plus at most
``HAILONG_DB_MAX_OVERFLOW`` under load): N workers need N x (pool + overflow) connections, which must
fit under the server's ``max_connections`` minus the slots it reserves for superusers and the
connections other clients (other app nodes, migrations, backups) already hold.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from survey.db.engine import connections_per_process, is_sqlite
from survey.settings import Settings

#: connections left free for `hailong migrate`, `backup`, `psql`: never planned for the app
HEADROOM = 3


@dataclass(frozen=True, slots=True)
class WorkerCheck:
    ok: bool
    message: str
    warning: bool = False


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections on PostgreSQL 16+)
    in_use: int  # connections open now (other clients)


def plan(limits: ServerLimits, workers: int, per_process: int) -> WorkerCheck:
    """Whether ``workers`` processes of ``per_process`` connections fit the server's limits."""
    needed = workers * per_process
    budget = limits.max_connections - limits.reserved - HEADROOM
    if needed > budget:
        return WorkerCheck(
            False,
            f"{workers} workers x {per_process} connections (HAILONG_DB_POOL_SIZE + HAILONG_DB_MAX_OVERFLOW) = {needed} "
            f"exceed what PostgreSQL allows the app: max_connections {limits.max_connections} - reserved {limits.reserved} "
            f"- headroom {HEADROOM} = {budget}. Lower HAILONG_DB_POOL_SIZE or --workers, or raise max_connections.",
        )
    free = budget - limits.in_use
    if needed > free:
        return WorkerCheck(
            True,
            f"warning: {workers} workers x {per_process} connections = {needed}, but {limits.in_use} connections are "
            f"already open on the server ({free} free of {budget}); under load requests may fail with 'too many clients'.",
            warning=True,
        )
    return WorkerCheck(True, f"{workers} workers x {per_process} connections = {needed} of {budget} the server allows the app")


async def server_limits(database_url: str) -> ServerLimits:
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        max_connections = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
        if conn.get_server_version().major >= 16:
            reserved += int(await conn.fetchval("SHOW reserved_connections"))
        in_use = int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")) - 1
    finally:
        await conn.close()
    return ServerLimits(max_connections, reserved, max(in_use, 0))


def check_workers(settings: Settings, workers: int) -> WorkerCheck:
    """Refuse several workers on SQLite; on PostgreSQL check the pools fit (see module docstring)."""
    if workers < 1:
        return WorkerCheck(False, "--workers must be at least 1")
    if is_sqlite(settings.database_url):
        if workers == 1:
            return WorkerCheck(True, "one worker on SQLite")
        return WorkerCheck(
            False,
            f"--workers {workers} needs PostgreSQL: SQLite has one writer and this app queues writers per process, "
            "so several processes on one SQLite file would wait on each other's locks. Run one worker, or set "
            "HAILONG_DATABASE_URL=postgresql+asyncpg://... (see README, Deployment).",
        )
    limits = asyncio.run(server_limits(settings.database_url))
    return plan(limits, workers, connections_per_process(settings))
