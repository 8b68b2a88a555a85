"""API-key authentication for /api/v1/receipts: a Litestar guard plus its OpenAPI security schemes.

Clients send ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.  The guard runs before the
body is read, so an unauthenticated request gets 401 whatever it carries.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme

from survey.db.models import ApiClient
from survey.receipts.clients import KeyCheck, check_api_key

BEARER_SCHEME = "bearerApiKey"
HEADER_SCHEME = "headerApiKey"
#: either scheme is enough
API_SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}, {HEADER_SCHEME: []}]
OPENAPI_COMPONENTS = Components(
    security_schemes={
        BEARER_SCHEME: SecurityScheme(
            type="http",
            scheme="bearer",
            description="API key of a one-stop-shop system (hl_...), created by an administrator or "
            "`hailong create-api-client`: `Authorization: Bearer hl_...`",
        ),
        HEADER_SCHEME: SecurityScheme(
            type="apiKey",
            name="X-API-Key",
            security_scheme_in="header",
            description="The same API key in the X-API-Key header.",
        ),
    }
)

_MESSAGES = {
    KeyCheck.MISSING: "Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
    KeyCheck.INVALID: "Invalid API key.",
    KeyCheck.REVOKED: "This API key has been revoked; ask the administrator for a new one.",
}
STATE_KEY = "api_client"


def presented_key(connection: ASGIConnection) -> str | None:
    auth = connection.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.headers.get("x-api-key") or None


async def api_key_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """401 unless a valid, unrevoked key is presented; the client is kept in ``connection.state``."""
    async with connection.app.state.sessionmaker() as session:
        client, status = await check_api_key(session, presented_key(connection))
    if client is None:
        raise NotAuthorizedException(detail=_MESSAGES[status], headers={"WWW-Authenticate": 'Bearer realm="hailong"'})
    connection.state[STATE_KEY] = client


def provide_api_client(request: ASGIConnection) -> ApiClient:
    """The authenticated client (set by :func:`api_key_guard`). Detached: read id/name/unit_id only."""
    return request.state[STATE_KEY]
