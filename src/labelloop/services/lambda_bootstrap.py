"""Runs one Lambda-style hook call in a subprocess of its own (started by ``lambda_runner``), as Lambda's
Python runtime does: the code's folder is the working directory and the first entry of ``sys.path`` (so
``from s3_helper import ...`` works), ``handler(event, context)`` with a context like Lambda's.

Usage: ``python -I lambda_bootstrap.py REQUEST.json RESULT.json``. REQUEST holds ``handler``, ``event``,
``function_name``, ``invoked_function_arn``, ``memory_limit_in_mb``, ``aws_request_id`` and ``deadline``
(Unix seconds); RESULT gets ``{"result": ...}`` or ``{"error": "Type: message"}``. What the hook prints is
its log (stdout and stderr), never its answer. Imports nothing of labelloop.
"""

import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    """The attributes and method of Lambda's Python context object that handlers use."""

    def __init__(self, request):
        self.function_name = request["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = request["invoked_function_arn"]
        self.memory_limit_in_mb = request["memory_limit_in_mb"]
        self.aws_request_id = request["aws_request_id"]
        self.log_group_name = "/aws/lambda/" + self.function_name
        self.log_stream_name = time.strftime("%Y/%m/%d") + "/[$LATEST]" + self.aws_request_id.replace("-", "")
        self.identity = None
        self.client_context = None
        self._deadline = request["deadline"]

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


def main(request_path, result_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    root = os.getcwd()
    sys.path.insert(0, root)
    module_name, _, function_name = request["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        out = {"result": handler(request["event"], LambdaContext(request))}
        text = json.dumps(out)
    except BaseException as exc:  # the hook's own failure, whatever it is, is the call's answer
        traceback.print_exc()
        text = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
    with open(result_path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
