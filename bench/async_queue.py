"""What keeping the local Lambda's asynchronous invocations on disk costs (invocation_journal.py): the
same burst of asynchronous invocations of a function that does nothing, through `LambdaService`
with the queue in memory only (before), with the journal unsynced (survives a killed process, not a
power cut) and with the synced journal (`make run`'s default: group-commit fsync before the
acknowledgement).

    python -m bench.async_queue [--invocations 3000] [--callers 8] [--concurrency 4]

Per case: acknowledgements per second and their median wait (each caller waits for its
acknowledgement before the next invocation, as an API request thread waits for its 202; the rules
engine's PUBACKs wait the same way without holding a thread), invocations completed per second, this
process's CPU per invocation (the runtime's side: accepting, journaling, dispatching; the workers' CPU
is apart and the same in every case), and fsyncs per invocation.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from localcloud.invocation_journal import InvocationJournal
from localcloud.lambda_runtime import InvocationResult, LambdaService
from localcloud.template import FunctionDef

ROOT = Path(__file__).resolve().parent.parent
CASES = ("in memory", "journal unsynced", "journal synced")


def nothing(event: Any, context: Any) -> None:
    """The function invoked: the bench measures the queue, not a handler."""


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_case(case: str, invocations: int, callers: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "lambda-async.journal"
        journal = None if case == "in memory" else InvocationJournal(path, fsync=case == "journal synced")
        function = FunctionDef(
            name="Nothing", handler="bench.async_queue.nothing", environment={}, timeout_s=30, memory_mb=128
        )
        environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
        if sys.prefix != sys.base_prefix:
            environment["VIRTUAL_ENV"] = sys.prefix
        service = LambdaService(
            {"Nothing": function}, environment, dead_letters=Path(directory) / "dead-letters.jsonl",
            concurrency=concurrency, journal=journal,
        )  # fmt: skip
        try:
            for _ in range(concurrency):  # warm environments: the cold starts are not the queue's cost
                service.invoke("Nothing", {})
            futures: list[Future[InvocationResult]] = []
            lock = threading.Lock()
            event = {
                "phyPayload": "QAEAAAAAAQABAgME",
                "rxInfo": {"gatewayId": "0102030405060708", "rssi": -57},
            }

            waits: list[float] = []

            def caller(count: int) -> None:
                for _ in range(count):
                    accepted, asked = threading.Event(), time.perf_counter()
                    future = service.invoke_async("Nothing", event, accepted.set)
                    accepted.wait()
                    with lock:
                        waits.append(time.perf_counter() - asked)
                        futures.append(future)

            threads = [
                threading.Thread(target=caller, args=(invocations // callers,)) for _ in range(callers)
            ]
            cpu, start = _cpu_s(), time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            accepted_s = time.perf_counter() - start
            for future in futures:
                assert future.result(timeout=120).ok
            done_s, cpu = time.perf_counter() - start, _cpu_s() - cpu
            count = len(futures)
            return {
                "case": case,
                "acknowledged/s": round(count / accepted_s),
                "acknowledgement p50 (ms)": round(statistics.median(waits) * 1000, 2),
                "completed/s": round(count / done_s),
                "runtime CPU per invocation (ms)": round(cpu / count * 1000, 3),
                "fsyncs per invocation": round(journal.syncs / count, 3) if journal and journal.fsync else 0,
            }
        finally:
            service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=3000)
    parser.add_argument("--callers", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    print(
        f"{args.invocations} asynchronous invocations, {args.callers} callers, "
        f"{args.concurrency} environments"
    )
    for case in CASES:
        print(run_case(case, args.invocations, args.callers, args.concurrency), flush=True)


if __name__ == "__main__":
    main()
