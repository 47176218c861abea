"""``/docs``: Swagger UI served from labelloop's own origin (the files of the pinned ``swagger-ui-py``
package, under ``/static/swagger/``), so it works offline and loads nothing from a CDN."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_PREFIX = "/static/swagger"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def swagger_ui_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def _docs_page(openapi_url: str, title: str) -> HTMLResponse:
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title,
                               swagger_js_url=f"{SWAGGER_PREFIX}/swagger-ui-bundle.js",
                               swagger_css_url=f"{SWAGGER_PREFIX}/swagger-ui.css",
                               swagger_favicon_url=f"{SWAGGER_PREFIX}/favicon-32x32.png")
    body = bytes(page.body).decode()
    # the one inline script (SwaggerUIBundle's set-up) is allowed by its hash; nothing else inline runs
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(body))
    csp = (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
    return HTMLResponse(body, headers={"Content-Security-Policy": csp})


def install(app: FastAPI) -> None:
    """Mount the Swagger UI files and serve ``/docs`` (create the app with ``docs_url=None``)."""
    app.mount(SWAGGER_PREFIX, StaticFiles(directory=swagger_ui_dir()), name="swagger")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return _docs_page(openapi_url, f"{app.title} · API")
