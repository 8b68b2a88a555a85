"""CSRF protection tied to the staff session.

Litestar's double-submit scheme (a signed random token in the ``hl_csrf`` cookie, repeated in the
form field ``_csrf_token`` or the ``x-csrftoken`` header), with one change: the HMAC also covers the
session id (``scope["session"]["sid"]``, empty when nobody is signed in).  A token minted for one
session (or before sign-in) does not verify in another, so a token planted in the browser or read
from another session is useless; after sign-in or sign-out the next page gets a fresh token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from secrets import compare_digest
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_BYTES, CSRF_SECRET_LENGTH, CSRFMiddleware
from litestar.utils.scope.state import ScopeState


def _binding(scope) -> str:
    return str((scope.get("session") or {}).get("sid") or "")


class SessionCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRFMiddleware with the token's HMAC bound to the current staff session."""

    def __init__(self, app, config: CSRFConfig) -> None:
        super().__init__(app, config)

    def _sign(self, value: str, binding: str) -> str:
        return hmac.new(self.config.secret.encode(), f"{value}|{binding}".encode(), hashlib.sha256).hexdigest()

    def mint(self, binding: str) -> str:
        value = secrets.token_hex(CSRF_SECRET_BYTES)
        return value + self._sign(value, binding)

    def verify(self, token: str | None, binding: str) -> str | None:
        """The random part of a well-formed token signed for ``binding``, else None."""
        if not token or len(token) != CSRF_SECRET_LENGTH + 64:
            return None
        value, mac = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        return value if compare_digest(mac, self._sign(value, binding)) else None

    async def __call__(self, scope, receive, send) -> None:
        from litestar.middleware._utils import should_bypass_middleware

        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
            scope=scope, scopes=self.scopes, exclude_opt_key=self.config.exclude_from_csrf_key, exclude_path_pattern=self.exclude
        ):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        binding = _binding(scope)
        cookie_token = request.cookies.get(self.config.cookie_name)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            if self.verify(cookie_token, binding) is not None:
                state.csrf_token = cookie_token
                await self.app(scope, receive, send)
            else:  # none yet, or minted for another session: a new one for this session
                token = state.csrf_token = self.mint(binding)
                await self.app(scope, receive, self.create_send_wrapper(send=send, csrf_cookie=None, token=token))
            return
        sent = request.headers.get(self.config.header_name)
        content_type, _ = request.content_type
        if not sent and content_type in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
            sent = (await request.form()).get("_csrf_token")
        cookie_value = self.verify(cookie_token, binding)
        sent_value = self.verify(sent if isinstance(sent, str) else None, binding)
        if cookie_value is None or sent_value is None or not compare_digest(cookie_value, sent_value):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = sent
        await self.app(scope, receive, send)
