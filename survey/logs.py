"""Structured logging: one JSON object per line, with the request id.

Every record becomes ``{"ts", "level", "logger", "msg", "request_id", ...extra fields}``; the message
and every field are JSON-encoded, so a user-controlled value (a path with ``%0A``, a header) can never
start a line of its own or pose as another field.  An exception's traceback goes into the ``exc`` field
of the same line.  The request id is the client's ``X-Request-ID`` when it is a short token of safe
characters, else a new one (a random prefix drawn once per process and a counter: unique across
processes without a system call per request; it names a request, it authorises nothing); it is echoed
in the response's ``X-Request-ID`` header.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import secrets
import traceback
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
SCOPE_KEY = "hl_request_id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
#: new request ids: this process's random prefix, then a counter (see the module docstring)
_ID_PREFIX = ""
_ID_COUNTER = itertools.count(1)


def _new_id_prefix() -> None:
    global _ID_PREFIX
    _ID_PREFIX = secrets.token_hex(5)


_new_id_prefix()
os.register_at_fork(after_in_child=_new_id_prefix)  # a forked worker must not repeat its parent's ids

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("hailong_request_id", default=None)

#: attributes every LogRecord has; anything else on a record is an ``extra=`` field and is logged
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", "color_message"}


def current_request_id() -> str | None:
    return _request_id.get()


def request_id_for(scope) -> str:
    """The request id of this ASGI scope (the client's X-Request-ID if safe, else a new one), kept in the scope."""
    rid = scope.get(SCOPE_KEY)
    if rid is None:
        sent = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                sent = value.decode("latin-1")
                break
        rid = sent if sent and _SAFE_ID.match(sent) else f"{_ID_PREFIX}{next(_ID_COUNTER):06x}"
        scope[SCOPE_KEY] = rid
    return rid


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON (``ensure_ascii`` keeps control characters escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or _request_id.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=True, default=str)


def litestar_logging_config():
    """Litestar's logging config with the JSON formatter for the app's loggers (``litestar``, ``survey``, ``kiosk``)."""
    from litestar.logging.config import LoggingConfig

    return LoggingConfig(
        formatters={"standard": {"()": "survey.logs.JsonFormatter"}},
        loggers={
            "litestar": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False},
            "survey": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False},
            "kiosk": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False},
        },
        log_exceptions="never",  # the 500 handler logs unexpected errors itself, as one JSON line
    )


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own messages (start-up, errors) as JSON lines too (``hailong serve``)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "survey.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }
