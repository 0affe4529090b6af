"""One Lambda function's template process, and the execution environments forked from it.

The template imports the handler's module once (Lambda's init phase: Powertools, pydantic, boto3, PynamoDB,
cryptography and our code), then waits for the runtime to ask for an environment. Each request carries
three pipes (requests in, responses out, stdout and stderr); the template forks, and the child is one
execution environment: its own module state from the fork on, the libraries' pages shared with the
template copy-on-write, so a cold start costs a fork instead of a second import (about 100 MiB and a
second of CPU per environment). Requests and responses travel as JSON lines (not stdout, which carries
the function's logs, as on AWS).

Forking is safe only from a process with one thread and no connections: an import that started a thread
or opened a socket (a client connected at module level) is reported on the log, and that function's
environments start as fresh interpreters instead (`--serve`), each importing the handler itself.
Started by `lambda_runtime.FunctionPool`; not meant to be run by hand.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

FDS_PER_ENVIRONMENT = 3  # requests (read), responses (write), stdout and stderr (write)


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


def _import(handler_path: str) -> tuple[Any, dict[str, Any] | None]:
    """The handler, or the error every invocation reports (Lambda's Runtime.ImportModuleError)."""
    module_name, _, function_name = handler_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), function_name), None
    except Exception as exc:
        traceback.print_exc()
        return None, {"errorType": "Runtime.ImportModuleError", "errorMessage": f"{handler_path}: {exc}"}


def _socket_fds() -> list[int]:
    found = []
    for entry in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{entry}").startswith("socket:"):
                found.append(int(entry))
        except OSError:  # the directory's own descriptor, closed by now
            continue
    return found


def _connected(fd: int) -> bool:
    """A socket two forks could not share: a stream socket, or a datagram socket bound to a peer (an
    unconnected UDP socket, as the X-Ray SDK's emitter opens at import, sends whole datagrams from either)."""
    probe = socket.socket(fileno=os.dup(fd))
    try:
        if probe.type != socket.SOCK_DGRAM:
            return True
        probe.getpeername()
        return True
    except OSError:
        return False
    finally:
        probe.close()


def fork_hazards(keep_fds: tuple[int, ...] = ()) -> list[str]:
    """What would make a fork of this process unsafe: other threads (a lock one holds stays locked in the
    child), connections besides `keep_fds` (two environments would share one), PynamoDB models
    that already hold a connection (its botocore client and pool would be shared the same way)."""
    hazards = []
    if threading.active_count() > 1:
        names = ", ".join(t.name for t in threading.enumerate() if t is not threading.main_thread())
        hazards.append(f"{threading.active_count() - 1} thread(s) running ({names})")
    connections = [fd for fd in _socket_fds() if fd not in keep_fds and _connected(fd)]
    if connections:
        hazards.append(f"{len(connections)} connection(s) open")
    models = sys.modules.get("pynamodb.models")
    if models is not None:
        pending = list(models.Model.__subclasses__())
        while pending:
            model = pending.pop()
            pending.extend(model.__subclasses__())
            if model.__dict__.get("_connection") is not None:
                hazards.append(f"PynamoDB model {model.__name__} connected at import")
    return hazards


def serve(handler: Any, init_error: dict[str, Any] | None, requests_fd: int, responses_fd: int) -> None:
    """Run invocations one at a time until the runtime closes the request pipe."""
    requests = os.fdopen(requests_fd, "rb")
    responses = os.fdopen(responses_fd, "wb")
    # The init phase is over (Lambda times it apart from invocations); the pid lets the runtime kill this
    # environment, which is not its child when forked from a template.
    responses.write(json.dumps({"ready": True, "pid": os.getpid()}).encode() + b"\n")
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


def _environment(
    handler_path: str, handler: Any, init_error: dict[str, Any] | None, fds: list[int], fork_safe: bool
) -> None:
    """In the forked child: become one execution environment, never returning to the template's loop."""
    requests_fd, responses_fd, log_fd = fds
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the template ignores its children; a handler may not
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        if not fork_safe:
            for fd in (requests_fd, responses_fd):
                os.set_inheritable(fd, True)
            os.execv(sys.executable, [sys.executable, "-m", "localcloud.lambda_worker", handler_path,
                                      "--serve", str(requests_fd), str(responses_fd)])  # fmt: skip
        gc.enable()
        serve(handler, init_error, requests_fd, responses_fd)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def template(handler_path: str, control_fd: int) -> None:
    """Import once, then fork one environment per request on the control socket until it closes."""
    control = socket.socket(fileno=control_fd)
    handler, init_error = _import(handler_path)
    hazards = fork_hazards(keep_fds=(control_fd,))
    if hazards:
        print(f"template of {handler_path}: not safe to fork after its import ({'; '.join(hazards)}); "
              "each environment imports it afresh", flush=True)  # fmt: skip
    # The imported objects go to the collector's permanent generation, and collections wait until the
    # fork: a collection in a child would otherwise write to (and copy) every page the template holds.
    gc.disable()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited environments are reaped by the kernel
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, FDS_PER_ENVIRONMENT)
        except InterruptedError:
            continue
        if not message:  # the runtime closed its end: stop
            return
        if len(fds) != FDS_PER_ENVIRONMENT:
            for fd in fds:
                os.close(fd)
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            control.close()
            _environment(handler_path, handler, init_error, fds, fork_safe=not hazards)
        for fd in fds:
            os.close(fd)


def main() -> None:
    if sys.argv[2] == "--serve":  # a fresh interpreter, for a function whose template cannot fork
        handler, init_error = _import(sys.argv[1])
        serve(handler, init_error, int(sys.argv[3]), int(sys.argv[4]))
    else:
        template(sys.argv[1], int(sys.argv[2]))


if __name__ == "__main__":
    main()
