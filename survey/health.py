"""Liveness and the landing page."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from survey.web import page


@get("/healthz", include_in_schema=False, opt={"access": "public"})
async def healthz(db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
    await db_session.execute(text("SELECT 1"))
    return {"status": "ok"}


@get("/", include_in_schema=False, opt={"access": "public"})
async def home(request: Request) -> Template:
    return page(request, "home.html")


ROUTES = [healthz, home]
