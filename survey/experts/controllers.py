"""HTTP routes of the expert survey (thin: parse, call the service, render).

Expert (no login; the personal token authorises): ``GET /e/{token}`` the list of units to rate,
``GET|POST /e/{token}/u/{code}`` one unit's form (saved as a draft, Post/Redirect/Get to the next unit),
``POST /e/{token}/gui`` submit once, ``GET /e/{token}/cam-on`` thank-you.  ``/E/...`` answers the same.
Admin (statistician): ``/admin/experts`` panels, members, who-rates-whom, invitations, letters, tracking.
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import date, timedelta

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from survey.admin.controllers import admin_page, redirect_to_login
from survey.experts import pages
from survey.experts import services as svc
from survey.experts.guards import STATISTICIAN, actor
from survey.imports.services import CsvImportError
from survey.par import methodology as meth
from survey.responses.validation import FieldError
from survey.settings import Settings
from survey.web import current_language, page

PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@contextmanager
def _missing(what: str = "đợt điều tra"):
    """A LookupError from the services (no such panel, member, invitation) is a 404 naming what is missing."""
    try:
        yield
    except LookupError:
        raise NotFoundException(f"Không tìm thấy {what}.") from None



def _paths(suffix: str = "") -> list[str]:
    return [f"/e/{{token:str}}{suffix}", f"/E/{{token:str}}{suffix}"]


def _q(request: Request) -> str:
    return f"?lang={current_language(request)}"


async def _open(request: Request, db_session: AsyncSession, token: str, settings: Settings, *, mark_opened: bool = False):
    try:
        return await svc.open_invitation(db_session, token, settings, mark_opened=mark_opened)
    except svc.InvitationExpired:
        return page(request, "expert/link_error.html", {"status": 410}, status_code=410)
    except svc.InvitationNotFound:
        return page(request, "expert/link_error.html", {"status": 404}, status_code=404)


def _already(request: Request, link: svc.ExpertLink) -> Template:
    return page(request, "expert/already.html", {"token": link.token}, status_code=409)


async def _overview(request: Request, db_session: AsyncSession, link: svc.ExpertLink, errors=(), status: int = 200) -> Template:
    lang = current_language(request)
    units = await svc.assigned_units(db_session, link)
    panel = await svc.get_panel(db_session, link.panel_id)
    nxt = next((u for u in units if not u.complete), None)
    ctx = {
        "token": link.token, "panel": {"name": panel.name, "year": panel.year, "expires_on": panel.invitations_expire_on},
        "units": [{"code": u.code, "name": u.name, "complete": u.complete, "answered": u.answered, "criteria": u.criteria} for u in units],
        "done": sum(u.complete for u in units), "next": nxt.code if nxt else None,
        "errors": [{"href": "#" + e.field, "message": e.message(lang)} for e in errors], "q": _q(request),
    }
    return page(request, "expert/start.html", ctx, status_code=status)


@get(_paths(), include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def start(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    link = await _open(request, db_session, token, settings, mark_opened=True)
    if isinstance(link, Template):
        return link
    if link.submitted:
        return _already(request, link)
    return await _overview(request, db_session, link)


async def _unit_page(request, db_session, link, code, values=None, errors=(), status=200) -> Template:
    lang = current_language(request)
    try:
        unit, m, saved = await svc.unit_for_rating(db_session, link, code)
    except svc.SelfRatingRefused:
        return page(request, "expert/own_unit.html", {"token": link.token, "q": _q(request)}, status_code=403)
    except svc.NotAssigned:
        raise NotFoundException("Ông/Bà không được phân công đánh giá đơn vị này.") from None
    if values is None:
        values = {f"c-{k}": str(v) for k, v in saved.items()}
    units = await svc.assigned_units(db_session, link)
    position = next(i for i, u in enumerate(units) if u.code == unit.code)
    form = pages.unit_form(m, unit, lang, values, errors)
    ctx = {"form": form, "token": link.token, "position": position + 1, "count": len(units),
           "action": f"/e/{link.token}/u/{unit.code}{_q(request)}", "q": _q(request), "lang_extra": ""}
    return page(request, "expert/unit.html", ctx, status_code=status)


@get(_paths("/u/{code:str}"), include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def unit_get(request: Request, token: FromPath[str], code: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template:
    link = await _open(request, db_session, token, settings, mark_opened=True)
    if isinstance(link, Template):
        return link
    if link.submitted:
        return _already(request, link)
    return await _unit_page(request, db_session, link, code)


@post(_paths("/u/{code:str}"), include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"}, status_code=303)
async def unit_post(request: Request, token: FromPath[str], code: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    link = await _open(request, db_session, token, settings)
    if isinstance(link, Template):
        return link
    if link.submitted:
        return _already(request, link)
    try:
        unit, m, _saved = await svc.unit_for_rating(db_session, link, code)
    except svc.SelfRatingRefused:
        return page(request, "expert/own_unit.html", {"token": link.token, "q": _q(request)}, status_code=403)
    except svc.NotAssigned:
        raise NotFoundException("Ông/Bà không được phân công đánh giá đơn vị này.") from None
    form = await request.form()
    values, raw, errors = svc.parse_ratings(m, form)
    if errors:
        return await _unit_page(request, db_session, link, code, raw, errors, status=400)
    try:
        await svc.save_unit(db_session, link, unit.code, values)
    except svc.AlreadySubmitted:
        return _already(request, link)
    units = await svc.assigned_units(db_session, link)
    position = next(i for i, u in enumerate(units) if u.code == unit.code)
    later = [u for u in units[position + 1:] + units[:position] if not u.complete]
    if form.get("then") != "overview" and later:
        return Redirect(f"/e/{link.token}/u/{later[0].code}{_q(request)}", status_code=303)
    return Redirect(f"/e/{link.token}{_q(request)}", status_code=303)


@post(_paths("/gui"), include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"}, status_code=303)
async def submit(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    link = await _open(request, db_session, token, settings)
    if isinstance(link, Template):
        return link
    if link.submitted:
        return _already(request, link)
    try:
        await svc.submit(db_session, link, current_language(request))
    except svc.ExpertInputError as exc:
        return await _overview(request, db_session, link, exc.errors, status=400)
    except svc.AlreadySubmitted:
        return _already(request, link)
    return Redirect(f"/e/{link.token}/cam-on{_q(request)}", status_code=303)


@get(_paths("/cam-on"), include_in_schema=False, response_headers=PRIVATE_HEADERS, opt={"access": "public"})
async def thanks(request: Request, token: FromPath[str], db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> Template | Redirect:
    link = await _open(request, db_session, token, settings)
    if isinstance(link, Template):
        return link
    if not link.submitted:
        return Redirect(f"/e/{link.token}{_q(request)}", status_code=303)
    return page(request, "expert/thanks.html")


# --------------------------------------------------------------------------- admin


def _errors(errors: list[FieldError], lang: str) -> list[dict[str, str]]:
    return [{"field": e.field, "message": e.message(lang)} for e in errors]


async def _index_page(request: Request, db_session: AsyncSession, errors=(), values=None, status: int = 200) -> Template:
    ctx = {
        "panels": await svc.list_panels(db_session),
        "methodologies": [{"id": m.id, "title": m.title.in_(current_language(request))} for m in meth.all_methodologies().values()],
        "errors": list(errors), "values": values or {"year": str(date.today().year), "name": "", "methodology_ids": list(meth.all_methodologies()),
                                                     "expires_on": (date.today() + timedelta(days=30)).isoformat()},
    }
    return admin_page(request, "admin/experts_index.html", ctx, status_code=status)


@get("/", name="experts:index", guards=STATISTICIAN)
async def admin_index(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _index_page(request, db_session)


@post("/", name="experts:create", guards=STATISTICIAN, status_code=303)
async def admin_create(request: Request, db_session: NamedDependency[AsyncSession]) -> Template | Redirect:
    form = await request.form()
    values = {"year": str(form.get("year") or ""), "name": str(form.get("name") or "").strip(),
              "methodology_ids": [v for v in form.getall("methodology_ids", []) if isinstance(v, str)],
              "expires_on": str(form.get("expires_on") or "")}
    errors = []
    try:
        year = int(values["year"])
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        errors.append({"field": "year", "message": "Năm không hợp lệ (ví dụ 2025)."})
    if not values["name"] or len(values["name"]) > 200:
        errors.append({"field": "name", "message": "Nhập tên đợt điều tra (tối đa 200 ký tự)."})
    try:
        expires = date.fromisoformat(values["expires_on"])
    except ValueError:
        errors.append({"field": "expires_on", "message": "Nhập hạn trả lời (ngày)."})
    unknown = [m for m in values["methodology_ids"] if m not in meth.all_methodologies()]
    if not values["methodology_ids"] or unknown:
        errors.append({"field": "methodology_ids", "message": "Chọn ít nhất một bộ chỉ số."})
    if not errors:
        try:
            panel_id = await svc.create_panel(db_session, year=year, name=values["name"], methodology_ids=values["methodology_ids"],
                                              expires_on=expires, actor=actor(request))
        except ValueError as exc:
            errors.append({"field": "methodology_ids", "message": str(exc)})
    if errors:
        return await _index_page(request, db_session, errors, values, status=400)
    return Redirect(f"/admin/experts/{panel_id}", status_code=303)


async def _panel_page(request: Request, db_session: AsyncSession, settings: Settings, panel_id: int, errors=(), status: int = 200, notice: str = "") -> Template:
    with _missing():
        panel = await svc.get_panel(db_session, panel_id)
    lang = current_language(request)
    ctx = {
        "panel": {"id": panel.id, "name": panel.name, "year": panel.year, "methodology_ids": panel.methodology_ids, "expires_on": panel.invitations_expire_on},
        "tracking": await svc.tracking(db_session, panel_id),
        "matrix": await svc.matrix(db_session, panel_id),
        "invitations": await svc.invitation_list(db_session, panel_id, settings, lang),
        "errors": list(errors), "notice": notice,
    }
    return admin_page(request, "admin/experts_panel.html", ctx, status_code=status)


@get("/{panel_id:int}", name="experts:panel", guards=STATISTICIAN)
async def admin_panel(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], panel_id: FromPath[int]) -> Template:
    return await _panel_page(request, db_session, settings, panel_id)


@post("/{panel_id:int}/members", name="experts:members", guards=STATISTICIAN, status_code=303)
async def admin_members(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], panel_id: FromPath[int]) -> Template | Redirect:
    form = await request.form()
    upload = form.get("file")
    data = await upload.read() if hasattr(upload, "read") else str(form.get("csv") or "").encode()
    with _missing():
        try:
            await svc.import_members(db_session, panel_id, data, actor(request))
        except CsvImportError as exc:
            return await _panel_page(request, db_session, settings, panel_id, [{"field": "file", "message": str(e)} for e in exc.errors], status=400)
    return Redirect(f"/admin/experts/{panel_id}", status_code=303)


@post("/{panel_id:int}/matrix", name="experts:matrix", guards=STATISTICIAN, status_code=303)
async def admin_matrix(request: Request, db_session: NamedDependency[AsyncSession], panel_id: FromPath[int]) -> Redirect:
    with _missing():
        await svc.generate_matrix(db_session, panel_id, actor(request))
    return Redirect(f"/admin/experts/{panel_id}#matrix", status_code=303)


@post("/{panel_id:int}/assignment", name="experts:assignment", guards=STATISTICIAN, status_code=303)
async def admin_assignment(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], panel_id: FromPath[int]) -> Template | Redirect:
    form = await request.form()
    try:
        member_id = int(str(form.get("member_id") or ""))
    except ValueError:
        member_id = 0
    with _missing("thành viên"):
        try:
            await svc.set_assignment(db_session, member_id, str(form.get("unit") or ""), rate=form.get("rate") == "1", actor=actor(request))
        except svc.ExpertInputError as exc:
            return await _panel_page(request, db_session, settings, panel_id, _errors(exc.errors, current_language(request)), status=400)
    return Redirect(f"/admin/experts/{panel_id}#matrix", status_code=303)


@post("/{panel_id:int}/invitations", name="experts:invite", guards=STATISTICIAN, status_code=303)
async def admin_invite(request: Request, db_session: NamedDependency[AsyncSession], panel_id: FromPath[int]) -> Redirect:
    with _missing():
        await svc.create_invitations(db_session, panel_id, actor(request))
    return Redirect(f"/admin/experts/{panel_id}#invitations", status_code=303)


@post("/{panel_id:int}/remind", name="experts:remind", guards=STATISTICIAN, status_code=303)
async def admin_remind(request: Request, db_session: NamedDependency[AsyncSession], panel_id: FromPath[int]) -> Redirect:
    with _missing():
        await svc.mark_reminded(db_session, panel_id, actor(request))
    return Redirect(f"/admin/experts/{panel_id}#invitations", status_code=303)


@get("/{panel_id:int}/reminders.csv", name="experts:reminders", guards=STATISTICIAN)
async def admin_reminders_csv(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], panel_id: FromPath[int]) -> Response:
    with _missing():
        rows = await svc.invitation_list(db_session, panel_id, settings, current_language(request), pending_only=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["invitation", "name", "title", "group", "unit", "contact", "status", "reminders", "link", "message"])
    for r in rows:
        w.writerow([r["id"], r["name"], r["title"], r["group"], r["unit"], r["contact"], r["status"], r["reminders"], r["url"], r["message"]])
    return Response(("\ufeff" + buf.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="panel-{panel_id}-reminders.csv"', "Cache-Control": "no-store"})


@get("/letters/{invitation_id:int}", name="experts:letter", guards=STATISTICIAN)
async def admin_letter(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], invitation_id: FromPath[int]) -> Template:
    with _missing("thư mời"):
        data = await svc.letter(db_session, invitation_id, settings, current_language(request))
    return admin_page(request, "expert/letter.html", {"letter": data})


experts_router = Router(
    path="/admin/experts",
    route_handlers=[admin_index, admin_create, admin_panel, admin_members, admin_matrix, admin_assignment, admin_invite, admin_remind,
                    admin_reminders_csv, admin_letter],
    exception_handlers={401: redirect_to_login},
    include_in_schema=False,
    tags=["admin"],
    opt={"access": "statistician"},
)

ROUTES: list = [start, unit_get, unit_post, submit, thanks, experts_router]
