"""REST API latency per route type: wall time p50/p99, CPU ms and DynamoDB requests per call of the Api
Lambda handler on real API Gateway proxy events, with a raw DynamoDB GetItem on the same server as the
floor every route stands on (the ratio says what the API adds).

    python -m bench.api [--calls N]

DynamoDB is the local cloud's server in its own process (slower than DynamoDB: read the request counts
as the cost, the milliseconds as an upper bound). Login is slow on purpose (scrypt, 32 MiB, ~0.1 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LORALESS_LOCAL_MASTER_KEY", "55" * 32)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("LORALESS_JWT_SECRET", "bench-" + "s" * 40)

from bench.network import calls, count_dynamodb_calls, start_store
from functions.appserver.auth import new_admin_key
from functions.appserver.models import APPLICATION_TABLES, Device
from functions.network.models import NETWORK_TABLES
from functions.shared.settings import SETTINGS
from tests.support.api import PASSWORD, call, make_tenant, ok


def measure(name: str, n: int, action: Callable[[int], Any]) -> dict[str, Any]:
    walls, cpus = [], []
    calls.clear()
    for i in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        action(i)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    walls.sort()
    return {
        "name": name,
        "n": n,
        "p50": walls[len(walls) // 2] * 1000,
        "p99": walls[min(len(walls) - 1, int(len(walls) * 0.99))] * 1000,
        "cpu": statistics.mean(cpus) * 1000,
        "ddb": sum(calls.values()) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    server, url = start_store()
    for model in (*NETWORK_TABLES, *APPLICATION_TABLES):
        model.Meta.host = url  # type: ignore[attr-defined]
        model._connection = None
        model.create_table(wait=True)
    key, digest = new_admin_key()
    SETTINGS.admin_api_key_sha256 = digest
    tenant = make_tenant(key, "Bench")
    ids, token = tenant.ids, tenant.admin
    count_dynamodb_calls()
    n = args.calls
    device = {"application_id": ids["application_id"], "device_profile_id": ids["profile_id"],
              "app_key": "2b7e151628aed2a6abf7158809cf4f3c"}  # fmt: skip
    one, listing = f"/devices/{ids['dev_eui']}", f"/devices?application_id={ids['application_id']}&limit=50"
    for i in range(49):  # a full page to list
        ok(
            "POST",
            "/devices",
            device | {"dev_eui": f"{0x0004A30C00000000 + i:016x}", "name": f"l{i}"},
            token,
            201,
        )
    rows = [
        measure("DynamoDB GetItem (floor)", n, lambda _: Device.get(ids["dev_eui"])),
        measure("GET /devices/{dev_eui}", n, lambda _: ok("GET", one, token=token)),
        measure("GET /devices (page of 50)", n, lambda _: ok("GET", listing, token=token)),
        measure("POST /devices (create)", n, lambda i: ok("POST", "/devices", device | {
            "dev_eui": f"{0x0004A30B00000000 + i:016x}", "name": f"d{i}"}, token, 201)),
        measure("POST /devices/{dev_eui}/queue", n,
                lambda _: ok("POST", f"{one}/queue", {"f_port": 1, "data": "AQID"}, token, 201)),
        measure("GET /devices/{dev_eui}/events", n,
                lambda _: ok("GET", f"{one}/events?limit=20", token=token)),
        measure("GET with an API key", n, lambda _: ok("GET", one, token=key)),
        measure("401 (no credentials)", n, lambda _: call("GET", one)),
        measure("POST /login (scrypt)", min(n, 30),
                lambda _: ok("POST", "/login", {"email": "admin@bench.example", "password": PASSWORD})),
    ]  # fmt: skip
    server.terminate()
    server.wait(10)
    floor = rows[0]["p50"]
    print(f"{'route':<38}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>9}{'DDB req':>9}{'p50/floor':>11}")
    for row in rows:
        print(f"{row['name']:<38}{row['n']:>5}{row['p50']:>9.2f}{row['p99']:>9.2f}{row['cpu']:>9.2f}"
              f"{row['ddb']:>9.1f}{row['p50'] / floor:>10.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
