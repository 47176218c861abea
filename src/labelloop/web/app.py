"""``create_app(settings)`` wires everything; nothing is built at import time."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from labelloop import __version__
from labelloop.services.context import Context, build_context
from labelloop.settings import Settings
from labelloop.web import autolabel_api, aws, docs_ui, errors, health, hook_s3, hooks_api, openapi, portal
from labelloop.web.api import router
from labelloop.web.console import router as console_router
from labelloop.web.console import workforce
from labelloop.web.headers import SecurityHeaders
from labelloop.web.hot import HotPaths
from labelloop.web.limits import BodyLimit


def create_app(settings: Settings | None = None, *, ctx: Context | None = None, hot_paths: bool = True) -> FastAPI:
    """Build the ASGI app. Pass ``ctx`` to share an engine and a clock with tests; ``hot_paths=False`` serves
    the worker's two hot calls through their FastAPI routes (tests check both give the same answers)."""
    settings = settings or (ctx.settings if ctx else Settings())
    ctx = ctx or build_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # few request threads: handlers are short and share one write lock; many threads only fight over the GIL
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        # what start-up built (modules, the app, SQLAlchemy's and pydantic's structures) lives as long as the
        # process: freeze it, so a full collection walks only newer objects (tens of ms less, every few s)
        gc.collect()
        gc.freeze()
        ctx.start()
        try:
            yield
        finally:
            ctx.close()

    app = FastAPI(title="labelloop", version=__version__, lifespan=lifespan, docs_url=None,
                  description="Self-hosted data labeling, compatible with SageMaker Ground Truth.")
    app.state.ctx = ctx
    errors.install(app)
    openapi.install(app)  # the description without FastAPI's 422s, with each route's statuses and bodies
    app.include_router(router)
    hooks_api.install(app)  # GET /api/v1/hooks
    autolabel_api.install(app)  # /api/v1/jobs/{name}/autolabel (docs/automated-labeling.md)
    aws.install(app)  # the SageMaker API at /aws/sagemaker (boto3, the AWS CLI): outside the schema
    health.install(app)  # /healthz, /readyz, /metrics: outside the schema
    docs_ui.install(app)  # /docs from local files; before the portal's /static mount
    portal.install(app)
    app.include_router(console_router)  # the requester console at /console (docs/console.md)
    app.include_router(workforce.invite_router)  # /invite/{token}: a work team's sign-up link
    hook_s3.install(app)  # the read-only S3 endpoint of hooks' payloads (docs/hooks-and-templates.md)
    app.add_middleware(BodyLimit)  # the routes' body limits; the hot paths apply the same table themselves
    if hot_paths:
        app.add_middleware(HotPaths)  # the two hot calls skip everything else
    app.add_middleware(health.Metrics)  # every request's latency by route template, the hot calls' too
    app.add_middleware(SecurityHeaders)  # outermost: every response, the hot calls' too, gets the headers
    return app
