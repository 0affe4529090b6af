"""One warm Lambda execution environment: imports the handler once, then runs invocations one at a time.

Requests and responses travel as JSON lines over two inherited pipes (not stdout, which, as on AWS,
carries the function's logs). Started by `lambda_runtime.FunctionPool`; not meant to be run by hand.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LambdaContext:
    """The attributes of the AWS context object that Powertools and our handlers read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline_ms: int
    function_version: str = "$LATEST"
    log_group_name: str = field(default="")
    log_stream_name: str = field(default="local")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def main() -> None:
    handler_path, read_fd, write_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    module_name, _, function_name = handler_path.rpartition(".")
    requests = os.fdopen(read_fd, "rb")
    responses = os.fdopen(write_fd, "wb")
    handler: Any = None
    init_error: dict[str, Any] | None = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except (
        Exception
    ) as exc:  # an import error is reported per invocation, as Lambda's Runtime.ImportModuleError
        traceback.print_exc()
        init_error = {"errorType": "Runtime.ImportModuleError", "errorMessage": f"{handler_path}: {exc}"}
    responses.write(b'{"ready": true}\n')  # the init phase is over (Lambda times it apart from invocations)
    responses.flush()
    for line in requests:
        request = json.loads(line)
        context = LambdaContext(**request["context"])
        if init_error is not None:
            response: dict[str, Any] = {"id": request["id"], "error": init_error}
        else:
            try:
                result = handler(request["event"], context)
                response = {"id": request["id"], "result": result}
            except Exception as exc:
                traceback.print_exc()
                response = {"id": request["id"], "error": _error(exc)}
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            data = json.dumps(response)
        except (TypeError, ValueError) as exc:
            data = json.dumps({"id": request["id"], "error": _error(exc)})
        responses.write(data.encode() + b"\n")
        responses.flush()


if __name__ == "__main__":
    main()
