"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections over asyncio streams.

Why not httpx: on a 2-core machine the load generator shares the CPUs with the server under test.
httpx spends roughly a millisecond of CPU per request, so a fast endpoint (the bare baseline) was
measured mostly as "how fast can httpx send", which made every ratio depend on the client.  This
client builds each request as bytes and reads the reply by Content-Length (or chunks), a few tens
of microseconds per request, so the server gets the CPU and ratios compare servers.  Every phase of
a benchmark (baseline and endpoint alike) uses it the same way: CONCURRENCY persistent connections,
one request in flight on each.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


class HttpError(RuntimeError):
    pass


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return _decode(self.body)


class Connection:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None

    async def request(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Reply:
        if self.writer is None:
            await self._open()
        body = b"" if json is None else _encode(json)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: keep-alive"]
        if json is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        return await self._read_reply()

    async def _read_reply(self) -> Reply:
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            raise HttpError("reply without Content-Length or chunked encoding")
        if close:
            await self.close()
        return Reply(status, body)


@dataclass
class Result:
    name: str
    done: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


async def drive(
    name: str,
    base_url: str,
    total: int,
    concurrency: int,
    one: Callable[[Connection, int], Awaitable[bool]],
    time_limit: float = 8.0,
) -> Result:
    """``concurrency`` persistent connections share ``total`` operations; ``one(conn, i)`` returns True on success.

    Connections are opened before the clock starts; the phase stops after ``total`` operations or
    ``time_limit`` seconds, whichever comes first.
    """
    host, _, port = base_url.removeprefix("http://").partition(":")
    conns = [Connection(host, int(port)) for _ in range(concurrency)]
    await asyncio.gather(*(c._open() for c in conns))
    latencies: list[float] = []
    errors = 0
    next_i = 0
    deadline = time.monotonic() + time_limit

    async def worker(conn: Connection) -> None:
        nonlocal next_i, errors
        while next_i < total and time.monotonic() < deadline:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                ok = await one(conn, i)
            except (OSError, asyncio.IncompleteReadError, HttpError, ValueError):
                ok = False
                await conn.close()
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    seconds = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in conns))
    return Result(name, len(latencies) - errors, seconds, latencies, errors)
