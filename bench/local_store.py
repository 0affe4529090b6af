"""What the local cloud's durability costs: conditional writes per second on moto's server without a
journal, with the journal written but not synced, and with every write synced before its answer (the
default of `make run`). Threads in this process play the Lambda workers, each with its own client.

    python -m bench.local_store [--seconds 5] [--threads 8]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import boto3

from localcloud.dynamodb import LocalDynamoDB
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


def run(mode: str, seconds: float, threads: int) -> tuple[float, float]:
    """Writes/s and the median write latency in ms for one mode: none, unsynced or synced."""
    with tempfile.TemporaryDirectory() as directory:
        local = LocalDynamoDB([TABLE])
        journal = Path(directory) / "dynamodb.journal" if mode != "none" else None
        local.start_moto(journal=journal)
        if local.journal is not None:
            local.journal.fsync = mode == "synced"
            local.journal.recording = True
        local.create_tables()
        latencies: list[float] = []
        stop = threading.Event()
        lock = threading.Lock()

        def worker(n: int) -> None:
            client = boto3.client(
                "dynamodb", endpoint_url=local.endpoint_url, region_name=LOCAL_REGION,
                aws_access_key_id="local", aws_secret_access_key="local",
            )  # fmt: skip
            mine: list[float] = []
            f_cnt = 0
            while not stop.is_set():
                started = time.perf_counter()
                client.update_item(
                    TableName="Sessions",
                    Key={"dev_eui": {"S": f"{n:016x}"}},
                    UpdateExpression="SET f_cnt = :new, payload = :blob",
                    ConditionExpression="attribute_not_exists(f_cnt) OR f_cnt < :new",
                    ExpressionAttributeValues={":new": {"N": str(f_cnt + 1)}, ":blob": {"B": bytes(300)}},
                )
                f_cnt += 1
                mine.append(time.perf_counter() - started)
            with lock:
                latencies.extend(mine)

        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in pool:
            thread.join()
        local.stop()
        return len(latencies) / seconds, statistics.median(latencies) * 1000


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    baseline = 0.0
    print(f"{'journal':<10} {'writes/s':>9} {'p50 ms':>7} {'vs none':>8}")
    for mode in ("none", "unsynced", "synced"):
        rate, p50 = run(mode, args.seconds, args.threads)
        baseline = baseline or rate
        print(f"{mode:<10} {rate:>9.0f} {p50:>7.1f} {rate / baseline:>8.2f}")


if __name__ == "__main__":
    main()
