"""The one middleware every routed request passes (``create_app`` installs it alone).

In one layer instead of four (each an extra coroutine frame and, for the metrics, a send wrapper):

1. the request id of the logs (``survey.logs``: the client's safe ``X-Request-ID`` or a new one);
2. the Prometheus request count and latency (``survey.metrics``), by route template and status;
3. only for pages, not for the JSON APIs: the staff session from the ``sessions`` table
   (``survey.security.sessions``) and the session-bound CSRF check (``survey.security.csrf``).

The JSON APIs (``/api/``, ``/kiosk/api/``) are authorised by an API key, a kiosk device token or the
receipt token in the body, never by a cookie: a staff cookie sent along gives them no authority, so
they skip the session lookup (``scope["session"]`` is ``{}``) and the CSRF middleware, which
exempted them already.  The security headers stay a ``before_send`` hook (``survey.security.headers``),
so a 404 of an unknown path gets them too.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.config.csrf import CSRFConfig

from survey.logs import _request_id, request_id_for
from survey.metrics import LATENCY, REQUESTS, _route_of
from survey.security.csrf import SessionCSRFMiddleware
from survey.security.sessions import session_data

#: JSON APIs authorised by a bearer key, a device token or the token in the body: no staff session, no CSRF
TOKEN_API_PREFIXES = ("/api/", "/kiosk/api/")


#: (method, route template, status) -> the labelled request counter and latency histogram (labels() looked up once)
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


class EdgeMiddleware:
    """Request id, metrics, then (pages only) staff session and CSRF; see the module docstring."""

    def __init__(self, app: Any, csrf_config: CSRFConfig) -> None:
        self.app = app
        self.csrf = SessionCSRFMiddleware(app, csrf_config)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                scope["session"] = await session_data(scope)
            await self.app(scope, receive, send)
            return
        reset = _request_id.set(request_id_for(scope))
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["path"].startswith(TOKEN_API_PREFIXES):
                scope["session"] = {}
                await self.app(scope, receive, send_wrapper)
            else:
                scope["session"] = await session_data(scope)
                await self.csrf(scope, receive, send_wrapper)
        finally:
            key = (scope.get("method", ""), _route_of(scope), status)
            children = _CHILDREN.get(key)
            if children is None:
                children = _CHILDREN[key] = (
                    REQUESTS.labels(key[0], key[1], str(status)),
                    LATENCY.labels(key[0], key[1]),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - start)
            _request_id.reset(reset)
