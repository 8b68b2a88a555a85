"""Exception handlers: JSON with field-level messages for the API, HTML pages for people."""

from __future__ import annotations

import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from survey.web import page

API_PREFIXES = ("/api/", "/kiosk/api/", "/schema")
#: letters only Vietnamese uses: a detail without them is an English/internal text, not shown on a page
_VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯàáãèéìíòóõùúýÀÁÃÈÉÌÍÒÓÕÙÚÝ\u1ea0-\u1ef9]")


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(API_PREFIXES) or "text/html" not in request.headers.get("accept", "")


def _validation_errors(exc: ValidationException) -> list[dict[str, Any]]:
    errors = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            errors.append({"field": item.get("key") or item.get("source") or "body", "message": item.get("message", "")})
    return errors


def http_exception_handler(request: Request, exc: HTTPException) -> Response | Template:
    status = exc.status_code
    detail = exc.detail
    if wants_json(request):
        body: dict[str, Any] = {"status_code": status, "detail": detail}
        if isinstance(exc, ValidationException):
            body["errors"] = _validation_errors(exc)
        elif isinstance(exc.extra, dict) and exc.extra.get("errors"):
            body["errors"] = exc.extra["errors"]
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=exc.headers)
    return page(request, "error.html", {"status": status, "detail": _page_detail(status, detail)}, status_code=status)


def _page_detail(status: int, detail: Any) -> str:
    """The detail a person reads under the page title: a Vietnamese message (translated by the template), or
    nothing when it is only the framework's English status phrase ("Not Found") or an internal English text."""
    from http import HTTPStatus

    text = str(detail or "").strip()
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    if not text or text == phrase or not _VIETNAMESE.search(text):
        return ""
    return text


def internal_error_handler(request: Request, exc: Exception) -> Response | Template:
    # one JSON line (survey.logs): the route pattern, never the raw path (user input, maybe a token)
    request.logger.error(
        "unhandled error",
        exc_info=exc,
        extra={"method": request.method, "route": request.scope.get("path_template") or "(unrouted)"},
    )
    if wants_json(request):
        return Response({"status_code": 500, "detail": "Internal Server Error"}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)
    return page(request, "error.html", {"status": 500, "detail": ""}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS = {HTTPException: http_exception_handler, HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler}
