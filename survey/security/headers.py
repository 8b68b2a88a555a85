"""Security headers on every response (a ``before_send`` hook, so 404s of unknown paths get them too).

- ``Content-Security-Policy``: only this origin; scripts and styles from our files or carrying the
  per-response nonce (``csp_nonce`` in every template context, see :func:`csp_nonce`); no inline event
  handlers, no ``style=`` attributes, no plugins, no ``<base>``, forms post only here, no framing.
- ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Cross-Origin-Opener-Policy: same-origin``, ``Permissions-Policy`` (camera only for the kiosk's
  receipt scanner), ``Strict-Transport-Security`` when cookies are Secure (served over HTTPS).
- ``Referrer-Policy``: ``no-referrer`` on the token-addressed pages (``/r``, ``/c``, ``/e``, ``/qr``,
  ``/slip``: the token in the URL must not reach another site), ``same-origin`` elsewhere.
- ``X-Request-ID``: the request id of the logs (``survey.logs``).
"""

from __future__ import annotations

import secrets

from litestar.datastructures import MutableScopeHeaders

from survey.logs import request_id_for

NONCE_KEY = "hl_csp_nonce"
#: token-addressed pages: their URLs are secrets
TOKEN_PREFIXES = ("/r/", "/c/", "/e/", "/qr/", "/slip/")
#: the kiosk shell uses the camera to scan receipts
CAMERA_PREFIXES = ("/kiosk",)  # the shell is /kiosk/ (the routed path may lose the slash)


def csp_nonce(scope) -> str:
    """The CSP nonce of this response (created on first use, kept in the ASGI scope)."""
    nonce = scope.get(NONCE_KEY)
    if nonce is None:
        nonce = scope[NONCE_KEY] = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "media-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(path: str, *, https: bool, nonce: str) -> dict[str, str]:
    lower = path.lower()
    headers = {
        "content-security-policy": content_security_policy(nonce),
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "cross-origin-opener-policy": "same-origin",
        "referrer-policy": "no-referrer" if lower.startswith(TOKEN_PREFIXES) else "same-origin",
        "permissions-policy": ("camera=(self)" if lower.startswith(CAMERA_PREFIXES) else "camera=()") + ", microphone=(), geolocation=(), payment=()",
    }
    if https:
        headers["strict-transport-security"] = "max-age=31536000"
    return headers


def make_before_send(https: bool):
    """The ``before_send`` hook for ``Litestar(before_send=[...])``."""

    async def add_security_headers(message, scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in security_headers(scope.get("path", "/"), https=https, nonce=csp_nonce(scope)).items():
            if name == "referrer-policy" and value != "no-referrer" and headers.get(name):
                continue  # a page may choose a stricter policy
            headers[name] = value
        headers["x-request-id"] = request_id_for(scope)

    return add_security_headers
