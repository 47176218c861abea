"""The requester console (``/console``): server-rendered pages for requesters and admins.

Each module has its own router made by ``_shell.console_router()`` (HTML error pages, sign-in redirect)
and every route depends on ``_shell.requester`` (GET) or ``_shell.requester_write`` (POST, CSRF checked).
The URLs:

Sub-routers' paths are relative to ``/console`` (``@router.get("/workforce")``).

- ``/console``: all jobs (``jobs.py``); ``/console/jobs/{name}``: one job, live
  (``/console/api/jobs/{name}/live`` is its JSON, polled every 2 s); stop a job, block a worker;
- ``/console/jobs/{name}/results``, ``/console/jobs/{name}/objects/{position}``: judge and correct
  (``results.py``); ``/console/jobs/{name}/downloads``: output manifest, exports, answers CSV
  (``downloads.py``);
- ``/console/create`` (the wizard), ``/console/workforce``, ``/console/audit``, ``/console/admin``.
"""

from __future__ import annotations

from fastapi import APIRouter

from labelloop.web.console import admin, audit, downloads, jobs, results, wizard, workforce
from labelloop.web.console._shell import ConsoleRoute

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)
# /console itself (a path "" is allowed only on the router with the prefix)
router.add_api_route("", jobs.all_jobs, methods=["GET"], include_in_schema=False)
router.include_router(jobs.router)
router.include_router(results.router)
router.include_router(downloads.router)
router.include_router(wizard.router)
router.include_router(workforce.router)
router.include_router(audit.router)
router.include_router(admin.router)

__all__ = ["router"]
