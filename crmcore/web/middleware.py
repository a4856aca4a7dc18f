"""ASGI middleware: refuse oversized bodies before anyone reads them, and send security headers."""

from __future__ import annotations

import json


class BodyLimit:
    """413 for a body over ``max_body`` bytes, by ``Content-Length`` or while it streams in."""

    def __init__(self, app, max_body: int):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
            if too_big:
                return await self._refuse(send)
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send):
        body = json.dumps(
            {"error": f"the request body is larger than {self.max_body} bytes", "field": None}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


#: with secure cookies the site is served over HTTPS: browsers are told to use nothing else for a
#: year (no includeSubDomains: other hosts of the same domain may not be on HTTPS)
HSTS = b"max-age=31536000"


class SecurityHeaders:
    """Content-Security-Policy (only this site's scripts and styles), no sniffing, no framing (but the lead
    form, which sets its own policy), no referrer leaks, no caching of pages with personal data,
    and, when the site runs behind HTTPS (``hsts``: secure cookies), Strict-Transport-Security."""

    def __init__(self, app, form_ancestors: str = "*", hsts: bool = False):
        self.app = app
        self.form_ancestors = form_ancestors
        self.hsts = hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if b"content-security-policy" not in present:
                    extra.append(
                        (
                            b"content-security-policy",
                            b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                            b"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'",
                        )
                    )
                    extra.append((b"x-frame-options", b"DENY"))
                if not path.startswith("/static/") and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                if self.hsts and b"strict-transport-security" not in present:
                    extra.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
