"""Lambda locally: a pool of warm execution environments per function, forked from a template process
that imported the handler once (`lambda_worker`), sync and async invocation with
Lambda's semantics (timeouts kill the environment; async failures are retried twice, then go to the
dead-letter file), and each function's logs prefixed with its name as CloudWatch would group them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from localcloud.invocation_journal import InvocationJournal, Queued
from localcloud.template import LOCAL_ACCOUNT, LOCAL_REGION, FunctionDef

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("loraless.local.lambda")

INIT_LIMIT_S = 10.0  # Lambda's init phase limit, apart from the function's timeout
ASYNC_RETRIES = 2  # as the template's EventInvokeConfig says (Lambda's default)
# An environment left idle this long is stopped, as Lambda reclaims idle ones (after minutes there; sooner
# here, where a working environment holds ~75 MiB of its own on the user's machine). The next call starts
# one cold.
IDLE_LIMIT_S = 120.0
MAX_STARTING = 1  # environments of one function in init and first call at once (FunctionPool._acquire)


@dataclass(frozen=True)
class InvocationResult:
    """The payload a handler returned, or the error it raised (Lambda's FunctionError: Unhandled)."""

    payload: Any = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Template:
    """A function's template process (`lambda_worker.template`): it imported the handler once and forks
    an execution environment for each request on its control socket."""

    def __init__(
        self, function: FunctionDef, environment: Mapping[str, str], log_sink: Callable[[str, str], None]
    ):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "localcloud.lambda_worker", function.handler, str(theirs.fileno())],
                cwd=ROOT,
                env=dict(environment),
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._control = ours
        self.used = time.monotonic()
        assert self.process.stdout is not None
        threading.Thread(
            target=_pump, args=(self.process.stdout, function.name, log_sink), daemon=True
        ).start()

    def fork(self, fds: tuple[int, int, int]) -> None:
        """Ask for one environment served on these pipe ends (queued while the template still imports);
        OSError if the template is gone."""
        socket.send_fds(self._control, [b"fork"], list(fds))
        self.used = time.monotonic()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self._control.close()  # a template that still imports exits when it reads the closed socket...
        if self.process.poll() is None:
            self.process.kill()  # ...but one whose import hangs does not
        self.process.wait()


def _pump(stream: IO[bytes], name: str, sink: Callable[[str, str], None]) -> None:
    for raw in stream:
        sink(name, raw.decode(errors="replace").rstrip("\n"))
    stream.close()


class _Worker:
    """One execution environment: a process forked from the function's template (not this process's
    child: it is known by a pidfd, which cannot name another process once it has exited)."""

    def __init__(self, template: _Template, function: FunctionDef, log_sink: Callable[[str, str], None]):
        self.template = template
        self._lock = threading.Lock()
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        logs_r, logs_w = os.pipe()
        try:
            template.fork((to_worker_r, from_worker_w, logs_w))
        except BaseException:
            for fd in (self._to_worker, self._from_worker, logs_r):
                os.close(fd)
            raise
        finally:
            for fd in (to_worker_r, from_worker_w, logs_w):
                os.close(fd)
        self.handler = function.handler
        self.ready = False  # until the environment says its init is over
        self.init_ms: float | None = None  # from the fork request to that
        self.pid: int | None = None
        self._pidfd: int | None = None
        self.started = time.monotonic()
        self.idle_since = self.started
        self._requests = os.fdopen(self._to_worker, "wb")
        self._responses = os.fdopen(self._from_worker, "rb")
        threading.Thread(
            target=_pump, args=(os.fdopen(logs_r, "rb"), function.name, log_sink), daemon=True
        ).start()

    def _hello(self, line: bytes) -> None:
        """The environment's first line: init is over, and its pid."""
        hello = json.loads(line or b"{}")
        if not hello.get("ready"):
            return
        with contextlib.suppress(ProcessLookupError):  # it exited already: no pidfd, not alive
            self._pidfd = os.pidfd_open(int(hello["pid"]))
            self.pid = int(hello["pid"])
        self.ready = True
        self.init_ms = (time.monotonic() - self.started) * 1000

    def invoke(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Run one request. A cold environment's init (Lambda's init phase: here the template's import, if
        it is still importing, and the fork) is not part of the function's timeout: as on Lambda, init has
        INIT_LIMIT_S of its own, and an init that overruns it goes on inside the invocation, under the
        function's timeout."""
        try:
            self._requests.write(json.dumps(request).encode() + b"\n")
            self._requests.flush()
        except OSError:  # the environment is gone (its pipe closed): as an exit without a response
            self.kill()
            return {"error": _EXIT_ERROR}
        result: dict[str, Any] = {}
        initialized = threading.Event()
        if self.ready:
            initialized.set()

        def read() -> None:
            if not self.ready:
                self._hello(self._responses.readline())
                initialized.set()
            result.update(json.loads(self._responses.readline() or "{}"))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        initialized.wait(INIT_LIMIT_S)  # past it, the rest of init and the call share the timeout below
        reader.join(timeout_s)
        timed_out = reader.is_alive()
        if timed_out or "id" not in result:
            self.kill()
            if timed_out:
                return {
                    "error": {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {timeout_s:.2f} seconds",
                    }
                }
            return {"error": _EXIT_ERROR}
        return result

    def alive(self) -> bool:
        if self._requests.closed:
            return False
        if self._pidfd is None:
            return not self.ready  # not forked yet (its template is importing), or gone before it said hello
        return not select.select([self._pidfd], [], [], 0)[0]  # a pidfd turns readable when its process exits

    def kill(self) -> None:
        """Stop the environment and wait until it is gone. One not yet forked never runs: its pipes close
        here, and the fork that comes later reads the end of its requests at once and exits. Before that
        hello its init is the template's import, so an init that hung or overran stops the template too
        (the next cold start imports afresh, as a new environment would)."""
        with self._lock:
            if not self.ready:
                self.template.kill()
            if self._pidfd is not None:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
                select.select([self._pidfd], [], [], 5.0)
                os.close(self._pidfd)
                self._pidfd = None
            for stream in (self._requests, self._responses):
                with contextlib.suppress(OSError):
                    stream.close()


_EXIT_ERROR = {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited without a response"}


def _default_sink(name: str, line: str) -> None:
    print(f"[{name}] {line}", flush=True)


class FunctionPool:
    """Up to `concurrency` warm environments for one function; more concurrent calls wait their turn."""

    def __init__(
        self,
        function: FunctionDef,
        environment: Mapping[str, str],
        *,
        concurrency: int = 4,
        log_sink: Callable[[str, str], None] = _default_sink,
    ) -> None:
        self.function = function
        self.environment = {
            **environment,
            **function.environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        }
        self.log_sink = log_sink
        self._idle: list[_Worker] = []
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Condition()
        self._starting = 0  # environments in their init phase
        self._all: list[_Worker] = []
        self._template: _Template | None = None  # started by the first cold start, stopped when idle
        self.invocations = itertools.count(1)
        self.cold_starts = 0

    def _acquire(self) -> _Worker:
        """A warm environment, else a new one; while one is already starting, a call waits for whichever
        comes first, a warm one freed or the start done, rather than starting another: on a shared
        machine a burst of cold starts (seconds of CPU each) would delay every call (Lambda scales by
        adding environments too, but it does not share two cores)."""
        self._slots.acquire()
        with self._lock:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._forget(worker)
                if self._starting < MAX_STARTING:
                    break
                self._lock.wait()
            self._starting += 1
            self.cold_starts += 1
            try:
                worker = self._fork()
            except BaseException:
                self._starting -= 1
                self._slots.release()
                raise
            self._all.append(worker)
            return worker

    def _fork(self) -> _Worker:
        """A new environment from the function's template; a template that is gone (killed, or stopped
        with an init that overran) is started again, once."""
        for attempt in (1, 2):
            if self._template is None or not self._template.alive():
                if self._template is not None:
                    self._template.kill()
                self._template = _Template(self.function, self.environment, self.log_sink)
            try:
                return _Worker(self._template, self.function, self.log_sink)
            except OSError:
                self._template.kill()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _started(self) -> None:
        with self._lock:
            self._starting -= 1
            self._lock.notify_all()

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive():
                worker.idle_since = time.monotonic()
                self._idle.append(worker)  # the most recently used is reused first: the others can idle out
            else:
                self._forget(worker)
            self._lock.notify_all()
        self._slots.release()

    def _forget(self, worker: _Worker) -> None:
        with contextlib.suppress(ValueError):
            self._all.remove(worker)

    def stop_idle(self, idle_limit_s: float = IDLE_LIMIT_S) -> int:
        """Stop the environments idle for longer than `idle_limit_s`; returns how many."""
        now = time.monotonic()
        with self._lock:  # out of the idle list first: no call can take them from here on
            stale = [w for w in self._idle if now - w.idle_since > idle_limit_s]
            self._idle = [w for w in self._idle if w not in stale]
        for worker in stale:
            worker.kill()
        with self._lock:
            for worker in stale:
                self._forget(worker)
            template = self._template
            if template is not None and not self._all and now - template.used > idle_limit_s:
                self._template = None  # no environment left and none asked for: the template goes too
                template.kill()
        return len(stale)

    def invoke(self, event: Any) -> InvocationResult:
        """Run the handler once and wait for it (RequestResponse)."""
        next(self.invocations)
        request_id = str(uuid.uuid4())
        arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function.name}"
        context = {
            "function_name": self.function.name,
            "memory_limit_in_mb": self.function.memory_mb,
            "invoked_function_arn": arn,
            "aws_request_id": request_id,
            "deadline_ms": int(time.time() * 1000) + self.function.timeout_s * 1000,
        }
        worker = self._acquire()
        cold = not worker.ready
        try:
            response = worker.invoke(
                {"id": request_id, "event": event, "context": context}, self.function.timeout_s
            )
        finally:
            if cold:  # the next cold start may begin: its first call (boto3 clients and PynamoDB
                self._started()  # connections made, a second or more of CPU) is over too
                log.info(
                    "%s: environment %s started, init %s", self.function.name, worker.pid,
                    f"{worker.init_ms:.0f} ms" if worker.init_ms is not None else "not over",
                )  # fmt: skip
            self._release(worker)
        if "error" in response:
            error = response["error"]
            if error.get("errorType") in ("Sandbox.Timedout", "Runtime.ExitError"):  # its environment is gone
                log.warning("%s: %s (%s)", self.function.name, error["errorMessage"], error["errorType"])
            return InvocationResult(error=error)
        return InvocationResult(payload=response.get("result"))

    def close(self) -> None:
        with self._lock:
            for worker in self._all:
                worker.kill()
            self._all.clear()
            self._idle.clear()
            if self._template is not None:
                self._template.kill()
                self._template = None


class LambdaService:
    """All functions of the template; `invoke_async` is what IoT rules and `InvocationType=Event` use."""

    def __init__(
        self,
        functions: Mapping[str, FunctionDef],
        environment: Mapping[str, str],
        *,
        dead_letters: Path,
        concurrency: int = 4,
        concurrency_of: Mapping[str, int] | None = None,
        retry_delays_s: tuple[float, ...] = (1.0, 2.0),
        log_sink: Callable[[str, str], None] = _default_sink,
        idle_limit_s: float = IDLE_LIMIT_S,
        journal: InvocationJournal | None = None,
    ) -> None:
        """`concurrency` environments per function at most, or `concurrency_of[name]` for that function;
        `journal` keeps asynchronous invocations across a kill (see invocation_journal.py); without one
        they live in memory only."""
        self.journal = journal
        limits = {name: (concurrency_of or {}).get(name, concurrency) for name in functions}
        self.pools = {
            name: FunctionPool(f, environment, concurrency=limits[name], log_sink=log_sink)
            for name, f in functions.items()
        }
        self.dead_letters = dead_letters
        self.retry_delays_s = retry_delays_s
        # One queue per function, as Lambda keeps one per function: a function whose calls hang (a
        # webhook that never answers) cannot starve another's (the events to MQTT), issue 15.
        self._executors = {
            name: ThreadPoolExecutor(max_workers=limits[name], thread_name_prefix=f"async-{name}")
            for name in functions
        }
        self._timers: set[threading.Timer] = set()
        self._closing = False
        self._dead_lock = threading.Lock()
        self.failed_async = 0
        self._stopped = threading.Event()
        self.idle_limit_s = idle_limit_s
        threading.Thread(target=self._reap_idle, daemon=True, name="lambda-idle-reaper").start()

    def _reap_idle(self) -> None:
        """Every few seconds, stop environments idle past `idle_limit_s` (Lambda's scale-down)."""
        while not self._stopped.wait(min(10.0, self.idle_limit_s / 4)):
            for pool in self.pools.values():
                stopped = pool.stop_idle(self.idle_limit_s)
                if stopped:
                    log.info("%s: %d idle environment(s) stopped", pool.function.name, stopped)

    def pool(self, name: str) -> FunctionPool:
        if name in self.pools:
            return self.pools[name]
        for pool in self.pools.values():  # accept an ARN or a partial ARN, as Lambda does
            if name.endswith(f":function:{pool.function.name}"):
                return pool
        raise KeyError(f"Function not found: {name}")

    def invoke(self, name: str, event: Any) -> InvocationResult:
        return self.pool(name).invoke(event)

    def invoke_async(
        self, name: str, event: Any, on_accepted: Callable[[], None] | None = None
    ) -> Future[InvocationResult]:
        """Queue the event; on error retry twice with delays, then write it to the dead-letter file. A
        retry waits on a timer, not in a worker thread, so waiting retries hold no slot. With a journal
        the invocation is on disk before `on_accepted` is called (the caller's acknowledgement: the
        rules engine's PUBACK, the API's 202) and survives a kill; it starts at once either way."""
        pool = self.pool(name)
        done: Future[InvocationResult] = Future()
        if self.journal is None:
            self._attempt(pool, event, done, 0, None)
            if on_accepted is not None:
                on_accepted()
            return done
        queued = self.journal.add(pool.function.name, event, on_accepted)
        self._attempt(pool, event, done, 0, queued)
        return done

    def resume(self) -> list[Future[InvocationResult]]:
        """Run again what a previous run accepted and did not finish, with the retries it has left (at
        start, once the endpoints the functions call are up); one future per invocation."""
        if self.journal is None:
            return []
        futures: list[Future[InvocationResult]] = []
        for queued in self.journal.recovered:
            done: Future[InvocationResult] = Future()
            futures.append(done)
            pool = self.pools.get(queued.function)
            if pool is None:  # the function left the template since
                error = {"errorType": "ResourceNotFoundException", "errorMessage": "Function not found"}
                done.set_result(InvocationResult(error=error))
                self._dead_letter_named(queued.function, queued.event, done.result())
                self.journal.done(queued)
                continue
            self._attempt(pool, queued.event, done, min(queued.failed, ASYNC_RETRIES), queued)
        if futures:
            log.info("%d asynchronous invocation(s) accepted before a stop run again", len(futures))
        return futures

    def _attempt(
        self,
        pool: FunctionPool,
        event: Any,
        done: Future[InvocationResult],
        attempt: int,
        queued: Queued | None,
    ) -> None:
        def run() -> None:
            try:
                result = pool.invoke(event)
            except Exception as exc:  # the runtime itself failed: counts as the function's error
                result = InvocationResult(error={"errorType": type(exc).__name__, "errorMessage": str(exc)})
            if self._closing and queued is not None and not result.ok:
                # cut short by the stop, not the function's failure: kept for the next start
                done.set_result(result)
                return
            delays = self.retry_delays_s[:ASYNC_RETRIES]
            if result.ok or attempt >= len(delays) or self._closing:
                if not result.ok:
                    self._dead_letter(pool, event, result)
                if queued is not None and self.journal is not None:
                    self.journal.done(queued)
                done.set_result(result)
                return
            if queued is not None and self.journal is not None:
                self.journal.failed(queued)
            timer = threading.Timer(
                delays[attempt], self._retry, args=(pool, event, done, attempt + 1, queued)
            )
            timer.daemon = True
            with self._dead_lock:
                self._timers.add(timer)
            timer.start()

        try:
            self._executors[pool.function.name].submit(run)
        except RuntimeError:  # shutting down: not run now (a journaled one runs at the next start)
            done.cancel()

    def _retry(
        self,
        pool: FunctionPool,
        event: Any,
        done: Future[InvocationResult],
        attempt: int,
        queued: Queued | None,
    ) -> None:
        with self._dead_lock:
            self._timers = {t for t in self._timers if t.is_alive() and t is not threading.current_thread()}
        self._attempt(pool, event, done, attempt, queued)

    def _dead_letter(self, pool: FunctionPool, event: Any, result: InvocationResult) -> None:
        self._dead_letter_named(pool.function.name, event, result)

    def _dead_letter_named(self, function: str, event: Any, result: InvocationResult) -> None:
        self.failed_async += 1
        error = result.error or {}
        log.error(
            "%s failed after %d retries: %s: %s (dead letter kept in %s)",
            function,
            ASYNC_RETRIES,
            error.get("errorType"),
            error.get("errorMessage"),
            self.dead_letters,
        )
        with self._dead_lock:
            self.dead_letters.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letters.open("a") as out:
                out.write(json.dumps({"function": function, "event": event, "error": result.error}))
                out.write("\n")

    def close(self, drain_s: float = 10.0) -> None:
        """Let running asynchronous invocations finish (up to `drain_s`), leave queued ones (kept in the
        journal for the next start; dropped without one), stop workers."""
        self._closing = True  # no new retries while draining
        self._stopped.set()
        with self._dead_lock:
            for timer in self._timers:
                timer.cancel()
        waiters = [
            threading.Thread(target=e.shutdown, kwargs={"wait": True, "cancel_futures": True})
            for e in self._executors.values()
        ]
        for waiter in waiters:
            waiter.start()
        deadline = time.monotonic() + drain_s
        for waiter in waiters:
            waiter.join(max(0.0, deadline - time.monotonic()))
        for pool in self.pools.values():
            pool.close()
        if self.journal is not None:
            self.journal.close()
