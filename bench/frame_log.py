"""What frame logs and metrics add to an uplink: DynamoDB requests, bytes on the wire and billed write
units, watched and not, for frames heard by one or three gateways (a device's counters ride on its
session save and reach their bucket once an hour; a gateway's come from its stats reports, not from the
frames it hears: see functions/shared/frame_log.py), and the size of the session item each uplink writes
(DynamoDB's rule, `bench/item_size.py`), which carries the device's counters of the hour.

    python -m bench.frame_log [--uplinks N]

Runs the real pipeline (`functions.network.uplink`) against the local cloud's DynamoDB server (HTTP,
`bench.network.start_store`), with the real join server and reference devices, and counts only the
requests to the frame-log tables (`MetricsBucket`, `FrameLogItem`; an hour that ends during a run adds
one bucket update per device). Bytes are the JSON bodies of requests and answers as the
DynamoDB API carries them; write units are DynamoDB's rule (item size, names plus values, rounded up
to 1 KB; an UpdateItem costs the larger of the item before and after).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import math
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("LORALESS_LOCAL_MASTER_KEY", "44" * 32)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

from pynamodb.connection import base as pynamodb_base

from bench.item_size import item_size
from bench.network import start_store
from functions.appserver.join_server import handle_join
from functions.appserver.models import APPLICATION_TABLES, Device
from functions.lorawan.device import otaa
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from functions.network import gateway_registry, service
from functions.network.models import NETWORK_TABLES, DeviceSession, Gateway
from functions.network.uplink import Ports, handle_reception
from functions.network.uplink import context as pipeline_context
from functions.shared import envelope
from functions.shared.frame_tables import FrameLogItem, MetricsBucket
from functions.shared.interface import JoinReq
from tests.functional.test_network_pipeline import reception as test_reception

APP_KEY = AES128Key.parse("2b7e151628aed2a6abf7158809cf4f3c")
GATEWAYS = [f"0016c001ff10a2{i:02x}" for i in range(3)]


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    received: int = 0
    write_units: int = 0
    all_requests: int = 0
    session_bytes: int = 0
    session_saves: int = 0

    def clear(self) -> None:
        self.requests.clear()
        self.sent = self.received = self.write_units = self.all_requests = 0
        self.session_bytes = self.session_saves = 0


TALLY = Tally()


def _size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers about half their digits plus one)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        kind, raw = next(iter(value.items()))
        total += (
            len(str(raw).lstrip("-").replace(".", "")) // 2 + 1 if kind == "N" else len(str(raw).encode())
        )
    return total


def count_requests() -> None:
    original = pynamodb_base.Connection._make_api_call
    tables = {FrameLogItem.Meta.table_name, MetricsBucket.Meta.table_name}

    def counting(self: Any, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        answer = original(self, operation_name, operation_kwargs)
        TALLY.all_requests += 1
        if operation_kwargs.get("TableName") == DeviceSession.Meta.table_name and operation_name == "PutItem":
            TALLY.session_saves += 1
            TALLY.session_bytes += item_size(operation_kwargs["Item"])
        if operation_kwargs.get("TableName") in tables:
            TALLY.requests[operation_name] += 1
            TALLY.sent += len(json.dumps(operation_kwargs, separators=(",", ":")))
            TALLY.received += len(json.dumps(answer, separators=(",", ":")))
            item = (answer or {}).get("Attributes") or operation_kwargs.get("Item") or {}
            TALLY.write_units += max(1, math.ceil(_size(item) / 1024))
        return answer

    pynamodb_base.Connection._make_api_call = counting  # type: ignore[method-assign]


def reception(frame: bytes, **kwargs: Any) -> Any:
    """A reception as the tests make it, arriving now (the pipeline sends no downlink past its windows)."""
    return dataclasses.replace(test_reception(frame, **kwargs), received_at_ms=int(time.time() * 1000))


def heard_together(copies: list[Any], ports: Ports) -> list[str]:
    """Every gateway's copy at once, as IoT Core runs them; the statuses."""
    statuses: list[str] = []
    threads = [
        threading.Thread(target=lambda r=r: statuses.append(handle_reception(r, ports))) for r in copies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uplinks", type=int, default=60)
    args = parser.parse_args()
    server, url = start_store()
    for model in (*NETWORK_TABLES, *APPLICATION_TABLES):
        model.Meta.host = url  # type: ignore[attr-defined]
        model._connection = None
        model.create_table(wait=True)
    count_requests()
    pipeline_context.SETTINGS.join_server_function = "join-server"
    pipeline_context.SETTINGS.network_events_function = None
    last: list[dict[str, Any]] = []
    ports = Ports(
        count=lambda _name: None,
        publish=lambda _topic, message: last.append(message),
        invoke=lambda _f, payload, wait: handle_join(JoinReq.from_dict(payload)).to_dict(),
        window_s=0.2,
        deliver=lambda _event: None,  # the application server's delivery is not what this bench counts
    )
    for gateway_id in {*GATEWAYS, "0016c001ff10a235"}:  # registered, as the API does (unknown: refused)
        Gateway(gateway_id, org_id="bench").save()
    region = get_region("EU868")
    devices = []
    for index in range(10):
        eui = EUI64.from_int(0x0004A30B00000000 + index)
        sealed = envelope.seal({"app_key": APP_KEY.hex()}, context=str(eui))
        Device(str(eui), join_eui="70b3d57ed0000001", mac_version="1.0.3", root_keys=sealed).save()
        device = otaa(eui, EUI64.parse("70b3d57ed0000001"), region, app_key=APP_KEY, seed=index)
        assert handle_reception(reception(device.join_request().phy_payload), ports) == "joined"
        assert device.accept_join(base64.b64decode(last[-1]["items"][0]["phyPayload"]))
        devices.append(device)

    def run(name: str, heard_by: int, watched: bool) -> None:
        for device in devices if watched else []:  # as the API's /devices/{dev_eui}/frames sets it
            service.watch_device(str(device.dev_eui), now=time.time(), seconds=86400)
        for gateway_id in GATEWAYS:  # as /gateways/{gateway_id}/frames sets it, read with the registration
            Gateway(gateway_id).update(actions=[Gateway.watch_until.set(2**40 if watched else 0)])
        gateway_registry.forget()
        TALLY.clear()
        rng = random.Random(1)
        for index in range(args.uplinks):
            device = devices[index % len(devices)]
            phy = device.uplink(2, b"\x01\x67\x00\xe1").phy_payload
            copies = [reception(phy, gateway=g, snr=rng.uniform(-5, 10)) for g in GATEWAYS[:heard_by]]
            statuses = heard_together(copies, ports)
            assert sorted(statuses) == ["duplicate"] * (heard_by - 1) + ["uplink"], statuses
        n = args.uplinks
        requests = " + ".join(f"{v / n:.2f} {k}" for k, v in sorted(TALLY.requests.items()))
        session = TALLY.session_bytes / max(TALLY.session_saves, 1)
        print(f"{name:<34}{requests:>36}{TALLY.sent / n:>10.0f} B{TALLY.received / n:>10.0f} B"
              f"{TALLY.write_units / n:>8.2f}{TALLY.all_requests / n:>10.1f}{session:>10.0f} B")  # fmt: skip

    print(
        f"{'per uplink':<34}{'frame-log requests':>36}{'sent':>12}{'received':>12}{'WRU':>8}{'all req.':>10}"
        f"{'session':>12}"
    )
    run("not watched, 1 gateway", 1, False)
    run("not watched, 3 gateways", 3, False)
    run("device and gateways watched, 1 gateway", 1, True)
    run("device and gateways watched, 3 gateways", 3, True)
    server.terminate()
    server.wait(10)
    print("(all req.: every DynamoDB request of the pipeline per uplink, de-duplication included, for scale;"
          " session: the session item each uplink saves, in DynamoDB's bytes)")  # fmt: skip


if __name__ == "__main__":
    main()
