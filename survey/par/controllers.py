"""Admin pages of the PAR Index (thin): methodologies, appraisal import, composition and ranking per block.

``/admin/par`` overview and forms; ``/admin/par/methodology/{id}``; ``POST /admin/par/appraisal`` (CSV) and
``/admin/par/appraisal?year=&methodology=`` (self vs council); ``POST /admin/par/compose``;
``/admin/par/compositions/{id}`` (ranking table, ``/ranking.csv``), ``POST .../publish``.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from survey.admin.controllers import admin_page, redirect_to_login
from survey.experts import services as experts
from survey.imports.services import CsvImportError
from survey.par import methodology as meth
from survey.par import services as svc
from survey.par.guards import STATISTICIAN, actor
from survey.web import current_language


async def _index_runs(db_session: AsyncSession) -> list:
    try:
        from survey.indices import services as indices
    except ModuleNotFoundError:
        return []
    return await indices.list_runs(db_session)


def block_label(c, lang: str) -> str | None:
    """The label of a composition's block in ``lang``, from its methodology (None when the file is no longer
    shipped: the page then shows the Vietnamese label the composition stored)."""
    try:
        m = meth.get(c.methodology_id)
    except LookupError:
        return None
    return next((b.label.in_(lang) for b in m.blocks if b.code == c.block), None)


async def _index(request: Request, db_session: AsyncSession, *, errors=(), values=None, status: int = 200) -> Template:
    lang = current_language(request)
    ms = list(meth.all_methodologies().values())
    values = values or {}
    ctx = {
        "methodologies": [{"id": m.id, "title": m.title.in_(lang), "blocks": [{"code": b.code, "label": b.label.in_(lang)} for b in m.blocks],
                           "components": {k: m.maximum(k) for k in meth.COMPONENTS}} for m in ms],
        "compositions": await svc.list_compositions(db_session),
        "block_label": block_label,
        "runs": await _index_runs(db_session),
        "panels": await experts.list_panels(db_session),
        "errors": list(errors),
        "values": {"year": str(date.today().year), "methodology": ms[0].id if ms else "", **values},
    }
    return admin_page(request, "admin/par_index.html", ctx, status_code=status)


@get("/", name="par:index", guards=STATISTICIAN)
async def index(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _index(request, db_session)


@get("/methodology/{mid:str}", name="par:methodology", guards=STATISTICIAN)
async def methodology_page(request: Request, mid: FromPath[str]) -> Template:
    try:
        m = meth.get(mid)
    except LookupError:
        raise NotFoundException("Không có bộ chỉ số này.") from None
    return admin_page(request, "admin/par_methodology.html", {"m": m.summary(current_language(request)), "notes": m.notes})


def _year(raw: object) -> int | None:
    try:
        y = int(str(raw))
    except ValueError:
        return None
    return y if 2000 <= y <= 2100 else None


@post("/appraisal", name="par:appraisal-import", guards=STATISTICIAN, status_code=303)
async def appraisal_import(request: Request, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
    form = await request.form()
    year, mid = _year(form.get("year")), str(form.get("methodology") or "")
    values = {"year": str(form.get("year") or ""), "methodology": mid}
    errors = []
    if year is None:
        errors.append({"field": "year", "message": "Năm không hợp lệ (ví dụ 2025)."})
    if mid not in meth.all_methodologies():
        errors.append({"field": "methodology", "message": "Chọn một bộ chỉ số."})
    upload = form.get("file")
    data = await upload.read() if hasattr(upload, "read") else b""
    if not data:
        errors.append({"field": "file", "message": "Chọn tệp CSV điểm thẩm định."})
    if not errors:
        try:
            await svc.import_appraisal(db_session, data, year=year, methodology_id=mid, actor=actor(request))
        except CsvImportError as exc:
            errors = [{"field": "file", "message": str(e)} for e in exc.errors]
    if errors:
        return await _index(request, db_session, errors=errors, values=values, status=400)
    return Redirect(f"/admin/par/appraisal?year={year}&methodology={mid}", status_code=303)


@get("/appraisal", name="par:appraisal", guards=STATISTICIAN)
async def appraisal_page(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    year = _year(request.query_params.get("year"))
    mid = request.query_params.get("methodology") or ""
    if year is None or mid not in meth.all_methodologies():
        raise NotFoundException("Chọn năm và bộ chỉ số.")
    rows = await svc.appraisal_rows(db_session, year=year, methodology_id=mid, lang=current_language(request))
    return admin_page(request, "admin/par_appraisal.html", {"year": year, "methodology": mid, "units": svc.appraisal_by_unit(rows)})


@post("/compose", name="par:compose", guards=STATISTICIAN, status_code=303)
async def compose(request: Request, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
    form = await request.form()
    year = _year(form.get("year"))
    mid, block = str(form.get("methodology") or ""), str(form.get("block") or "")
    if ":" in block:  # the form's select names "methodology:block"
        mid, _, block = block.partition(":")
    run_raw = str(form.get("index_run_id") or "")
    values = {"year": str(form.get("year") or ""), "methodology": mid, "block": block, "index_run_id": run_raw}
    errors = []
    if year is None:
        errors.append({"field": "compose-year", "message": "Năm không hợp lệ (ví dụ 2025)."})
    run_id = int(run_raw) if run_raw.isdigit() else None
    if mid not in meth.all_methodologies():
        errors.append({"field": "compose-methodology", "message": "Chọn một bộ chỉ số."})
    if not errors:
        try:
            comp = await svc.compose_block(db_session, year=year, methodology_id=mid, block=block, actor=actor(request), index_run_id=run_id)
        except (svc.ParInputError, LookupError) as exc:
            errors.append({"field": "compose-block", "message": str(exc)})
    if errors:
        return await _index(request, db_session, errors=errors, values=values, status=400)
    return Redirect(f"/admin/par/compositions/{comp.id}", status_code=303)


async def _composition(db_session: AsyncSession, cid: int):
    try:
        return await svc.get_composition(db_session, cid)
    except LookupError:
        raise NotFoundException("Không tìm thấy bảng xếp hạng.") from None


@get("/compositions/{cid:int}", name="par:composition", guards=STATISTICIAN)
async def composition_page(request: Request, db_session: NamedDependency[AsyncSession], cid: FromPath[int]) -> Template:
    comp = await _composition(db_session, cid)
    m = meth.get(comp.methodology_id)
    lang = current_language(request)
    crits = [{"id": c.id, "label": c.label.in_(lang), "source": c.source, "max_points": c.max_points} for c in m.criteria]
    return admin_page(request, "admin/par_composition.html", {"c": comp, "criteria": crits, "classes": m.summary(lang)["classes"],
                                                              "block": block_label(comp, lang)})


@post("/compositions/{cid:int}/publish", name="par:publish", guards=STATISTICIAN, status_code=303)
async def publish(request: Request, db_session: NamedDependency[AsyncSession], cid: FromPath[int]) -> Template | Redirect:
    await _composition(db_session, cid)
    try:
        await svc.publish_composition(db_session, cid, actor(request))
    except svc.ParInputError as exc:
        comp = await _composition(db_session, cid)
        m = meth.get(comp.methodology_id)
        lang = current_language(request)
        crits = [{"id": c.id, "label": c.label.in_(lang), "source": c.source, "max_points": c.max_points} for c in m.criteria]
        return admin_page(request, "admin/par_composition.html", {"c": comp, "criteria": crits, "classes": m.summary(lang)["classes"],
                                                                  "block": block_label(comp, lang), "errors": [{"field": "publish", "message": str(exc)}]}, status_code=409)
    return Redirect(f"/admin/par/compositions/{cid}", status_code=303)


@get("/compositions/{cid:int}/ranking.csv", name="par:composition-csv", guards=STATISTICIAN)
async def composition_csv(db_session: NamedDependency[AsyncSession], cid: FromPath[int]) -> Response:
    comp = await _composition(db_session, cid)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["rank", "unit_code", "unit_name", "total", "appraisal", "survey", "satisfaction", "bonus", "penalty",
                "appraisal_rank", "previous_rank", "rank_change", "class"])
    for r in comp.results:
        w.writerow([r.rank, r.unit_code, r.unit_name, f"{r.total:.2f}", f"{r.appraisal:.2f}", f"{r.survey:.2f}", f"{r.satisfaction:.2f}",
                    f"{r.bonus:.2f}", f"{r.penalty:.2f}", r.appraisal_rank, r.previous_rank or "", r.rank_change if r.rank_change is not None else "", r.unit_class])
    return Response(("\ufeff" + buf.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="par-{comp.year}-{comp.block}-{comp.id}.csv"', "Cache-Control": "no-store"})


par_router = Router(
    path="/admin/par",
    route_handlers=[index, methodology_page, appraisal_import, appraisal_page, compose, composition_page, publish, composition_csv],
    exception_handlers={401: redirect_to_login},
    include_in_schema=False,
    tags=["admin"],
    opt={"access": "statistician"},
)

ROUTES: list = [par_router]
