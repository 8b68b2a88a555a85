"""Routes of the published report: HTML and PDF, for staff (any run, drafts marked) and the public (published runs only)."""

from __future__ import annotations

import anyio
from litestar import Request, Response, Router, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from survey.admin.controllers import redirect_to_login
from survey.admin.guards import requires_role
from survey.reports import pdf, services
from survey.settings import Settings
from survey.web import current_language


def _parse(ref: str) -> tuple[int, bool]:
    """``12`` -> (12, HTML); ``12.pdf`` -> (12, PDF); anything else is a 404."""
    number, dot, ext = ref.partition(".")
    if not number.isdigit() or len(number) > 9 or (dot and ext != "pdf"):
        raise NotFoundException("Không có báo cáo này.")
    return int(number), bool(dot)


async def _report(request: Request, session: AsyncSession, settings: Settings, ref: str, *, public: bool) -> Response:
    run_id, as_pdf = _parse(ref)
    lang = current_language(request)
    try:
        data = await services.report_data(session, settings, run_id, lang=lang, published_only=public)
    except services.ReportNotFound:
        raise NotFoundException("Không có báo cáo này (hoặc chưa được công bố).") from None
    cache = "public, max-age=300" if public else "no-store"
    base = "/cong-khai/bao-cao" if public else "/admin/ket-qua/bao-cao"
    if not as_pdf:
        html = services.render_html(data, lang=lang, tz=settings.timezone, pdf=False, pdf_url=f"{base}/{run_id}.pdf")
        return Response(content=html, media_type="text/html; charset=utf-8", headers={"Cache-Control": cache})
    if not pdf.available():
        return Response(
            content="Không tạo được PDF trên máy chủ này (thiếu thư viện pango cho WeasyPrint). Xem bản HTML của báo cáo.",
            media_type="text/plain; charset=utf-8", status_code=503,
        )
    run = data["run"]
    key = (run_id, run.status, str(run.published_at), lang, settings.timezone, tuple(p["id"] for p in data.get("par", ())))

    def make() -> bytes:
        return pdf.html_to_pdf(services.render_html(data, lang=lang, tz=settings.timezone, pdf=True))

    body = await anyio.to_thread.run_sync(lambda: pdf.cached_pdf(key, make))
    filename = f"bao-cao-hai-long-{run.period_start:%Y%m%d}-{run.period_end:%Y%m%d}-{run_id}.pdf"
    return Response(content=body, media_type="application/pdf", headers={"Cache-Control": cache, "Content-Disposition": f'inline; filename="{filename}"'})


@get("/bao-cao/{ref:str}", name="reports:staff", guards=[requires_role("statistician")], opt={"access": "statistician"})
async def staff_report(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], ref: FromPath[str]) -> Response:
    return await _report(request, db_session, settings, ref, public=False)


@get("/bao-cao/{ref:str}", name="reports:public", opt={"access": "public"})
async def public_report(request: Request, db_session: NamedDependency[AsyncSession], settings: NamedDependency[Settings], ref: FromPath[str]) -> Response:
    return await _report(request, db_session, settings, ref, public=True)


ROUTES: list = [
    Router(path="/admin/ket-qua", route_handlers=[staff_report], exception_handlers={401: redirect_to_login}, include_in_schema=False, tags=["reports"]),
    Router(path="/cong-khai", route_handlers=[public_report], include_in_schema=False, tags=["reports"]),
]
