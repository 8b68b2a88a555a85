"""A bad-input corpus against every JSON endpoint, form and parameterised route of the app.

The routes come from the application's route table (``app.routes``), not from a hand list, so a new
endpoint is covered the day it is added.  Each case must answer a 4xx that names the field (or the
body / content-type), write nothing (row counts of every table unchanged) and log at most one line,
never a traceback.  Runs on SQLite and PostgreSQL (``make test`` runs tests/reliability on both).
"""

from __future__ import annotations

import logging
import re
import typing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from survey.inputs import MAX_JSON_DEPTH, _json_body_type
from survey.receipts import services as receipts
from survey.receipts import tokens
from tests.kiosk.helpers import sign_in_admin
from tests.reliability.fixtures import Seeded, row_counts, seed

HTML = {"accept": "text/html"}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
INPUT_NAME_RE = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"_][^"]*)"')
CONTROL_SAMPLES = ["A\x00B", "A\x1b[31mB", "A\x7fB", "A\x85B", "A\x08B"]
TEN_MB = 10 * 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route's path template, e.g. /api/v1/receipts/{dossier_code:str}
    body_type: typing.Any  # msgspec Struct of a JSON body, or None
    params: dict[str, type]

    def url(self, **values: str) -> str:
        out = self.path
        for name, kind in self.params.items():
            value = values.get(name, "1" if kind is int else "x")
            out = re.sub(r"\{" + name + r":[a-z]+\}", value, out)
        return out


def endpoints(app) -> list[Endpoint]:
    """Every (method, route) of the app but OPTIONS/HEAD, with its JSON body type and path parameters."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                params = {name: p.type for name, p in getattr(route, "path_parameters", {}).items()}
                body = _json_body_type(_FakeRequest(handler)) if method != "GET" else None
                found.append(Endpoint(method, route.path, body, params))
    return found


class _FakeRequest:
    def __init__(self, handler):
        self.route_handler = handler


def json_endpoints(app) -> list[Endpoint]:
    return [e for e in endpoints(app) if e.body_type is not None]


def form_endpoints(app) -> list[Endpoint]:
    return [e for e in endpoints(app) if e.method == "POST" and e.body_type is None and not e.path.startswith("/schema")]


# --------------------------------------------------------------------------- valid bodies from the Struct


def sample(tp, name: str = "", data: Seeded | None = None):
    """A plausible valid value of ``tp`` (the structure the mutations start from)."""
    hints_tp = tp
    while typing.get_origin(hints_tp) is typing.Annotated:
        hints_tp = typing.get_args(hints_tp)[0]
    origin = typing.get_origin(hints_tp)
    if origin in (typing.Union, __import__("types").UnionType):
        args = [a for a in typing.get_args(hints_tp) if a is not type(None)]
        return sample(args[0], name, data)
    if origin is typing.Literal:
        return typing.get_args(hints_tp)[0]
    if origin is list:
        (arg,) = typing.get_args(hints_tp)
        return [sample(arg, name, data)]
    if origin is dict:
        return {}
    if isinstance(hints_tp, type) and issubclass(hints_tp, msgspec.Struct):
        hints = typing.get_type_hints(hints_tp, include_extras=True)
        return {f.encode_name: sample(hints[f.name], f.name, data) for f in msgspec.inspect.type_info(hints_tp).fields}
    now = datetime.now(UTC) - timedelta(minutes=5)
    if hints_tp is datetime:
        return now.isoformat()
    if hints_tp is date:
        return (now + timedelta(days=3)).date().isoformat()
    if hints_tp is bool:
        return True
    if hints_tp is int:
        return 1
    if hints_tp is float:
        return 1.0
    known = {
        "client_uuid": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "language": "vi",
        "unit_code": "SNV",
        "questionnaire_id": "kiosk",
        "dossier_code": f"000.00.01.H01-{now.astimezone(__import__('zoneinfo').ZoneInfo('Asia/Ho_Chi_Minh')):%y%m%d}-0099",
    }
    if name in ("token", "receipt_token") and data is not None:
        return data.receipt_token
    return known.get(name, "ok")


def string_fields(tp, prefix: str = "") -> list[tuple[str, int | None]]:
    """(path, max_length) of every string field of a Struct body (into lists of Structs: item 0)."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    out = []
    hints = typing.get_type_hints(tp, include_extras=True)
    for f in msgspec.inspect.type_info(tp).fields:
        info = f.type
        if isinstance(info, msgspec.inspect.UnionType):
            info = next(t for t in info.types if not isinstance(t, msgspec.inspect.NoneType))
        path = f"{prefix}{f.encode_name}"
        if isinstance(info, msgspec.inspect.StrType):
            out.append((path, info.max_length))
        elif isinstance(info, msgspec.inspect.ListType) and isinstance(info.item_type, msgspec.inspect.StructType):
            out.extend(string_fields(hints[f.name] and info.item_type.cls, f"{path}[0]."))
    return out


def set_path(body: dict, path: str, value) -> dict:
    """A copy of ``body`` with the field at ``a[0].b`` replaced."""
    import copy

    out = copy.deepcopy(body)
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    target = out
    for part in parts[:-1]:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    target[parts[-1]] = value
    return out


def _wrong_type(value):
    if isinstance(value, str):
        return {"nested": ["object"]}
    if isinstance(value, bool | int | float):
        return "1"  # a number as a string: refused by the strict decoding
    return 17


# --------------------------------------------------------------------------- fixtures and checks


@pytest.fixture
async def seeded(db, settings) -> Seeded:
    return await seed(db, settings)


@pytest.fixture
async def admin_client(client, db):
    await sign_in_admin(client, db, "corpus-admin")
    return client


def _headers(ep: Endpoint, data: Seeded) -> dict[str, str]:
    if ep.path.startswith("/kiosk/api/") and ep.path != "/kiosk/api/enrol":
        return {"authorization": f"Bearer {data.device_credential}"}
    if ep.path.startswith("/api/v1/receipts"):
        return {"authorization": f"Bearer {data.api_key}"}
    return {}


def _names(response) -> str:
    """Everything in the answer that can name a field: the error list, the detail, the page text."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    fields = " ".join(str(e.get("field")) for e in body.get("errors", []) if isinstance(e, dict)) if isinstance(body, dict) else ""
    return f"{fields} {body.get('detail', '') if isinstance(body, dict) else ''}"


class Recorder:
    """Collects the log records the app emits during a request (the test client's own lines excluded)."""

    def __init__(self, caplog):
        self.caplog = caplog

    def lines(self) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if not r.name.startswith(("httpx", "hypothesis", "asyncio"))]


async def expect_refused(client, db, caplog, method: str, url: str, *, field: str, statuses=(400, 413, 415, 422), **kwargs):
    before = await row_counts(db)
    caplog.clear()
    r = await client.request(method, url, **kwargs)
    problems = []
    if r.status_code not in statuses:
        problems.append(f"status {r.status_code} (expected {statuses}): {r.text[:300]}")
    elif field and field not in _names(r):
        problems.append(f"the answer does not name {field!r}: {r.text[:300]}")
    logged = Recorder(caplog).lines()
    if len(logged) > 1 or any(rec.exc_info for rec in logged):
        problems.append(f"logged {len(logged)} lines: {[rec.getMessage()[:120] for rec in logged]}")
    db.expire_all()
    after = await row_counts(db)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    if changed:
        problems.append(f"rows written: {changed}")
    if "charset" in r.headers.get("content-type", "") and r.headers["content-type"].count("charset") > 1:
        problems.append(f"content-type {r.headers['content-type']!r}")
    return [f"{method} {url[:80]!r} -> {p}" for p in problems]


# --------------------------------------------------------------------------- the corpus


def test_route_table_has_the_known_json_endpoints(app):
    paths = {e.path for e in json_endpoints(app)}
    # sanity: discovery finds the JSON API (a new JSON endpoint joins the corpus automatically)
    assert {"/api/v1/receipts", "/api/v1/receipts/batch", "/api/v1/responses", "/kiosk/api/enrol", "/kiosk/api/heartbeat"} <= paths


async def test_json_endpoints_refuse_bad_bodies(app, client, db, seeded, caplog):
    failures: list[str] = []
    for ep in json_endpoints(app):
        url, headers = ep.url(), _headers(ep, seeded)
        valid = sample(ep.body_type, data=seeded)
        send = {"headers": {**headers, "content-type": "application/json"}}
        # nested JSON, under the body limit
        for raw in (b"[" * 20000 + b"]" * 20000, b'{"a":' * 5000 + b"1" + b"}" * 5000, b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)):
            failures += await expect_refused(client, db, caplog, ep.method, url, field="body", statuses=(400,), content=raw, **send)
        # control characters and over-long strings in every string field
        for path, max_length in string_fields(ep.body_type):
            for bad in CONTROL_SAMPLES[:1] if path != string_fields(ep.body_type)[0][0] else CONTROL_SAMPLES:
                body = set_path(valid, path, bad)
                failures += await expect_refused(client, db, caplog, ep.method, url, field=path, statuses=(422,), content=msgspec.json.encode(body), **send)
            # a lone surrogate cannot be stored as UTF-8: the decoder refuses it as malformed JSON (400)
            lone_surrogate = msgspec.json.encode(set_path(valid, path, "@@")).replace(b"@@", b"\\ud800")
            failures += await expect_refused(client, db, caplog, ep.method, url, field="", statuses=(400, 422), content=lone_surrogate, **send)
            if max_length:
                body = set_path(valid, path, "x" * (max_length + 1))
                failures += await expect_refused(client, db, caplog, ep.method, url, field=path, statuses=(422,), content=msgspec.json.encode(body), **send)
        # a NUL in an object key
        failures += await expect_refused(client, db, caplog, ep.method, url, field="body", statuses=(422,), content=msgspec.json.encode({**valid, "k\x00": 1}), **send)
        # wrong types, one field at a time, and all at once (every one named in the same 422)
        wrong_all = dict(valid)
        for key, value in valid.items():
            wrong_all[key] = _wrong_type(value)
            body = {**valid, key: _wrong_type(value)}
            failures += await expect_refused(client, db, caplog, ep.method, url, field=key, statuses=(422,), content=msgspec.json.encode(body), **send)
        r = await client.request(ep.method, url, content=msgspec.json.encode(wrong_all), **send)
        named = {e["field"] for e in r.json().get("errors", [])}
        if r.status_code != 422 or not set(valid) <= named:
            failures.append(f"{ep.method} {url}: all wrong at once -> {r.status_code}, named {sorted(named)} of {sorted(valid)}")
        # not a JSON object at all; wrong content types; 10 MB
        failures += await expect_refused(client, db, caplog, ep.method, url, field="", statuses=(400, 422), content=b'"just a string"', **send)
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            failures += await expect_refused(client, db, caplog, ep.method, url, field="content-type", statuses=(415,), content=msgspec.json.encode(valid), headers={**headers, "content-type": ctype})
        failures += await expect_refused(client, db, caplog, ep.method, url, field="", statuses=(413,), content=b'{"pad":"' + b"x" * TEN_MB + b'"}', **send)
    assert not failures, "\n".join(failures)


async def test_path_and_query_parameters_refuse_control_characters(app, admin_client, db, seeded, caplog):
    failures: list[str] = []
    client = admin_client
    for ep in endpoints(app):
        if ep.method != "GET":
            continue
        headers = {**_headers(ep, seeded), **({} if ep.path.startswith(("/api/", "/kiosk/api/")) else HTML)}
        for name, kind in ep.params.items():
            if kind is int:
                continue  # the router refuses a non-integer before any handler
            url = ep.url(**{name: "A%00B"})
            failures += await expect_refused(client, db, caplog, "GET", url, field=name, statuses=(422,), headers=headers)
        url = ep.url() + "?lang=vi%1B%5B2J"
        failures += await expect_refused(client, db, caplog, "GET", url, field="lang", statuses=(422,), headers=headers)
    assert not failures, "\n".join(failures)


async def test_forms_refuse_control_characters_in_every_field(app, admin_client, db, seeded, caplog):
    """Each POST form route, as a signed-in admin with a valid CSRF token: a control character in each of
    its fields (names read from the page that shows the form, when there is one) is a 422 naming it."""
    client = admin_client
    failures: list[str] = []
    page = await client.get("/admin", headers=HTML)
    token = CSRF_RE.search(page.text).group(1)
    for ep in form_endpoints(app):
        url = ep.url(**{n: seeded.receipt_token for n, k in ep.params.items() if n == "token"})
        shown = await client.get(url, headers=HTML) if not ep.params or "token" in ep.params else None
        fields = sorted(set(INPUT_NAME_RE.findall(shown.text))) if shown is not None and shown.status_code == 200 else []
        for name in fields or ["name"]:
            form = {"_csrf_token": token, name: "A\x00B"}
            failures += await expect_refused(client, db, caplog, "POST", url, field=name, statuses=(422,), data=form, headers={**HTML, "x-csrftoken": token})
        for name, kind in ep.params.items():
            if kind is not int:
                bad_url = ep.url(**{name: "A%00B"})
                failures += await expect_refused(client, db, caplog, "POST", bad_url, field=name, statuses=(422,), data={"_csrf_token": token}, headers={**HTML, "x-csrftoken": token})
    # the sign-in form, anonymous: the username that used to reach PostgreSQL with its NUL
    anonymous = await client.post("/admin/logout", data={"_csrf_token": token}, headers={**HTML, "x-csrftoken": token})
    assert anonymous.status_code in (200, 303)
    login_page = await client.get("/admin/login", headers=HTML)
    token = CSRF_RE.search(login_page.text).group(1)
    failures += await expect_refused(client, db, caplog, "POST", "/admin/login", field="username", statuses=(422,),
                                     data={"_csrf_token": token, "username": "ad\x00min", "password": "whatever password"}, headers=HTML)
    assert not failures, "\n".join(failures)


async def test_expired_forged_and_other_purpose_tokens(app, client, db, settings, seeded, caplog):
    keys = settings.signing_keys()
    kid, key_map = keys
    claims = receipts.verify_receipt_token(settings, seeded.receipt_token)
    expired = tokens.mint("receipt", claims.subject_id, date.today() - timedelta(days=2), kid, key_map)
    other_purpose = tokens.mint("campaign", claims.subject_id, date.today() + timedelta(days=10), kid, key_map)
    forged = seeded.receipt_token[:-3] + ("AAA" if not seeded.receipt_token.endswith("AAA") else "BBB")
    bad_tokens = {"expired": expired, "other-purpose": other_purpose, "forged": forged, "garbage": "not a token at all"}
    failures: list[str] = []
    # every route addressed by a token in its path
    for ep in endpoints(app):
        qr = ep.path.startswith("/qr/")  # /qr/{token}.svg: the token is the name before the extension
        if "token" not in ep.params and not qr:
            continue
        for label, bad in bad_tokens.items():
            value = bad + (".svg" if qr else "")
            url = ep.url(**{"token": value, "name": value}).replace(" ", "%20")
            kwargs = {"headers": HTML}
            if ep.method == "POST":
                page = await client.get("/admin/login", headers=HTML)
                csrf = CSRF_RE.search(page.text).group(1)
                kwargs = {"headers": {**HTML, "x-csrftoken": csrf}, "data": {"_csrf_token": csrf, "overall": "4"}}
            got = await expect_refused(client, db, caplog, ep.method, url, field="", statuses=(404, 410), **kwargs)
            failures += [f"[{label}] {f}" for f in got]
    # tokens in JSON bodies
    for label, bad in bad_tokens.items():
        body = sample(next(e for e in json_endpoints(app) if e.path == "/api/v1/responses").body_type, data=seeded) | {"token": bad[:64]}
        got = await expect_refused(client, db, caplog, "POST", "/api/v1/responses", field="", statuses=(404, 410), json=body)
        failures += [f"[{label}] {f}" for f in got]
        got = await expect_refused(client, db, caplog, "POST", "/kiosk/api/receipt-check", field="receipt_token", statuses=(422,),
                                   json={"receipt_token": bad}, headers=_headers(Endpoint("POST", "/kiosk/api/x", None, {}), seeded))
        failures += [f"[{label}] {f}" for f in got]
    # credentials of the wrong kind, forged, or with junk: 401, nothing written
    for ep in json_endpoints(app):
        if ep.path == "/kiosk/api/enrol" or ep.path == "/api/v1/responses":
            continue
        valid = sample(ep.body_type, data=seeded)
        wrong = seeded.device_credential if ep.path.startswith("/api/") else seeded.api_key
        for credential in (wrong, seeded.api_key[:-2] + "zz", "hl_\x00" + "0" * 40, seeded.receipt_token):
            got = await expect_refused(client, db, caplog, ep.method, ep.url(), field="", statuses=(401,), json=valid,
                                       headers={"authorization": f"Bearer {credential}"})
            failures += got
    assert not failures, "\n".join(failures)


def test_corpus_covers_every_post_route(app):
    """Every POST route is either a JSON endpoint or a form in the corpus above (none falls between)."""
    posts = {(e.method, e.path) for e in endpoints(app) if e.method == "POST"}
    covered = {(e.method, e.path) for e in json_endpoints(app)} | {(e.method, e.path) for e in form_endpoints(app)}
    assert posts == covered
