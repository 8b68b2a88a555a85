"""Routes of the results pages (thin: read the query, check the unit scope, call the service, render).

``/admin/ket-qua`` (admins, statisticians; a unit manager is sent to their unit), ``/admin/ket-qua/don-vi/<code>``
(admins, statisticians, the unit's manager and the managers of the units above it: 403 for any other unit),
CSV downloads of every chart, and the public page ``/cong-khai`` (no sign-in, published runs only).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from survey.admin.controllers import admin_page, redirect_to_login
from survey.admin.guards import current_user, ensure_unit_visible, requires_role, unit_scope
from survey.results import charts, par_public, present, public, services, views
from survey.settings import Settings
from survey.web import current_language, page

NO_STORE = {"Cache-Control": "no-store"}


def formatters(lang: str, tz: str = "Asia/Ho_Chi_Minh") -> dict[str, Any]:
    return present.helpers(lang, tz)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def csv_response(body: bytes, filename: str, *, private: bool) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    headers["Cache-Control"] = "no-store" if private else "public, max-age=300"
    return Response(content=body, media_type="text/csv; charset=utf-8", headers=headers)


# --------------------------------------------------------------------------- staff pages


@get("/", name="results:dashboard", guards=[requires_role("unit_manager")], opt={"access": ("statistician", "unit_manager")})
async def dashboard(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    user = current_user(request)
    scope = await unit_scope(db_session, user)
    if user.role == "unit_manager":
        return Redirect(f"/admin/ket-qua/don-vi/{scope.home_code}", status_code=303)
    lang = current_language(request)
    q = request.query_params
    data = await services.dashboard(db_session, settings, run_id=_int(q.get("run")), unit_code=q.get("unit") or None, lang=lang, scope=scope)
    if data is None and q.get("run"):
        raise NotFoundException("Không có lần tính chỉ số này.")
    return admin_page(request, "admin/results.html", {**formatters(lang), "data": data})


@get("/don-vi/{code:str}", name="results:unit", guards=[requires_role("unit_manager")], opt={"access": ("statistician", "unit_manager")})
async def unit_page(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], code: FromPath[str]) -> Template:
    lang = current_language(request)
    scope = await unit_scope(db_session, current_user(request))
    data = await services.unit_page(db_session, settings, code, run_id=_int(request.query_params.get("run")), lang=lang)
    if data is None:
        raise NotFoundException("Không có đơn vị này.")
    ensure_unit_visible(scope, code)
    data["scope_home"] = scope.home_code
    return admin_page(request, "admin/results_unit.html", {**formatters(lang), "data": data})


@get("/csv/{run_id:int}/{file:str}", name="results:csv", guards=[requires_role("statistician")], opt={"access": "statistician"})
async def chart_csv(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], run_id: FromPath[int], file: FromPath[str]) -> Response:
    scope = await unit_scope(db_session, current_user(request))
    data = await services.dashboard(db_session, settings, run_id=run_id, unit_code=request.query_params.get("unit") or None, lang=current_language(request), scope=scope)
    if data is None:
        raise NotFoundException("Không có lần tính chỉ số này.")
    body = _dashboard_csv(data, file)
    if body is None:
        raise NotFoundException("Không có bảng số liệu này.")
    return csv_response(body, f"ket-qua-{run_id}-{file}", private=True)


def _dashboard_csv(data: dict[str, Any], name: str) -> bytes | None:
    for table in data["leagues"]:
        if name == f"xep-hang-{table.group}.csv":
            return charts.league_csv(table)
    if name == "ban-do-nhiet.csv":
        return charts.heat_csv(data["heat"])
    if name == "xu-huong.csv":
        return charts.trend_csv(data["trend"])
    return None


UNIT_CSV = {"tru-cot.csv": "pillars", "mong-doi.csv": "expectations"}


@get("/csv/{run_id:int}/don-vi/{code:str}/{file:str}", name="results:unit-csv", guards=[requires_role("unit_manager")], opt={"access": ("statistician", "unit_manager")})
async def unit_csv(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], run_id: FromPath[int], code: FromPath[str], file: FromPath[str]) -> Response:
    scope = await unit_scope(db_session, current_user(request))
    data = await services.unit_page(db_session, settings, code, run_id=run_id, lang=current_language(request))
    if data is None or data.get("run") is None:
        raise NotFoundException("Không có đơn vị hoặc lần tính chỉ số này.")
    ensure_unit_visible(scope, code)
    if file == "tieu-chi.csv":
        rows = [r for group in data["items_by_pillar"] for r in group["rows"]]
    elif file in UNIT_CSV:
        rows = data[UNIT_CSV[file]]
    else:
        raise NotFoundException("Không có bảng số liệu này.")
    return csv_response(charts.rows_csv(rows), f"ket-qua-{run_id}-{code}-{file}", private=True)


results_router = Router(
    path="/admin/ket-qua",
    route_handlers=[dashboard, unit_page, chart_csv, unit_csv],
    exception_handlers={401: redirect_to_login},
    include_in_schema=False,
    tags=["results"],
)


# --------------------------------------------------------------------------- public page (no sign-in)


@get("/", name="public:home", opt={"access": "public"})
async def public_home(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    lang = current_language(request)
    data = await public.page_data(db_session, settings, lang=lang)
    par = await par_public.public_sections(db_session, lang=lang)  # published PAR Index rankings only
    resp = page(request, "public/cong_khai.html", {**formatters(lang), "data": data, "par": par, "open_data_url": "/cong-khai/du-lieu-mo.csv" if data else None})
    resp.headers.update({"Cache-Control": "public, max-age=60"})
    return resp


@get("/csv/{file:str}", name="public:csv", opt={"access": "public"})
async def public_csv(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], file: FromPath[str]) -> Response:
    if file.startswith(par_public.CSV_PREFIX):  # the published PAR Index ranking of one block
        found = par_public.find_csv(await par_public.public_sections(db_session, lang=current_language(request)), file)
        if found is None:
            raise NotFoundException("Không có bảng xếp hạng Chỉ số CCHC này.")
        body, sec = found
        return csv_response(body, f"chi-so-cchc-{sec['year']}-{sec['block']}.csv", private=False)
    data = await public.page_data(db_session, settings, lang=current_language(request))
    if data is None:
        raise NotFoundException("Chưa có kết quả nào được công bố.")
    for table in data["leagues"]:
        if file == f"xep-hang-{table.group}.csv":
            return csv_response(charts.league_csv(table), f"cong-khai-{data['run'].id}-{file}", private=False)
    raise NotFoundException("Không có bảng số liệu này.")


@get("/du-lieu-mo.csv", name="public:open-data", opt={"access": "public"})
async def public_open_data(db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Response:
    """The open-data CSV (``survey.indices.exports``) of the latest published run: every cell, suppressed ones empty."""
    body, run_id = await public.open_data(db_session)
    if body is None:
        raise NotFoundException("Chưa có kết quả nào được công bố.")
    return csv_response(body, f"du-lieu-mo-hai-long-{run_id}.csv", private=False)


public_router = Router(path="/cong-khai", route_handlers=[public_home, public_csv, public_open_data], include_in_schema=False, tags=["public"])

ROUTES: list = [results_router, public_router]

__all__ = ["ROUTES", "views"]
