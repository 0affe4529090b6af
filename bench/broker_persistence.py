"""What Mosquitto's `autosave_on_changes` costs (localcloud/broker.py): QoS 1 publishes per second and
broker CPU per publish, with the snapshot saved every second (`autosave_interval 1`) against saved after
every change that queues a message (`autosave_on_changes true`), once with the subscriber online (the
message goes straight out: no change counted) and once with its persistent session offline (each
message queued: a change, so a snapshot per loop of the broker).

    python -m bench.broker_persistence [--messages 3000] [--window 64]

The publisher keeps `--window` publishes in flight (the bridge does not wait for one PUBACK before
sending the next uplink); messages are uplink-sized (~400 bytes).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from awscrt import mqtt5

from localcloud.broker import CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from localcloud.mqtt import ServiceSession

TOPIC = "eu868/gateway/0102030405060708/event/up"


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_case(on_changes: bool, online: bool, messages: int, window: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        broker = Mosquitto(Path(directory), port=free_port(), persistence=True, save_on_changes=on_changes)
        broker.start()
        try:
            access = broker.access_for(CLOUD_IDENTITY)
            subscriber = ServiceSession(
                access, f"{CLOUD_IDENTITY}-subscriber", on_message=lambda *_: None, persistent=True
            ).start()
            subscriber.subscribe([TOPIC])
            if not online:
                subscriber.stop()
                time.sleep(0.5)
            publisher = ServiceSession(access, f"{CLOUD_IDENTITY}-publisher").start()
            payload = b"x" * 400
            assert broker._process is not None
            pid = broker._process.pid
            cpu, start = _cpu_s(pid), time.perf_counter()
            client = publisher._client
            pending: list[Any] = []
            for _ in range(messages):
                pending.append(
                    client.publish(mqtt5.PublishPacket(topic=TOPIC, payload=payload, qos=mqtt5.QoS(1)))
                )
                if len(pending) >= window:
                    pending.pop(0).result(30)
            for future in pending:
                future.result(30)
            elapsed, cpu = time.perf_counter() - start, _cpu_s(pid) - cpu
            publisher.stop()
            if online:
                subscriber.stop()
            return {
                "autosave": "on changes" if on_changes else "every second",
                "subscriber": "online" if online else "offline (queued)",
                "publishes/s": round(messages / elapsed),
                "broker CPU per publish (ms)": round(cpu / messages * 1000, 3),
            }
        finally:
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--window", type=int, default=64)
    args = parser.parse_args()
    for online in (True, False):
        for on_changes in (False, True):
            print(run_case(on_changes, online, args.messages, args.window), flush=True)


if __name__ == "__main__":
    main()
