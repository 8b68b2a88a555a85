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


def _encoded(path_lower: str, https: bool) -> tuple[tuple[tuple[bytes, bytes], ...], bytes, bytes, bytes, frozenset[bytes]]:
    """For :func:`make_before_send`: the fixed headers of such a path as bytes, the CSP around its nonce, and
    the names it sets (the same headers as :func:`security_headers`, in the same order)."""
    marker = "\x00"
    headers = security_headers(path_lower, https=https, nonce=marker)
    csp_before, csp_middle, csp_after = headers.pop("content-security-policy").split(marker)
    fixed = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    names = frozenset([b"content-security-policy", b"x-request-id", *(k for k, _ in fixed)])
    return fixed, csp_before.encode(), csp_middle.encode(), csp_after.encode(), names


def make_before_send(https: bool):
    """The ``before_send`` hook for ``Litestar(before_send=[...])``: :func:`security_headers` and ``X-Request-ID``
    replace any the response set (a page may keep a stricter ``Referrer-Policy`` than ``same-origin``).

    The headers of each kind of path are encoded once; each response only splices in its nonce and request id."""
    # (token-addressed page, camera page) -> its headers; no path starts with both prefixes
    kinds = {key: _encoded(path, https) for key, path in {(False, False): "/", (True, False): "/r/", (False, True): "/kiosk"}.items()}

    async def add_security_headers(message, scope) -> None:
        if message["type"] != "http.response.start":
            return
        lower = scope.get("path", "/").lower()
        fixed, csp_before, csp_middle, csp_after, names = kinds[(lower.startswith(TOKEN_PREFIXES), lower.startswith(CAMERA_PREFIXES))]
        nonce = csp_nonce(scope).encode("latin-1")
        raw = message.get("headers") or ()
        keep_page_referrer = False
        for pair in raw:
            if pair[0].lower() == b"referrer-policy":  # a page may choose a stricter policy than same-origin
                keep_page_referrer = bool(pair[1]) and not lower.startswith(TOKEN_PREFIXES)
                break
        ours = [(b"content-security-policy", csp_before + nonce + csp_middle + nonce + csp_after), *fixed]
        ours.append((b"x-request-id", request_id_for(scope).encode("latin-1")))
        if keep_page_referrer:
            ours = [pair for pair in ours if pair[0] != b"referrer-policy"]
        by_name = dict(ours)
        kept = []
        for pair in raw:  # as setting each header would: the first one of a name takes our value, later ones go
            name = pair[0].lower()
            if name not in names or (keep_page_referrer and name == b"referrer-policy"):
                kept.append(pair)
            elif name in by_name:
                kept.append((name, by_name.pop(name)))
        kept.extend((name, value) for name, value in ours if name in by_name)
        message["headers"] = kept

    return add_security_headers
