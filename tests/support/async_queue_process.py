"""A local Lambda runtime in a process of its own, with the asynchronous invocation journal, for a test
to kill (-9) and start again: `python -m tests.support.async_queue_process JOURNAL [EVENT_JSON]`.

It resumes what the journal holds, accepts EVENT_JSON (if given) for the `Record` function, prints
`accepted` once the invocation is journaled, `done ok=...` each time an invocation finishes, and runs until
killed."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from localcloud.invocation_journal import InvocationJournal
from localcloud.lambda_runtime import LambdaService
from localcloud.template import FunctionDef
from tests.functional.test_local_lambda_runtime import BASE_ENV


def main() -> None:
    journal_path = Path(sys.argv[1])
    record = FunctionDef(
        name="Record",
        handler="tests.support.local_handlers.record_when_open",
        environment={},
        timeout_s=120,
        memory_mb=128,
    )
    service = LambdaService(
        {"Record": record},
        BASE_ENV,
        dead_letters=journal_path.with_name("dead-letters.jsonl"),
        retry_delays_s=(0.0, 0.0),
        journal=InvocationJournal(journal_path),
    )
    futures = service.resume()
    print(f"resumed {len(futures)}", flush=True)
    if len(sys.argv) > 2:
        futures.append(
            service.invoke_async("Record", json.loads(sys.argv[2]), lambda: print("accepted", flush=True))
        )
    for future in futures:
        future.add_done_callback(lambda f: print(f"done ok={f.result().ok}", flush=True))
    threading.Event().wait()


if __name__ == "__main__":
    main()
