"""Security headers on every HTTP response (security review M8, M6).

The pages load their scripts and styles from `/static` and write user text with
`textContent`, so the policy can forbid every inline script: an injected `<script>` or
`onerror=` runs nowhere, and the bidder's token and envelope key stay out of its reach.
The printable record carries its own `<style>`, allowed by its hash. No page may be framed
(clickjacking a bid button), no response is sniffed into another type, and no address
leaves in a Referer. Behind TLS, Strict-Transport-Security keeps browsers on HTTPS.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.web.record_page import STYLE

__all__ = ["POLICY", "SecurityHeaders"]

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' 'sha256-{_STYLE_HASH}'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # for browsers older than frame-ancestors
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """ASGI middleware: adds the headers above to every HTTP response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*_HEADERS, _HSTS] if scope.get("scheme") == "https" else _HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
