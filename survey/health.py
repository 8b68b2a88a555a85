"""Liveness (``/healthz``), readiness (``/readyz``) and the landing page.

- ``/healthz``: the process answers and reaches its database (a load balancer's liveness probe).
- ``/readyz``: 200 only when the database answers *and* its schema is at this release's latest
  migration; 503 otherwise (e.g. while ``hailong migrate`` has not yet run after an upgrade), so a
  reverse proxy sends no traffic to a node that would fail.
"""

from __future__ import annotations

from functools import lru_cache

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from survey.web import page


@get("/healthz", include_in_schema=False, opt={"access": "public"})
async def healthz(db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
    await db_session.execute(text("SELECT 1"))
    return {"status": "ok"}


@get("/", include_in_schema=False, opt={"access": "public"})
async def home(request: Request) -> Template:
    return page(request, "home.html")


@lru_cache(maxsize=1)
def _head_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    from survey.db.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


@get("/readyz", include_in_schema=False, opt={"access": "public"})
async def readyz(db_session: NamedDependency[AsyncSession]) -> Response:
    try:
        rows = (await db_session.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except SQLAlchemyError:
        return Response({"status": "unavailable", "reason": "database"}, status_code=503, headers={"cache-control": "no-store"})
    if frozenset(rows) != _head_revisions():
        return Response({"status": "unavailable", "reason": "migrations pending"}, status_code=503, headers={"cache-control": "no-store"})
    return Response({"status": "ready"}, status_code=200, headers={"cache-control": "no-store"})


ROUTES = [healthz, readyz, home]
