"""The local Lambda runtime: real worker processes with Lambda's warm, timeout and async-retry rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.lambda_runtime import FunctionPool, LambdaService
from localcloud.template import FunctionDef

BASE_ENV = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
if sys.prefix != sys.base_prefix:
    BASE_ENV["VIRTUAL_ENV"] = sys.prefix


def _function(name: str, handler: str, timeout_s: int = 3, **environment: str) -> FunctionDef:
    return FunctionDef(
        name=name,
        handler=handler if "." in handler else f"tests.support.local_handlers.{handler}",
        environment=dict(environment),
        timeout_s=timeout_s,
        memory_mb=128,
    )


@pytest.fixture
def logs() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def service(tmp_path: Path, logs: list[tuple[str, str]]) -> Iterator[LambdaService]:
    functions = {
        "Echo": _function("Echo", "echo", GREETING="hello"),
        "Fail": _function("Fail", "fail"),
        "Sleep": _function("Sleep", "sleep", timeout_s=1),
        "Exits": _function("Exits", "exits"),
        "Missing": _function("Missing", "no_such_handler"),
    }
    service = LambdaService(
        functions,
        BASE_ENV,
        dead_letters=tmp_path / "dead-letters.jsonl",
        concurrency=2,
        retry_delays_s=(0.0, 0.0),
        log_sink=lambda name, line: logs.append((name, line)),
    )
    yield service
    service.close()


def test_a_warm_environment_keeps_its_state_and_sees_the_function_environment(service: LambdaService) -> None:
    first = service.invoke("Echo", {"n": 1})
    second = service.invoke("Echo", {"n": 2})
    assert first.ok and second.ok
    assert first.payload["event"] == {"n": 1}
    assert first.payload["greeting"] == "hello"
    assert first.payload["function_name"] == "Echo"
    assert 0 < first.payload["remaining_ms"] <= 3000
    assert second.payload["pid"] == first.payload["pid"]
    assert second.payload["calls_in_this_environment"] == 2
    assert service.pool("Echo").cold_starts == 1


def test_functions_are_found_by_arn_too(service: LambdaService) -> None:
    assert service.invoke("arn:aws:lambda:eu-west-1:000000000000:function:Echo", {}).ok
    with pytest.raises(KeyError):
        service.invoke("Nobody", {})


def test_an_error_comes_back_as_a_function_error_and_its_traceback_is_logged(
    service: LambdaService, tmp_path: Path, logs: list[tuple[str, str]]
) -> None:
    result = service.invoke("Fail", {"marker": str(tmp_path / "m")})
    assert not result.ok and result.error is not None
    assert result.error["errorType"] == "RuntimeError"
    assert result.error["errorMessage"] == "attempt 1 fails"
    deadline = time.monotonic() + 5
    while not any("RuntimeError: attempt 1 fails" in line for name, line in logs if name == "Fail"):
        assert time.monotonic() < deadline, logs
        time.sleep(0.05)


def test_a_timeout_kills_the_environment_and_the_next_call_gets_a_fresh_one(service: LambdaService) -> None:
    result = service.invoke("Sleep", {"seconds": 5})
    assert result.error is not None and result.error["errorType"] == "Sandbox.Timedout"
    assert service.invoke("Sleep", {"seconds": 0}).payload == "woke"
    assert service.pool("Sleep").cold_starts == 2


def test_a_crashed_runtime_is_reported_and_replaced(service: LambdaService) -> None:
    result = service.invoke("Exits", {})
    assert result.error is not None and result.error["errorType"] == "Runtime.ExitError"
    assert service.invoke("Echo", {}).ok


def test_a_missing_handler_is_an_import_error_on_every_call(service: LambdaService) -> None:
    result = service.invoke("Missing", {})
    assert result.error is not None and result.error["errorType"] == "Runtime.ImportModuleError"


def test_async_failures_are_retried_twice_then_dead_lettered(service: LambdaService, tmp_path: Path) -> None:
    event = {"marker": str(tmp_path / "always")}
    result = service.invoke_async("Fail", event).result(timeout=20)
    assert not result.ok
    assert (tmp_path / "always").read_text() == "3"  # the first attempt and two retries
    (letter,) = [json.loads(line) for line in (tmp_path / "dead-letters.jsonl").read_text().splitlines()]
    assert letter["function"] == "Fail" and letter["event"] == event


def test_an_async_call_that_succeeds_on_retry_is_not_dead_lettered(
    service: LambdaService, tmp_path: Path
) -> None:
    event = {"marker": str(tmp_path / "once"), "succeed_after": 1}
    assert service.invoke_async("Fail", event).result(timeout=20).ok
    assert (tmp_path / "once").read_text() == "2"
    assert not (tmp_path / "dead-letters.jsonl").exists()


def test_concurrency_is_bounded_by_the_pool(tmp_path: Path) -> None:
    pool = FunctionPool(_function("Echo", "echo"), BASE_ENV, concurrency=2, log_sink=lambda *_: None)
    try:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(6) as executor:
            pids = {r.payload["pid"] for r in executor.map(pool.invoke, range(12))}
        assert 1 <= len(pids) <= 2
        assert pool.cold_starts == len(pids)
    finally:
        pool.close()


def test_one_functions_hung_async_calls_never_starve_another_function(service: LambdaService) -> None:
    """Issue 15: a webhook that never answered filled the one shared async pool, and the events to MQTT
    (another function) waited behind it. Each function now has its own queue, as on Lambda."""
    hung = [service.invoke_async("Sleep", {"seconds": 30}) for _ in range(30)]  # each times out after 1 s
    echo = service.invoke_async("Echo", {"n": 1})
    assert echo.result(timeout=60).ok
    assert sum(f.done() for f in hung) < 5  # Echo did not wait for the hung backlog (20+ done before)


def test_a_waiting_retry_holds_no_slot(service: LambdaService, tmp_path: Path) -> None:
    service.retry_delays_s = (3.0, 3.0)
    failing = service.invoke_async("Fail", {"marker": str(tmp_path / "m"), "succeed_after": 2})
    deadline = time.monotonic() + 20
    while not (tmp_path / "m").exists():  # the first attempt failed; its retry now waits 3 s on a timer
        assert time.monotonic() < deadline
        time.sleep(0.05)
    quick = [service.invoke_async("Fail", {"marker": str(tmp_path / f"q{n}"), "succeed_after": 0})
             for n in range(4)]  # fmt: skip
    assert all(f.result(timeout=20).ok for f in quick)
    assert not failing.done()  # the retries of the first were still waiting when these ran
    assert failing.result(timeout=30).ok


def test_a_cold_start_s_init_is_not_part_of_the_function_timeout(tmp_path: Path) -> None:
    """Lambda times init (up to 10 s) apart from the invocation: a 2 s import under a 1 s timeout works,
    as it does on AWS (on a loaded machine a cold worker's imports took longer than the timeout, and
    every first uplink after a start timed out and was dead-lettered)."""
    slow = FunctionDef(
        name="SlowInit", handler="tests.support.slow_init_handler.handler",
        environment={"INIT_SLEEP_S": "2"}, timeout_s=1, memory_mb=128,
    )  # fmt: skip
    pool = FunctionPool(slow, BASE_ENV, concurrency=1)
    try:
        result = pool.invoke({"n": 1})
        assert result.ok, result.error
        assert result.payload == {"event": {"n": 1}}
        assert pool.invoke({"n": 2}).ok  # warm now: no second init
        assert pool.cold_starts == 1
    finally:
        pool.close()


def test_idle_environments_are_stopped_and_the_next_call_starts_one_cold() -> None:
    """Lambda reclaims idle environments; here an idle worker is a process holding memory."""
    pool = FunctionPool(_function("Echo", "echo"), BASE_ENV, concurrency=2, log_sink=lambda *_: None)
    try:
        first = pool.invoke({"n": 1}).payload["pid"]
        assert pool.stop_idle(idle_limit_s=60) == 0  # used a moment ago: kept warm
        assert pool.invoke({"n": 2}).payload["pid"] == first
        time.sleep(0.2)
        assert pool.stop_idle(idle_limit_s=0.1) == 1
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)
        again = pool.invoke({"n": 3})
        assert again.ok and again.payload["pid"] != first and pool.cold_starts == 2
    finally:
        pool.close()


def test_the_service_scales_idle_functions_down_by_itself(tmp_path: Path) -> None:
    service = LambdaService(
        {"Echo": _function("Echo", "echo")}, BASE_ENV, dead_letters=tmp_path / "dead.jsonl",
        idle_limit_s=0.4, log_sink=lambda *_: None,
    )  # fmt: skip
    try:
        pid = service.invoke("Echo", {}).payload["pid"]
        deadline = time.monotonic() + 20
        while service.pools["Echo"]._all and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not service.pools["Echo"]._all
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        service.close()


def _concurrently(pool: FunctionPool, events: list[dict[str, object]]) -> list[dict[str, object]]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(events)) as executor:
        results = list(executor.map(pool.invoke, events))
    assert all(r.ok for r in results), [r.error for r in results]
    return [r.payload for r in results]


def test_environments_are_forked_from_one_template_and_each_keeps_its_own_module_state() -> None:
    """Each environment is a fork of the function's template process (which imported the handler once);
    from the fork on its module state is its own, as each Lambda environment's is."""
    pool = FunctionPool(_function("Count", "count"), BASE_ENV, concurrency=2, log_sink=lambda *_: None)
    try:
        pool.invoke({})  # one warm environment: while it serves the next call, the one after starts another
        first, second = _concurrently(pool, [{"seconds": 1}, {"seconds": 1}])
        assert first["pid"] != second["pid"] and pool.cold_starts == 2
        assert first["parent"] == second["parent"] != os.getpid()  # both forked by one template
        assert sorted([first["calls_in_this_environment"], second["calls_in_this_environment"]]) == [1, 2]
        counts = {}
        for _ in range(6):
            payload = pool.invoke({}).payload
            counts[payload["pid"]] = payload["calls_in_this_environment"]
        assert set(counts) <= {first["pid"], second["pid"]} and sum(counts.values()) >= 7
        for pid in (first["pid"], second["pid"]):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
        again = pool.invoke({}).payload
        assert again["parent"] == first["parent"]  # forked from the same template...
        assert again["calls_in_this_environment"] == 1  # ...whose state no environment changed
    finally:
        pool.close()


def test_a_killed_environment_is_replaced_and_so_is_a_killed_template() -> None:
    pool = FunctionPool(_function("Count", "count"), BASE_ENV, concurrency=1, log_sink=lambda *_: None)
    try:
        first = pool.invoke({}).payload
        os.kill(first["pid"], signal.SIGKILL)
        _wait_gone(first["pid"])
        second = pool.invoke({}).payload
        assert second["pid"] != first["pid"] and second["parent"] == first["parent"]
        assert second["calls_in_this_environment"] == 1 and pool.cold_starts == 2

        os.kill(second["parent"], signal.SIGKILL)  # the template: its environment serves on
        serving = pool.invoke({}).payload  # (reparented: its parent is gone)
        assert serving["pid"] == second["pid"] and serving["calls_in_this_environment"] == 2
        os.kill(second["pid"], signal.SIGKILL)
        third = pool.invoke({})  # may first meet the dead environment, as Lambda may report its exit
        if not third.ok:
            assert third.error is not None and third.error["errorType"] == "Runtime.ExitError"
            third = pool.invoke({})
        assert third.ok and third.payload["parent"] not in (second["parent"], os.getpid())
    finally:
        pool.close()


def test_a_timeout_kills_only_that_environment() -> None:
    pool = FunctionPool(
        _function("Count", "count", timeout_s=1), BASE_ENV, concurrency=2, log_sink=lambda *_: None
    )
    try:
        from concurrent.futures import ThreadPoolExecutor

        assert pool.invoke({}).ok  # warm: the hung call below does not hold the one cold start
        with ThreadPoolExecutor(2) as executor:
            hung = executor.submit(pool.invoke, {"seconds": 5})
            time.sleep(0.3)  # the hung call holds the first environment; this one starts a second
            survivor = pool.invoke({"seconds": 0}).payload
            result = hung.result(timeout=20)
        assert result.error is not None and result.error["errorType"] == "Sandbox.Timedout"
        assert _alive(survivor["pid"]) and _alive(survivor["parent"])
        after = pool.invoke({}).payload
        assert after["pid"] == survivor["pid"] and after["calls_in_this_environment"] == 2
        assert survivor["parent"] == after["parent"]
    finally:
        pool.close()


@pytest.mark.parametrize(
    "credentials",
    [{}, {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}],
    ids=["no credentials", "credentials in the environment"],
)
def test_the_stacks_handlers_are_safe_to_fork_after_their_import(credentials: dict[str, str]) -> None:
    """No handler module starts a thread, opens a socket or connects a PynamoDB model at import: the
    template may fork it (connections are made in each environment). With credentials in the
    environment, as on Lambda and in the local cloud, the DynamoDB client is made at import; without,
    at the first request (making it would look for credentials, instance metadata included)."""
    root = Path(__file__).resolve().parents[2]
    handlers = sorted(
        f"functions.{path.parent.parent.name}.handlers.{path.stem}"
        for path in root.glob("functions/*/handlers/*.py")
        if path.stem != "__init__"
    )
    assert len(handlers) >= 8
    script = (
        "import importlib, json, sys\n"
        "from localcloud.lambda_worker import fork_hazards\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        "    found[name] = fork_hazards()\n"
        "print(json.dumps(found))\n"
    )
    env = {**BASE_ENV, "AWS_REGION": "eu-west-1", "POWERTOOLS_TRACE_DISABLED": "true", **credentials}
    out = subprocess.run(
        [sys.executable, "-c", script, *handlers],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out.splitlines()[-1]) == {name: [] for name in handlers}


def test_a_template_that_is_not_safe_to_fork_starts_each_environment_afresh(
    logs: list[tuple[str, str]],
) -> None:
    """A module that starts a thread at import cannot be forked safely: the template says so on the log,
    and each environment is a fresh interpreter that imports the handler itself."""
    pool = FunctionPool(
        _function("Threaded", "tests.support.threaded_handler.handler"), BASE_ENV, concurrency=1,
        log_sink=lambda name, line: logs.append((name, line)),
    )  # fmt: skip
    try:
        first = pool.invoke({})
        assert first.ok, first.error
        assert first.payload["threads"] >= 2  # its own import started its own thread
        assert any("not safe to fork" in line for name, line in logs if name == "Threaded")
    finally:
        pool.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, f"{pid} still runs"
        time.sleep(0.05)


def test_one_function_may_have_more_environments_than_the_others(tmp_path: Path) -> None:
    """The uplink function waits out its de-duplication window in every call: it gets its own limit."""
    service = LambdaService(
        {"Waits": _function("Waits", "count"), "Other": _function("Other", "count")}, BASE_ENV,
        dead_letters=tmp_path / "dead.jsonl", concurrency=1, concurrency_of={"Waits": 3},
        log_sink=lambda *_: None,
    )  # fmt: skip
    try:
        calls = [service.invoke_async(name, {"seconds": 0.5}) for name in ("Waits",) * 6 + ("Other",) * 6]
        results = [call.result(timeout=60) for call in calls]
        assert all(r.ok for r in results), [r.error for r in results]
        assert 2 <= len({r.payload["pid"] for r in results[:6]}) <= 3
        assert len({r.payload["pid"] for r in results[6:]}) == 1
    finally:
        service.close()


def test_a_template_with_no_environment_left_is_stopped_when_idle_too() -> None:
    """At rest the stack holds no template: it goes with the function's last environment."""
    pool = FunctionPool(_function("Count", "count"), BASE_ENV, concurrency=1, log_sink=lambda *_: None)
    try:
        first = pool.invoke({}).payload
        time.sleep(0.2)
        assert pool.stop_idle(idle_limit_s=0.1) == 1
        _wait_gone(first["pid"])
        _wait_gone(first["parent"])
        again = pool.invoke({}).payload  # a new template, imported afresh
        assert again["parent"] != first["parent"] and again["calls_in_this_environment"] == 1
    finally:
        pool.close()
