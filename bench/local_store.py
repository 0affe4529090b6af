"""What the local cloud's DynamoDB costs per request: moto's own server (werkzeug and Flask, moto's
dispatcher, botocore's model to parse and serialize) against moto's backend served by
`localcloud/dynamodb_server.py`, without a journal, with it unsynced, and synced with group commit
(`make run`'s default). Writers run in a child process (threads, each with its own boto3 client, as
Lambda workers are), so this process's CPU is the server's alone.

    python -m bench.local_store [--seconds 5] [--threads 8] [--endpoint URL --endpoint-pid PID]

`--endpoint` adds another DynamoDB-compatible server already running (e.g. dynalite from npm:
`npx dynalite --port 4567 --path ./db`), its CPU read from /proc/<endpoint-pid>/stat.

Per case: requests per second, server CPU per request, and the median request latency. Each request is
the mix one uplink makes: a conditional UpdateItem of a session-sized item (~1 KB with a 300-byte binary
attribute), a consistent GetItem of it, and a conditional PutItem of a new item.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import resource
import statistics
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import boto3

from localcloud.dynamodb import LocalDynamoDB, free_port
from localcloud.template import LOCAL_REGION, TableDef

TABLE = TableDef(
    name="Sessions",
    ttl_attribute=None,
    create_args={
        "TableName": "Sessions",
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "dev_eui", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "dev_eui", "AttributeType": "S"}],
    },
)
CASES = (("moto server", "none"), ("lean", "none"), ("lean", "unsynced"), ("lean", "synced"))


def mix(n: int, f_cnt: int) -> list[tuple[str, dict[str, Any]]]:
    """What one uplink asks of its session's table, roughly: update, read back, a new item."""
    key = {"dev_eui": {"S": f"{n:016x}"}}
    values = {":new": {"N": str(f_cnt)}, ":blob": {"B": bytes(300)}, ":s": {"S": "x" * 600}}
    update = {
        "TableName": "Sessions", "Key": key, "ExpressionAttributeValues": values,
        "UpdateExpression": "SET f_cnt = :new, payload = :blob, note = :s",
        "ConditionExpression": "attribute_not_exists(f_cnt) OR f_cnt < :new",
    }  # fmt: skip
    new = {"dev_eui": {"S": f"{n:08x}-{f_cnt}"}, "note": {"S": "y" * 700}}
    return [
        ("update_item", update),
        ("get_item", {"TableName": "Sessions", "Key": key, "ConsistentRead": True}),
        (
            "put_item",
            {
                "TableName": "Sessions",
                "Item": new,
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": "dev_eui"},
            },
        ),
    ]


def writers(url: str, threads: int, seconds: float, conn: Connection) -> None:
    """The child: `threads` clients sending the mix for `seconds`; sends back the latencies."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        client = boto3.client(
            "dynamodb", endpoint_url=url, region_name=LOCAL_REGION,
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        mine: list[float] = []
        f_cnt = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            f_cnt += 1
            for call, request in mix(n, f_cnt):
                started = time.perf_counter()
                getattr(client, call)(**request)
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    conn.send(latencies)


def start(server: str, journal: Path | None) -> tuple[Any, LocalDynamoDB | None, str]:
    if server.startswith("http"):  # already running elsewhere
        LocalDynamoDB([TABLE], endpoint_url=server).create_tables()
        return None, None, server
    if server == "moto server":
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        url = f"http://127.0.0.1:{port}"
        local = LocalDynamoDB([TABLE], endpoint_url=url)
        local.create_tables()
        return moto, None, url
    local = LocalDynamoDB([TABLE]).start_moto(journal=journal)
    local.create_tables()
    if local.journal is not None:
        local.journal.recording = True
    return None, local, str(local.endpoint_url)


def process_cpu(pid: int | None) -> float:
    """CPU seconds of `pid`, or of this process when None."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    server: str, mode: str, seconds: float, threads: int, pid: int | None = None
) -> tuple[float, float, float]:
    """(requests/s, server CPU ms per request, median latency ms) for one case."""
    with tempfile.TemporaryDirectory() as directory:
        journal = Path(directory) / "dynamodb.journal" if mode != "none" else None
        moto, local, url = start(server, journal)
        if local is not None and local.journal is not None:
            local.journal.fsync = mode == "synced"
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        child = context.Process(target=writers, args=(url, threads, seconds, there))
        child.start()
        time.sleep(1.5)  # the child's imports, before the clock starts
        cpu_before = process_cpu(pid)
        latencies: list[float] = here.recv()
        cpu = process_cpu(pid) - cpu_before
        child.join()
        if server.startswith("http"):
            LocalDynamoDB([TABLE], endpoint_url=url).drop_tables()
        if moto is not None:
            LocalDynamoDB([TABLE], endpoint_url=url).drop_tables()  # moto's tables outlive its server
            moto.stop()
        if local is not None:
            local.stop()
        count = max(1, len(latencies))
        return len(latencies) / seconds, cpu / count * 1000, statistics.median(latencies or [0.0]) * 1000


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--endpoint", help="also measure this DynamoDB-compatible server")
    parser.add_argument("--endpoint-pid", type=int, help="its process, for its CPU")
    parser.add_argument("--rounds", type=int, default=1, help="cases interleaved, this many times each")
    args = parser.parse_args()
    print(f"{'server':<12} {'journal':<9} {'requests/s':>10} {'CPU ms/request':>15} {'p50 ms':>7}")
    for _ in range(args.rounds):
        cases = [*CASES, *([(args.endpoint, "its own")] if args.endpoint else [])]
        for server, mode in cases:
            pid = args.endpoint_pid if server == args.endpoint else None
            rate, cpu, p50 = run(server, mode, args.seconds, args.threads, pid)
            name = "endpoint" if server == args.endpoint else server
            print(f"{name:<12} {mode:<9} {rate:>10.0f} {cpu:>15.2f} {p50:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
