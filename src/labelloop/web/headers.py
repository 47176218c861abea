"""Security headers on every response, and the policies of the three kinds of page.

- Portal pages (any HTML the app serves without a policy of its own): ``PORTAL_CSP``: scripts, styles and
  frames only from the portal itself, never framed by anyone (``frame-ancestors 'none'``, ``X-Frame-Options:
  DENY``).
- The task frame (``/portal/tasks/{id}/render``): ``frame_csp(origin)``: a ``sandbox`` without
  ``allow-same-origin`` (an opaque origin, whatever frames or opens it), no ``connect-src`` (no fetch or
  XHR), framed only by the portal (``frame-ancestors`` the portal's origin, ``X-Frame-Options: SAMEORIGIN``).
- Data objects (``DATA_CSP``): ``sandbox`` and ``default-src 'none'``: opened as a page, nothing in them runs.
- Everything else (JSON): ``default-src 'none'; frame-ancestors 'none'``.

Every response also gets ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``; a
response that set one of these headers itself keeps its own. Files under ``/static/`` are also sent with
``Access-Control-Allow-Origin: *``: the task frame's opaque origin loads the crowd elements as module
scripts, which browsers fetch with CORS (no cookies are sent with them, and they are public files). So are
the task's data links (``/data/<signed token>``, ``grant_read_access``): the link itself is the permission (no
cookie is needed or sent), and a drawing tool must read an image's pixels (the mask a worker corrects) without
the canvas being tainted.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PORTAL_CSP = ("default-src 'self'; img-src 'self' data: https:; frame-src 'self'; frame-ancestors 'none'; "
              "form-action 'self'; base-uri 'none'; object-src 'none'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DATA_CSP = "default-src 'none'; sandbox"
FRAME_SANDBOX = "allow-scripts allow-forms"  # the same tokens as the portal's <iframe sandbox=...>


def frame_csp(origin: str, extra: tuple[str, ...] = ()) -> str:
    """The task frame's policy. ``origin`` is the portal's (scheme://host[:port] of the request); 'self' is
    listed too, for a proxy that terminates TLS (an http source also matches its https upgrade). ``extra``:
    the plain-http hosts the storage and host policy allows (a template's jQuery from a local server), which
    may serve scripts, styles, images, media and fonts as https: hosts may."""
    own = " ".join(("'self'", origin, *extra))
    return (f"sandbox {FRAME_SANDBOX}; default-src 'none'; script-src {own} 'unsafe-inline' https:; "
            f"style-src {own} 'unsafe-inline' https:; img-src {own} data: blob: https:; "
            f"media-src {own} blob: https:; font-src {own} data: https:; connect-src 'none'; form-action 'none'; "
            f"base-uri 'none'; object-src 'none'; frame-ancestors 'self' {origin}")


_ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
_FRAME = (b"x-frame-options", b"DENY")
_CORS = (b"access-control-allow-origin", b"*")


class SecurityHeaders:
    """ASGI middleware: add the headers above to each response that lacks them (outermost, so the hot
    paths' answers get them too; it only appends a few constant headers)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope.get("path", "").startswith(("/static/", "/data/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                extra = [h for h in _ALWAYS if h[0] not in have]
                if b"x-frame-options" not in have:
                    extra.append(_FRAME)
                if b"content-security-policy" not in have:
                    html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                    extra.append((b"content-security-policy", (PORTAL_CSP if html else API_CSP).encode()))
                if static:
                    extra.append(_CORS)
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
