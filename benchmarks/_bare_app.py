"""Baseline for the benchmarks: a bare Litestar app with one trivial JSON POST handler.

Served by the same uvicorn settings as the real app, so the ratio isolates what the real endpoint adds
(validation, token check, database write) from the framework, server and client costs.
"""

from __future__ import annotations

import msgspec
from litestar import Litestar, get, post


class Echo(msgspec.Struct):
    token: str
    answers: dict[str, int] = {}


class Created(msgspec.Struct):
    id: str


@post("/echo", status_code=201)
async def echo(data: Echo) -> Created:
    return Created(id=data.token[:8])


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([echo, healthz])
