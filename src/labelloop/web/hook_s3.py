"""``GET``/``HEAD /hook-s3/<bucket>/<key>``: the read-only S3 endpoint a hook's boto3 reads its payload from
(``services/hook_s3.py``). Errors are S3's XML bodies, so botocore raises the ``ClientError`` it would on AWS."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.responses import Response

from labelloop.core.errors import Forbidden, NotFound
from labelloop.core.sigv4 import SigV4Error
from labelloop.services.hook_s3 import PATH, get_object
from labelloop.web.deps import context_of


def _error(status: int, code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            "</Error>")
    return Response(body, status_code=status, media_type="application/xml")


async def read(request: Request) -> Response:
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    body = await request.body()
    try:
        obj = get_object(context_of(request), request.method, raw_path, request.url.query, request.headers,
                         hashlib.sha256(body).hexdigest())
    except SigV4Error as exc:
        return _error(exc.s3_status, exc.s3_code, exc.message)
    except Forbidden as exc:
        return _error(403, "AccessDenied", exc.message)
    except NotFound as exc:
        return _error(404, "NoSuchKey", exc.message)
    headers = {"ETag": f'"{obj.etag}"', "Content-Length": str(len(obj.body)), "Accept-Ranges": "none"}
    return Response(b"" if request.method == "HEAD" else obj.body, media_type="application/octet-stream",
                    headers=headers)


def install(app: FastAPI) -> None:
    app.add_api_route(PATH + "/{path:path}", read, methods=["GET", "HEAD"], include_in_schema=False)
