"""Prometheus metrics at ``GET /metrics`` (text exposition format).

What is exported, and nothing else (no personal data: no paths with tokens, no dossier codes, no
usernames, no client addresses):

- ``hailong_http_requests_total{method,route,status}`` and ``hailong_http_request_duration_seconds``
  ``{method,route}``: per app process; ``route`` is the route's *template* (``/r/{token:str}``), never the
  requested path, so tokens never reach a label;
- ``hailong_responses_stored_total{channel}``: responses in the database per channel (counted at scrape
  time, so every node reports the same figure);
- ``hailong_receipts_registered_total``: receipts in the database;
- ``hailong_kiosk_queued_responses{unit}`` and ``hailong_kiosk_devices{unit}``: answers waiting in the
  kiosks' offline queues as their last heartbeats reported them, summed per unit code, and the
  active devices per unit (a source registered by the composition root: ``survey`` does not import
  ``kiosk``).

Who may read it: only a scraper presenting ``Authorization: Bearer $HAILONG_METRICS_TOKEN``; with no
token configured (or a wrong one) ``/metrics`` answers 401.  With several worker processes (``hailong serve --workers``)
``PROMETHEUS_MULTIPROC_DIR`` is set so the per-process request metrics are summed across workers.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.types import Scope
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey.db.models import Receipt
from survey.db.models import Response as ResponseRow
from survey.settings import Settings

REQUESTS = Counter("hailong_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "hailong_http_request_duration_seconds",
    "Time from receiving a request to the end of its response",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

#: async (session) -> [(name, help, kind "gauge"|"counter", label names, [(label values, value), ...])]
MetricSource = Callable[[AsyncSession], Awaitable[list[tuple[str, str, str, list[str], list[tuple[list[str], float]]]]]]


def _route_of(scope: Scope) -> str:
    """The matched route's template; unmatched requests share one label (their raw paths never appear)."""
    template = scope.get("path_template")
    if template:
        return template
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    if paths:
        return sorted(paths)[0]
    return "(unmatched)"


class _Snapshot:
    """A collector that yields metric families computed (asynchronously) just before a scrape."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        yield from self.families


async def _core_families(session: AsyncSession) -> list:
    stored = CounterMetricFamily("hailong_responses_stored", "Responses stored in the database, per channel", labels=["channel"])
    for channel, n in (await session.execute(select(ResponseRow.channel, func.count()).group_by(ResponseRow.channel))).all():
        stored.add_metric([channel], n)
    receipts = CounterMetricFamily("hailong_receipts_registered", "Receipts registered in the database")
    receipts.add_metric([], await session.scalar(select(func.count()).select_from(Receipt)) or 0)
    return [stored, receipts]


def _family(name: str, help_text: str, kind: str, labels: list[str], samples: list[tuple[list[str], float]]):
    family = (GaugeMetricFamily if kind == "gauge" else CounterMetricFamily)(name, help_text, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def authorised(settings: Settings, request: Request) -> bool:
    """True when a metrics token is configured and the request presents it (constant-time compare)."""
    if not settings.metrics_token:
        return False
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), settings.metrics_token.encode())


@get("/metrics", include_in_schema=False, opt={"access": "metrics"})
async def metrics(request: Request, settings: NamedDependency[Settings], db_session: NamedDependency[AsyncSession]) -> Response:
    if not authorised(settings, request):
        raise NotAuthorizedException("a metrics token is required")  # none configured, missing or wrong: 401
    families = await _core_families(db_session)
    for source in getattr(request.app.state, "metric_sources", []):
        families.extend(_family(*spec) for spec in await source(db_session))
    await db_session.rollback()
    body = generate_latest(_process_registry()) + generate_latest(_snapshot_registry(families))
    return Response(body, media_type=CONTENT_TYPE_LATEST.split(";")[0], headers={"cache-control": "no-store"})


def _snapshot_registry(families) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return registry


ROUTES = [metrics]
