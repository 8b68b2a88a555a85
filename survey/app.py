"""Composition root: ``create_app(settings)`` builds the Litestar application.

This is the only module of ``survey`` that names ``kiosk`` (to register its routes).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from survey.db.engine import make_engine, make_sessionmaker, pool_options
from survey.deps import provide_db_session, provide_settings
from survey.errors import EXCEPTION_HANDLERS
from survey.inputs import check_request
from survey.logs import litestar_logging_config
from survey.security.edge import EdgeMiddleware
from survey.security.headers import make_before_send
from survey.security.net import parse_trusted_proxies
from survey.settings import Settings

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"


def templates_dir() -> Path:
    """templates/ at the repository root (editable install) or shipped inside the wheel."""
    for candidate in (PACKAGE_DIR / "_templates", PACKAGE_DIR.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("templates directory not found")


def _route_handlers() -> list:
    from kiosk.controllers import ROUTES as kiosk_routes
    from survey.admin.controllers import ROUTES as admin_routes
    from survey.campaigns.controllers import ROUTES as campaign_routes
    from survey.experts.controllers import ROUTES as expert_routes
    from survey.health import ROUTES as health_routes
    from survey.metrics import ROUTES as metrics_routes
    from survey.par.controllers import ROUTES as par_routes
    from survey.receipts.controllers import ROUTES as receipt_routes
    from survey.reports.controllers import ROUTES as report_routes
    from survey.responses.controllers import ROUTES as response_routes
    from survey.results.controllers import ROUTES as results_routes

    return [
        *health_routes,
        *receipt_routes,
        *response_routes,
        *admin_routes,
        *campaign_routes,
        *kiosk_routes,
        *metrics_routes,
        *expert_routes,
        *par_routes,
        *results_routes,
        *report_routes,
        create_static_files_router(path="/static", directories=[STATIC_DIR], name="static", opt={"access": "public"}),
        *_docs_routes(),
    ]


def _docs_routes() -> list:
    from survey.apidocs import assets_router

    return [assets_router()]


def _compression():
    """brotli for browsers that accept it, else gzip; small bodies (< 500 bytes) go as they are."""
    from litestar.config.compression import CompressionConfig

    return CompressionConfig(
        backend="brotli", brotli_gzip_fallback=True, minimum_size=500, brotli_quality=5,
        exclude_opt_key="skip_compression",  # routes whose answers are always small (the intake API)
    )


def _openapi_components():
    from survey.receipts.auth import OPENAPI_COMPONENTS  # API-key security schemes

    return OPENAPI_COMPONENTS


def _openapi_render_plugins() -> list:
    from survey.apidocs import OfflineSwaggerPlugin

    return [OfflineSwaggerPlugin(path="/")]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    settings.validate()  # fail fast on settings the app cannot work with (e.g. HAILONG_TOKEN_TTL_DAYS)
    settings.signing_keys()  # ... on a bad key configuration
    parse_trusted_proxies(settings.trusted_proxies)  # ... and on a bad proxy list
    engine = make_engine(settings.database_url, **pool_options(settings))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await engine.dispose()

    app = Litestar(
        route_handlers=_route_handlers(),
        dependencies={"db_session": Provide(provide_db_session), "settings": Provide(provide_settings, sync_to_thread=False)},
        template_config=TemplateConfig(directory=templates_dir(), engine=JinjaTemplateEngine),
        # one edge middleware: request id for the logs, metrics, then (pages, not the token-authorised JSON
        # APIs) the staff session (server-side) and CSRF bound to that session (survey/security/edge.py)
        middleware=[
            DefineMiddleware(
                EdgeMiddleware,
                csrf_config=CSRFConfig(
                    secret=settings.secret_key,
                    cookie_name="hl_csrf",
                    cookie_secure=settings.secure_cookies,
                    cookie_httponly=True,
                    exclude=["/api/", "/kiosk/api/", "/schema"],
                ),
            ),
        ],
        before_send=[make_before_send(https=settings.secure_cookies)],
        logging_config=litestar_logging_config(),
        openapi_config=OpenAPIConfig(
            title="Hài Lòng API",
            version="1.0.0",
            description="Receipts from one-stop-shop systems, survey responses, kiosk ingest.",
            path="/schema",
            components=[_openapi_components()],
            render_plugins=_openapi_render_plugins(),
        ),
        compression_config=_compression(),
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_request,  # survey/inputs.py: control characters, JSON depth and shape, content type
        request_max_body_size=settings.max_body_bytes,
        lifespan=[lifespan],
        debug=settings.debug,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.metric_sources = _metric_sources()
    return app


def _metric_sources() -> list:
    """Figures other packages add to /metrics (the kiosk queues): named here, the composition root."""
    from kiosk.metrics import queue_lengths

    return [queue_lengths]
