"""JavaScript payload codecs with the signature of the TTN device repository and ChirpStack v4:
`decodeUplink({bytes, fPort, variables, recvTime}) -> {data, errors?, warnings?}` and
`encodeDownlink({data, fPort, variables}) -> {bytes, fPort?, errors?, warnings?}`. A ChirpStack v3 script
(`Decode(fPort, bytes, variables)` / `Encode(fPort, obj, variables)`, no v4 entry point) runs as
ChirpStack's v3-to-v4 migration makes it run: `decodeUplink` returns `{data: Decode(...)}` and
`encodeDownlink` returns `{bytes: Encode(...)}`. Scripts find a global `Buffer` (buffer.js), as
ChirpStack gives them one.

Scripts run in QuickJS (the `quickjs-ng` wheel, the engine ChirpStack embeds too): a bare ECMAScript
realm without `std`/`os` modules, so no filesystem, network, timers or host callbacks. Each call is held
to a CPU-time limit (QuickJS's interrupt handler, also inside regular expressions) and each script's
runtime to a memory limit; a wall-clock watchdog sits behind both in case the engine itself never returns.

A QuickJS runtime must stay on the thread that created it, so one worker thread owns every context.
A script is compiled and evaluated once per process and cached per owner (the device profile) and the
script's SHA-256; a context that failed in any way, or that holds more than `KEEP_BELOW_BYTES` after a
call, is dropped rather than reused. As in a long-lived ChirpStack process, top-level state of a script
may survive between calls of that script, but only within its owner: two organizations that paste the
same script never share a context, so one cannot see what the other decoded.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from pathlib import Path
from queue import SimpleQueue
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import quickjs

from functions.appserver.codecs.errors import ScriptError
from functions.shared.settings import SETTINGS

DEFAULT_TIME_LIMIT_S = SETTINGS.codec_js_time_limit_s
DEFAULT_MEMORY_LIMIT = SETTINGS.codec_js_memory_limit_bytes
KEEP_BELOW_BYTES = 2 * 1024 * 1024
CACHE_SIZE = 16
WATCHDOG_SLACK_S = 2.0  # beyond the CPU limit of compile + call, before the worker is given up
THREAD_STACK = 8 * 1024 * 1024  # room below QuickJS's own 1 MiB stack limit (musl's default is 128 KiB)


def _engine() -> ModuleType:
    """`quickjs`, imported with the first script: its wrapper starts an executor thread at import, and a
    Lambda template process with a thread cannot fork environments (localcloud/lambda_worker.py)."""
    import quickjs

    return cast(ModuleType, quickjs)


# Captured before the user's script runs, so a script that replaces JSON cannot confuse the harness.
_PRELUDE = "const __loraless_parse = JSON.parse, __loraless_stringify = JSON.stringify;"
_BUFFER = (Path(__file__).with_name("buffer.js")).read_text()
_HARNESS = """
function __loraless_decodeUplink(inputJson, recvTime) {
  const input = __loraless_parse(inputJson);
  if (recvTime) input.recvTime = new Date(recvTime);
  if (typeof decodeUplink === "function") return __loraless_stringify(decodeUplink(input));
  if (typeof Decode === "function")  // ChirpStack v3; the wrapper its v3-to-v4 migration adds
    return __loraless_stringify({data: Decode(input.fPort, input.bytes, input.variables)});
  throw new TypeError("no decodeUplink(input) nor ChirpStack v3 Decode(fPort, bytes, variables)");
}
function __loraless_encodeDownlink(inputJson) {
  const input = __loraless_parse(inputJson);
  let result;
  if (typeof encodeDownlink === "function") result = encodeDownlink(input);
  else if (typeof Encode === "function") result = {bytes: Encode(input.fPort, input.data, input.variables)};
  else throw new TypeError("no encodeDownlink(input) nor ChirpStack v3 Encode(fPort, obj, variables)");
  if (result && ArrayBuffer.isView(result.bytes)) result.bytes = Array.from(result.bytes);  // a Buffer
  return __loraless_stringify(result);
}
"""
ENTRY_POINTS = ("decodeUplink", "encodeDownlink")


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class _Abandoned(Exception):
    """A queued job was withdrawn from a worker that was given up."""


class _Worker:
    """A daemon thread running jobs in order; it owns the QuickJS contexts created by its jobs."""

    def __init__(self) -> None:
        self.jobs: SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = SimpleQueue()
        self.contexts: OrderedDict[str, quickjs.Context] = OrderedDict()
        self.broken: dict[str, str] = {}  # script hash -> syntax error, so a broken script is not reparsed
        self.started: dict[Future[Any], float] = {}
        self.abandoned = False
        previous = threading.stack_size()
        try:
            threading.stack_size(THREAD_STACK)
            threading.Thread(target=self._run, name="js-codec", daemon=True).start()
        finally:
            threading.stack_size(previous)

    def _run(self) -> None:
        while True:
            job, future = self.jobs.get()
            if future.set_running_or_notify_cancel():
                self.started[future] = time.monotonic()
                try:
                    future.set_result(job())
                except Exception as exc:
                    future.set_exception(exc)
                finally:
                    self.started.pop(future, None)

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.put((job, future))
        return future

    def wait(self, future: Future[Any], budget_s: float) -> Any:
        """The job's result; FutureTimeout once it has *run* longer than budget_s (queueing not counted)."""
        while True:
            try:
                return future.result(timeout=budget_s / 4)
            except FutureTimeout:
                if self.abandoned and future.cancel():
                    raise _Abandoned from None  # queued behind a job that never returned
                started = self.started.get(future)
                if started is not None and time.monotonic() - started > budget_s:
                    raise


class ScriptRunner:
    """Runs codec scripts under time and memory limits; safe to call from any thread."""

    def __init__(
        self,
        *,
        time_limit_s: float = DEFAULT_TIME_LIMIT_S,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.time_limit_s = time_limit_s
        self.memory_limit = memory_limit
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._worker = _Worker()

    def call(
        self,
        script: str,
        entry: str,
        payload: Mapping[str, Any],
        *,
        recv_time: str | None = None,
        owner: str = "",
    ) -> Any:
        """Call `entry` ("decodeUplink" or "encodeDownlink") with `payload`; returns its JSON-decoded result.

        Raises ScriptError for every failure of the script or the engine.
        """
        if entry not in ENTRY_POINTS:
            raise ValueError(f"unknown entry point {entry!r}")
        key = f"{owner}:{hashlib.sha256(script.encode()).hexdigest()}"
        args: tuple[Any, ...] = (json.dumps(payload),)
        if entry == "decodeUplink":
            args += (recv_time or "",)
        while True:
            with self._lock:
                worker = self._worker
            future = worker.submit(partial(self._call_on_worker, worker, key, script, entry, args))
            try:
                result = worker.wait(future, 2 * self.time_limit_s + WATCHDOG_SLACK_S)
                break
            except _Abandoned:
                continue
            except FutureTimeout:
                # The engine did not come back: leave that thread (and its contexts) behind, start afresh.
                with self._lock:
                    if self._worker is worker:
                        worker.abandoned = True
                        self._worker = _Worker()
                message = f"{entry} did not return; the JavaScript worker was replaced"
                raise ScriptError("engine", message) from None
        if result is None:
            raise ScriptError("result", f"{entry} returned no object")
        try:
            return json.loads(result)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ScriptError("result", f"{entry} returned no JSON object: {exc}") from None

    def _call_on_worker(
        self, worker: _Worker, key: str, script: str, entry: str, args: tuple[Any, ...]
    ) -> str | None:
        try:
            return self._run(worker, key, script, entry, args)
        except ScriptError:
            raise
        except Exception as exc:  # the engine's own failures (conversions, MemoryError) count as the script's
            raise ScriptError("engine", f"{entry} failed in the engine: {exc!r}") from None

    def _run(self, worker: _Worker, key: str, script: str, entry: str, args: tuple[Any, ...]) -> str | None:
        context = worker.contexts.pop(key, None)
        if context is None:
            context = self._compile(worker, key, script)
        try:
            result = context.get(f"__loraless_{entry}")(*args)
        except _engine().JSException as exc:  # StackOverflow is a JSException too
            raise self._error(exc, entry) from None
        if context.memory()["malloc_size"] >= KEEP_BELOW_BYTES:
            context.gc()  # 0.6 ms, so only when reference counting alone left much behind (cycles)
        if context.memory()["malloc_size"] < KEEP_BELOW_BYTES:
            worker.contexts[key] = context
            while len(worker.contexts) > self.cache_size:
                worker.contexts.popitem(last=False)
        if result is not None and not isinstance(result, str):
            raise ScriptError("result", f"{entry} returned a {type(result).__name__}, not an object")
        return result

    def _compile(self, worker: _Worker, key: str, script: str) -> quickjs.Context:
        if key in worker.broken:
            raise ScriptError("syntax", worker.broken[key])
        context = _engine().Context()
        context.set_memory_limit(self.memory_limit)
        context.set_time_limit(self.time_limit_s)
        try:
            context.eval(_PRELUDE)
            context.eval(_BUFFER)
            context.eval(script)
            context.eval(_HARNESS)
        except _engine().JSException as exc:
            message = _first_line(exc)
            if message.startswith("SyntaxError"):
                if len(worker.broken) >= 4 * self.cache_size:
                    worker.broken.clear()
                worker.broken[key] = f"script does not compile: {message}"
                raise ScriptError("syntax", worker.broken[key]) from None
            raise self._error(exc, "loading the script") from None
        return context

    def _error(self, exc: Exception, during: str) -> ScriptError:
        message = _first_line(exc)
        if message == "InternalError: interrupted":
            limit = f"{self.time_limit_s * 1000:g} ms"
            return ScriptError("time_limit", f"{during}: time limit of {limit} exceeded")
        if message == "InternalError: out of memory":
            limit = f"{self.memory_limit / 1024 / 1024:g} MiB"
            return ScriptError("memory_limit", f"{during}: memory limit of {limit} exceeded")
        return ScriptError("exception", f"{during} failed: {message}")


_default: ScriptRunner | None = None
_default_lock = threading.Lock()


def default_runner() -> ScriptRunner:
    """The process-wide runner (limits from CODEC_JS_TIME_LIMIT_MS / CODEC_JS_MEMORY_LIMIT_BYTES)."""
    global _default  # noqa: PLW0603
    with _default_lock:
        if _default is None:
            _default = ScriptRunner()
        return _default
