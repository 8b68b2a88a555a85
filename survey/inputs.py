"""Input hardening at the HTTP boundary: one check every request passes before a handler sees it.

``check_request`` is the application's ``before_request`` hook (it runs after the guards, so an
unauthenticated request still gets its 401 first).  It refuses, before anything is decoded into a
handler's arguments or reaches the database:

- a control character (C0 except tab/newline/CR, DEL, C1) or a lone surrogate in a path
  parameter, a query parameter, a form field, or any string (or key) of a JSON body -> 422 naming
  the field.  PostgreSQL cannot store NUL, and no field of this application needs any of them;
- a JSON body nested deeper than :data:`MAX_JSON_DEPTH` -> 400 naming the body (the decoder would
  otherwise recurse until a RecursionError);
- a JSON endpoint called with another content type -> 415 naming ``content-type``;
- a JSON body that does not match the endpoint's msgspec Struct -> 422 listing *every* field that is
  wrong (``items[3].received_at``), decoded strictly: no ``"5"`` for an int, no ``0`` for a datetime.

:func:`text_error` is the same character rule for other doors (CSV cells in ``survey/imports``).
Error bodies follow ``survey/errors.py``: ``{"status_code", "detail", "errors": [{"field",
"message", "message_vi", "message_en"}]}``; ``message`` is Vietnamese on the kiosk API (the tablet shows
it to citizens) and English on the other APIs.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from functools import lru_cache
from pathlib import PurePath
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import BodyKwarg

#: deepest JSON nesting accepted (the deepest legitimate body, a receipt batch, has 3 levels)
MAX_JSON_DEPTH = 32
#: characters refused in every text input: C0 controls except \t \n \r, DEL, C1 controls, lone surrogates
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_MESSAGE = ("must not contain control characters (NUL, escape codes...)", "không được chứa ký tự điều khiển (NUL, mã thoát...)")
#: how a refused character can appear in JSON text: an escape (\b, \f, C0, DEL, C1, surrogate) or raw DEL / C1
#: (raw C0 is malformed JSON already).  A body without any is not walked (the common case, ~35 µs saved).
_MAYBE_CONTROL = re.compile(rb"\\[bf]|\\u00[0189][0-9a-fA-F]|\\u007[fF]|\\u[dD][89a-fA-F]|\x7f|\xc2[\x80-\x9f]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_MSGSPEC_PATH = re.compile(r" - at `\$([^`]*)`$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def text_error(value: str) -> str | None:
    """Why ``value`` is not acceptable text (English), or None: the one character rule of the application."""
    m = CONTROL_CHARS.search(value)
    if m is None:
        return None
    return f"{_CONTROL_MESSAGE[0]}: U+{ord(m.group()):04X} at position {m.start() + 1}"


class FieldProblem(typing.NamedTuple):
    field: str
    message_en: str
    message_vi: str


def _problem_error(request: Request, status: int, detail: str, problems: list[FieldProblem]) -> HTTPException:
    kiosk = request.url.path.startswith("/kiosk/")
    errors = [
        {"field": p.field, "message": p.message_vi if kiosk else p.message_en, "message_vi": p.message_vi, "message_en": p.message_en}
        for p in problems
    ]
    first = problems[0]
    summary = "; ".join(f"{p.field}: {p.message_en}" for p in problems[:5])
    if not request.url.path.startswith(("/api/", "/kiosk/api/")):  # HTML pages are read by people, in Vietnamese
        return HTTPException(status_code=status, detail=f"Dữ liệu không hợp lệ — {first.field}: {first.message_vi}", extra={"errors": errors})
    return HTTPException(status_code=status, detail=f"{detail}: {summary}", extra={"errors": errors})


# --------------------------------------------------------------------------- JSON structure


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body`` (JSON text) nests arrays/objects deeper than ``limit``; cheap for small bodies."""
    if body.count(b"[") + body.count(b"{") <= limit:  # cannot be deeper than its count of openings
        return False
    import numpy as np

    skeleton = _JSON_STRING.sub(b'""', body)  # brackets inside strings do not nest
    raw = np.frombuffer(skeleton, dtype=np.uint8)
    step = np.zeros(raw.shape, dtype=np.int32)
    step[(raw == ord("[")) | (raw == ord("{"))] = 1
    step[(raw == ord("]")) | (raw == ord("}"))] = -1
    return bool(raw.size) and int(np.cumsum(step).max()) > limit


def _walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, string) for every string and object key in decoded JSON, iteratively."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where or "body", item
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    yield (where or "body"), key
                stack.append((name, sub))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", sub) for i, sub in enumerate(item))


def _join(base: str, rel: str) -> str:
    """Join a field path and msgspec's relative ``$...`` location (``.a[0].b``)."""
    if not rel:
        return base or "body"
    if not base:
        return rel.lstrip(".")
    return base + rel


def _split_message(exc: msgspec.ValidationError) -> tuple[str, str]:
    text = str(exc)
    m = _MSGSPEC_PATH.search(text)
    return (text[: m.start()], m.group(1)) if m else (text, "")


@lru_cache(maxsize=256)
def _hints(struct_type: type) -> dict[str, Any]:
    return typing.get_type_hints(struct_type, include_extras=True)


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _struct_of(tp: Any) -> type | None:
    tp = _strip_annotated(tp)
    return tp if isinstance(tp, type) and issubclass(tp, msgspec.Struct) else None


def _list_of_struct(tp: Any) -> type | None:
    inner = _strip_annotated(tp)
    if typing.get_origin(inner) is list:
        (arg,) = typing.get_args(inner) or (Any,)
        return _struct_of(arg)
    return None


def _vi(message: str) -> str:
    return f"Giá trị không hợp lệ ({message})"


def struct_problems(tp: Any, value: Any, path: str = "") -> list[FieldProblem]:
    """Every way ``value`` (decoded JSON) fails to convert strictly to ``tp``; [] when it converts.

    msgspec stops at the first error; this walks Struct fields and lists of Structs so one answer
    names all of them.
    """
    try:
        msgspec.convert(value, tp, strict=True)
        return []
    except msgspec.ValidationError as exc:
        first = exc
    struct = _struct_of(tp)
    if struct is not None and isinstance(value, dict):
        problems: list[FieldProblem] = []
        info = msgspec.inspect.type_info(struct)
        hints = _hints(struct)
        known = set()
        for f in info.fields:
            known.add(f.encode_name)
            name = _join(path, "." + f.encode_name)
            if f.encode_name not in value:
                if f.required:
                    problems.append(FieldProblem(name, "is required", "là bắt buộc"))
                continue
            problems.extend(struct_problems(hints[f.name], value[f.encode_name], name))
        if struct.__struct_config__.forbid_unknown_fields:
            for key in value:
                if key not in known:
                    name = _join(path, f".{key}")
                    problems.append(FieldProblem(name, "is not a known field", "không phải là trường hợp lệ"))
        if problems:
            return problems
    items = _list_of_struct(tp)
    if items is not None and isinstance(value, list):
        message, rel = _split_message(first)
        if rel and rel.startswith("["):  # an item is wrong: name every wrong item
            problems = []
            for i, sub in enumerate(value):
                problems.extend(struct_problems(items, sub, f"{path}[{i}]"))
            if problems:
                return problems
    message, rel = _split_message(first)
    if message.startswith("Expected `str` matching regex"):
        message = "does not have the required format (see the pattern in the OpenAPI schema at /schema)"
    return [FieldProblem(_join(path, rel), message, _vi(message))]


# --------------------------------------------------------------------------- the hook


def _json_body_type(request: Request) -> Any | None:
    """The Struct type of the handler's JSON ``data`` parameter, or None when it takes no JSON body."""
    handler = request.route_handler
    param = handler.parsed_fn_signature.parameters.get("data")
    if param is None:
        return None
    kwarg = param.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type not in (RequestEncodingType.JSON, None):
        return None
    return param.annotation


def _check_text(items: Iterator[tuple[str, str]]) -> list[FieldProblem]:
    problems = []
    for name, value in items:
        reason = text_error(value)
        if reason is not None:
            problems.append(FieldProblem(name, reason, _CONTROL_MESSAGE[1]))
    return problems


async def check_request(request: Request) -> None:
    """The ``before_request`` hook; raises HTTPException (400/413/415/422) for unacceptable input."""
    problems = _check_text(
        [
            *((name, str(value)) for name, value in request.path_params.items() if isinstance(value, str | PurePath)),
            *request.query_params.multi_items(),
        ]
    )
    if problems:
        raise _problem_error(request, 422, "Invalid request parameters", problems)
    if request.method not in _BODY_METHODS:
        return
    body_type = _json_body_type(request)
    content_type, _options = request.content_type
    if content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        if body_type is not None:
            raise _unsupported(request)
        form = await request.form()
        problems = _check_text((name, value) for name, value in form.multi_items() if isinstance(value, str))
        if problems:
            raise _problem_error(request, 422, "Invalid form", problems)
        return
    body = await request.body()  # enforces the body size limit (413)
    if not body.strip():
        return
    if body_type is not None and not (content_type == "application/json" or content_type.endswith("+json")):
        raise _unsupported(request)
    if json_too_deep(body):
        problem = FieldProblem("body", f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", f"JSON lồng nhau quá {MAX_JSON_DEPTH} cấp")
        raise _problem_error(request, 400, "Malformed request body", [problem])
    if body_type is None:
        return
    try:
        data = await request.json()
    except msgspec.DecodeError:
        return  # Litestar answers 400 "JSON is malformed" when it decodes the body
    except Exception:  # noqa: BLE001 - Litestar wraps decode errors in its own exceptions; same 400 below
        return
    problems = _check_text(_walk_strings(data)) if _MAYBE_CONTROL.search(body) else []
    named = {p.field for p in problems}
    problems += [p for p in struct_problems(body_type, data) if p.field not in named]
    if problems:
        raise _problem_error(request, 422, "Invalid request body", problems)


def _unsupported(request: Request) -> HTTPException:
    problem = FieldProblem("content-type", "must be application/json", "phải là application/json")
    return _problem_error(request, 415, "Unsupported media type", [problem])


# --------------------------------------------------------------------------- OpenAPI: what the check answers


class FieldProblemOut(msgspec.Struct):
    field: str
    message: str
    message_vi: str | None = None
    message_en: str | None = None


class ErrorBody(msgspec.Struct):
    """Error body of every API answer (survey/errors.py); ``errors`` names each field."""

    status_code: int
    detail: str
    errors: list[FieldProblemOut] = []


def _spec(description: str):
    from litestar.openapi.datastructures import ResponseSpec

    return ResponseSpec(ErrorBody, description=description)


def param_errors() -> dict:
    """Responses :func:`check_request` gives on any operation (for ``responses=``)."""
    return {422: _spec("A path or query parameter holds a control character; `errors` names it")}


def json_body_errors(max_bytes: str = "64 KB") -> dict:
    """Responses :func:`check_request` gives on an operation with a JSON body (for ``responses=``)."""
    return {
        400: _spec(f"Malformed JSON, or JSON nested deeper than {MAX_JSON_DEPTH} levels"),
        413: _spec(f"Body larger than the limit ({max_bytes}, HAILONG_MAX_BODY_BYTES)"),
        415: _spec("Content-Type is not application/json"),
        422: _spec("The body does not match the schema (every wrong field is named in `errors`), a string holds a "
                   "control character, or a value is refused"),
    }
