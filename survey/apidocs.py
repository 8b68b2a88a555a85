"""The API docs page at ``/schema``: Swagger UI served from files shipped in a Python package.

The viewer's script and stylesheet come from ``openapi_ui_bundles`` (installed with the project) under
``/static/api-docs/``; nothing is loaded from another origin, so the page works offline and under a strict
Content-Security-Policy (no inline script: the viewer is started by ``/static/api-docs.js``).  The JSON
document stays at ``/schema/openapi.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/static/api-docs"


def assets_dir() -> Path:
    from openapi_ui_bundles.swagger_ui import static_path

    return Path(static_path)


class OfflineSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI from local files; the spec is fetched from ``/schema/openapi.json``."""

    def __init__(self, path: str = "/") -> None:
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            path=path,
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API"))
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title}</title>{self.favicon}"
            f"<link rel='stylesheet' href='{self.css_url}'>"
            "<link rel='stylesheet' href='/static/api-docs.css'>"
            f"<script src='{self.js_url}' defer></script>"
            f"<script src='{self.standalone_preset_js_url}' defer></script>"
            "<script src='/static/api-docs.js' defer></script>"
            "</head><body><div id='swagger-ui' data-spec-url='/schema/openapi.json'></div></body></html>"
        ).encode()


def assets_router():
    return create_static_files_router(path=ASSETS_PATH, directories=[assets_dir()], name="api-docs-assets", include_in_schema=False, opt={"access": "public"})
