"""Faults tested like features: the whole local stack as a user runs it, devices sending steadily, and one
fault after another (an uplink worker killed, the rules engine's MQTT session taken, the broker stalled,
Mosquitto killed, the bridge killed, the application's webhook hanging, then resetting connections, the
whole stack killed and restarted). Per fault: uplinks sent, delivered to the application (MQTT
`event/up`), lost, duplicated, replays accepted, and the longest delay of a delivered uplink (how long
the fault held traffic up).

Datagrams that no bridge published to the broker while a fault was on (sent while no bridge ran, or
still in a killed bridge's buffer, as a crashed Fargate task loses its own) are counted apart: nothing
had acknowledged them. A subscriber beside the rules engine tells which ones the broker took; all of
those must arrive, through a kill -9 of the whole stack too (the rules engine acknowledges a message
only once the invocations it started are journaled, and a restart runs them again).

Copies of an `up` event sent again after a kill -9 are counted apart too, the same event with the same
`deduplicationId`: Mosquitto restores its sessions from its last snapshot, so a QoS 1 message it
delivered after that goes out once more, and an event-publishing invocation cut short by the kill runs
again from the journal and publishes its event again (MQTT QoS 1 and Lambda's asynchronous invocations
are at least once on AWS too; the application drops the copy by that id). An uplink delivered under
two deduplication ids (processed twice), or twice without a kill in between (published twice), is a
duplicate. CI runs the short form and asserts the counts; `make faults` runs longer phases and prints them.

    LORALESS_FAULT_PHASE_S (default 6) seconds of traffic per phase, LORALESS_FAULT_DEVICES (default 4)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from functions.lorawan.device import EndDevice, EndDeviceSession, abp
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from functions.simulator import provisioning
from functions.simulator.forwarder import PacketForwarder
from localcloud.broker import CLOUD_IDENTITY, Mosquitto
from localcloud.dynamodb import free_port
from localcloud.mqtt import ServiceSession
from tests.support.stack import LocalStack, pids

PHASE_S = float(os.environ.get("LORALESS_FAULT_PHASE_S", "6"))
DEVICES = int(os.environ.get("LORALESS_FAULT_DEVICES", "4"))
INTERVAL_S = 1.0
GATEWAY = "00800000a0f0a017"
DRAIN_S = 30.0
WARM_UP_S = 120.0
PHASE_DRAIN_S = 30.0


@dataclass
class Phase:
    """One fault and what happened to the uplinks sent from its injection until the next phase."""

    name: str
    inject: Callable[[], tuple[float, float] | None]  # returns when the bridge was down, if it was
    started: float = 0.0
    outage: tuple[float, float] | None = None
    sent: list[tuple[str, int, float]] = field(default_factory=list)  # (dev_eui, f_cnt, when)
    bridge_down: set[tuple[str, int]] = field(default_factory=set)
    replays_sent: list[tuple[str, int]] = field(default_factory=list)


class Published:
    """The uplinks the bridge published to the broker, as (DevEUI, FCnt): a subscriber beside the rules
    engine sees each message the broker routed (Basic Ingest topics included, readable by the cloud)."""

    def __init__(self, broker: Mosquitto, devices: list[EndDevice]) -> None:
        self.uplinks: set[tuple[str, int]] = set()
        self._dev_euis = {str(d.session.dev_addr): str(d.dev_eui) for d in devices if d.session is not None}
        self.session = ServiceSession(
            broker.access_for(CLOUD_IDENTITY), f"{CLOUD_IDENTITY}-published-{time.monotonic_ns()}",
            on_message=self._on_message,
        ).start()  # fmt: skip
        self.session.subscribe(["$aws/rules/+/+/gateway/+/event/up", "+/gateway/+/event/up"])

    def _on_message(self, _topic: str, payload: bytes, _client: str) -> None:
        key = self.key(json.loads(payload))
        if key is not None:
            self.uplinks.add(key)

    def key(self, uplink: dict[str, object]) -> tuple[str, int] | None:
        """(DevEUI, FCnt) of a gateway uplink message, None if not one of the devices'."""
        frame = base64.b64decode(str(uplink.get("phyPayload", "")))
        dev_addr = frame[1:5][::-1].hex()  # LoRaWAN 1.0.4 §4.3.1: FHDR DevAddr, then FCtrl, FCnt (LE)
        dev_eui = self._dev_euis.get(dev_addr)
        return None if dev_eui is None or len(frame) < 8 else (dev_eui, int.from_bytes(frame[6:8], "little"))

    def close(self) -> None:
        self.session.stop()


class Deliveries:
    """The application's `event/up` messages as they arrive: (DevEUI, FCnt) -> arrival times."""

    def __init__(self, broker: Mosquitto, application: str) -> None:
        self.arrivals: dict[tuple[str, int], list[float]] = {}
        self.deduplication_ids: dict[tuple[str, int], list[str]] = {}  # beside each arrival
        self.session = ServiceSession(
            broker.access_for(CLOUD_IDENTITY), f"{CLOUD_IDENTITY}-faults-{time.monotonic_ns()}",
            on_message=self._on_message, persistent=True,
        ).start()  # fmt: skip
        self.session.subscribe([f"application/{application}/device/+/event/up"])

    def _on_message(self, _topic: str, payload: bytes, _client: str) -> None:
        event = json.loads(payload)
        key = (event["deviceInfo"]["devEui"], int(event["fCnt"]))
        self.arrivals.setdefault(key, []).append(time.monotonic())
        self.deduplication_ids.setdefault(key, []).append(str(event.get("deduplicationId")))

    def close(self) -> None:
        self.session.stop()


def _device(index: int) -> EndDevice:
    keys = session_keys_1_0(AES128Key(bytes([index]) * 16), index, NetID.parse("000000"), index)
    session = EndDeviceSession.from_1_0(DevAddr.from_int(0x26F00000 + index), keys)
    return abp(EUI64.from_int(0x70B3D57EDFA00000 + index), get_region("EU868"), session, seed=index)


def _provision(stack: LocalStack, devices: list[EndDevice]) -> str:
    """Devices (ABP) and the gateway through the REST API; returns the application's id."""
    url, token = f"http://127.0.0.1:{stack.ports['api']}/v1", provisioning.admin_token(stack.data_dir)
    application = ""
    for device in devices:
        created = provisioning.provision_device(
            url, token, dev_eui=str(device.dev_eui), join_eui="0000000000000000",
            app_key=bytes(16).hex(), name=f"faults-{device.dev_eui}", application="faults",
        )  # fmt: skip
        application = created["application_id"]
        session = device.session
        assert session is not None
        status, answer = stack.api(
            "POST", f"/devices/{device.dev_eui}/activate",
            {"dev_addr": str(session.dev_addr), "app_s_key": session.app_s_key.hex(),
             "nwk_s_key": session.f_nwk_s_int_key.hex()},
        )  # fmt: skip
        assert status == 204, answer
    status, organization = stack.api("GET", f"/applications/{application}")
    assert status == 200 and isinstance(organization, dict)
    status, answer = stack.api(
        "POST", "/gateways",
        {"gateway_id": GATEWAY, "organization_id": organization["organization_id"], "name": "faults"},
    )  # fmt: skip
    assert status in (201, 409), answer
    return str(application)


def _health_ok(stack: LocalStack) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.ports['health']}/", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _journaled_uplinks(data_dir: Path, published: Published) -> tuple[set[tuple[str, int]], int]:
    """From the local Lambda's journal (localcloud/invocation_journal.py): the uplinks it accepted, and
    how many of those invocations are not finished; a line being written is skipped."""
    accepted: dict[str, tuple[str, int] | None] = {}
    finished: set[str] = set()
    path = data_dir / "lambda-async.journal"
    for raw in path.read_bytes().splitlines() if path.exists() else []:
        with contextlib.suppress(ValueError):
            entry = json.loads(raw)
            if entry["op"] == "add" and isinstance(entry["event"], dict) and "phyPayload" in entry["event"]:
                accepted[entry["id"]] = published.key(entry["event"])
            elif entry["op"] == "done":
                finished.add(entry["id"])
    keys = {key for key in accepted.values() if key is not None}
    return keys, len(accepted.keys() - finished)


def _descendants(root: int) -> list[int]:
    found, pending = [], [root]
    while pending:
        for task in Path(f"/proc/{pending.pop()}/task").glob("*"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                kids = [int(kid) for kid in (task / "children").read_text().split()]
                found.extend(kids)
                pending.extend(kids)
    return found


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0


class Receiver:
    """A tenant's webhook receiver gone bad: it accepts each connection and never answers (`hang`), or
    resets it at once (`refuse`, as a crashed service behind a load balancer). `connections` counts the
    deliveries that reached it, so a phase knows its fault is in effect."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.server.accept()
                self.connections += 1
                if self.behaviour == "hang":
                    self.held.append(connection)  # read nothing, answer nothing
                else:
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    connection.close()  # RST

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


def _faults(
    stack: LocalStack,
    broker_crashes: list[float],
    application: str,
    receivers: dict[str, Receiver],
    pending_at_kill: list[int],
    published: Published,
) -> list[Phase]:
    """The phases; `broker_crashes` gets the instant of each kill -9 of Mosquitto, `pending_at_kill`
    how many uplink invocations were accepted and not finished at the kill of the whole stack."""
    broker = Mosquitto(stack.data_dir / "broker", port=stack.ports["mqtt"])

    def webhook_to(receiver: Receiver) -> None:
        """The application's HTTP integration points at the receiver; the fault is in effect once its
        events reach it (a warm events function reads the application again within 30 s)."""
        url = f"http://127.0.0.1:{receiver.port}/events"
        status, answer = stack.api("PUT", f"/applications/{application}/integrations/http", {"url": url})
        assert status == 200, answer
        deadline = time.monotonic() + 90
        while not receiver.connections:
            assert time.monotonic() < deadline, "no event reached the webhook receiver"
            time.sleep(0.2)

    def webhook_hangs() -> None:
        webhook_to(receivers["hang"])

    def webhook_refuses() -> None:
        webhook_to(receivers["refuse"])

    def nothing() -> None:
        return None

    def kill_uplink_worker() -> None:
        """One of this stack's uplink environments (forked by the function's template) dies mid-load."""
        assert stack.process is not None
        workers = set(pids("localcloud.lambda_worker functions.network.handlers.uplink"))
        environments = [
            pid for pid in _descendants(stack.process.pid) if pid in workers and _parent(pid) in workers
        ]
        assert environments, "no uplink environment to kill"
        os.kill(environments[0], signal.SIGKILL)

    def take_rules_session() -> None:
        """Another identity (an application's certificate) tries to connect with the rules engine's client
        id, which took the rules engine's session before the broker bound client ids to identities."""
        with contextlib.suppress(ConnectionError):
            thief = ServiceSession(broker.access_for("an-application"), "loraless-cloud").start(timeout_s=5)
            thief.stop()
            raise AssertionError("the broker let another identity take the rules engine's client id")

    def stall_broker() -> None:
        """The broker stops answering for 5 s (SIGSTOP), as a stalled network would."""
        (mosquitto,) = pids(f"mosquitto -c {stack.data_dir}")
        os.kill(mosquitto, signal.SIGSTOP)
        time.sleep(5)
        os.kill(mosquitto, signal.SIGCONT)

    def kill_broker() -> None:
        (mosquitto,) = pids(f"mosquitto -c {stack.data_dir}")
        broker_crashes.append(time.monotonic())
        os.kill(mosquitto, signal.SIGKILL)
        stack.wait_for("mosquitto restarted", 30)

    def kill_bridge() -> tuple[float, float]:
        (bridge,) = pids(f"functions.bridge .*--health-port {stack.ports['health']} ")
        down = time.monotonic()
        os.kill(bridge, signal.SIGKILL)
        while not _health_ok(stack):
            time.sleep(0.05)
        return down, time.monotonic()

    def kill_stack() -> tuple[float, float]:
        # The last round before the kill may still be in the bridge's buffer (lost with it, as a crashed
        # Fargate task loses its own): of that round, only what the broker never saw is counted apart.
        # The kill lands once the local Lambda accepted the round just sent (journaled, acknowledged to
        # the broker) and while some of it is not finished: that must arrive after the restart.
        down = time.monotonic() - INTERVAL_S
        (this_phase,) = [phase for phase in phases if phase.inject is kill_stack]
        just_sent = {(e, f) for e, f, _ in this_phase.sent[-DEVICES:]}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            accepted, unfinished = _journaled_uplinks(stack.data_dir, published)
            if just_sent <= accepted and unfinished:
                break
            time.sleep(0.002)
        broker_crashes.append(time.monotonic())
        stack.kill()
        pending_at_kill.append(_journaled_uplinks(stack.data_dir, published)[1])
        stack.start()
        while not _health_ok(stack):
            time.sleep(0.05)
        return down, time.monotonic()

    phases = [
        Phase("none (baseline)", nothing),
        Phase("uplink worker killed", kill_uplink_worker),
        Phase("rules session taken by another identity", take_rules_session),
        Phase("broker stalled 5 s", stall_broker),
        Phase("Mosquitto killed", kill_broker),
        Phase("bridge killed", kill_bridge),
        Phase("the application's webhook hangs", webhook_hangs),
        Phase("the application's webhook resets connections", webhook_refuses),
        Phase("whole stack kill -9, restarted", kill_stack),
    ]
    return phases


async def _run(
    stack: LocalStack, devices: list[EndDevice], phases: list[Phase], deliveries: Deliveries,
    published: Published,
) -> None:  # fmt: skip
    forwarder = await PacketForwarder(GATEWAY, ("127.0.0.1", stack.ports["udp"])).start()
    history: dict[str, list[bytes]] = {}
    try:
        for device in devices:  # warm-up, not counted: each device's first uplink reaches the application
            uplink = device.uplink(1, b"\x01\x67\x00\xe1")
            forwarder.uplink(uplink.phy_payload, frequency=uplink.frequency)
            history[str(device.dev_eui)] = [uplink.phy_payload]
        deadline = time.monotonic() + WARM_UP_S
        while len(deliveries.arrivals) < len(devices):
            assert time.monotonic() < deadline, f"warm-up: {len(deliveries.arrivals)} of {len(devices)}"
            await asyncio.sleep(0.2)
        for phase in phases:
            phase.started = time.monotonic()
            injecting = asyncio.create_task(asyncio.to_thread(phase.inject))
            until = time.monotonic() + PHASE_S
            while time.monotonic() < until:  # PHASE_S of traffic after the fault is over
                if not injecting.done():
                    until = time.monotonic() + PHASE_S
                for device in devices:
                    uplink = device.uplink(1, b"\x01\x67\x00\xe1")
                    f_cnt = device.session.f_cnt_up - 1 if device.session else 0
                    forwarder.uplink(uplink.phy_payload, frequency=uplink.frequency)
                    phase.sent.append((str(device.dev_eui), f_cnt, time.monotonic()))
                    history.setdefault(str(device.dev_eui), []).append(uplink.phy_payload)
                await asyncio.sleep(INTERVAL_S)
            phase.outage = await injecting
            for device in devices:  # a replay of an uplink from earlier in the run, after the fault
                frames = history[str(device.dev_eui)]
                forwarder.uplink(frames[len(frames) // 2])
                phase.replays_sent.append((str(device.dev_eui), len(frames) // 2))
            # each fault on its own: what this phase sent is through before the next fault
            expected = {(e, f) for e, f, _ in phase.sent} - _never_published(phase, published)
            deadline = time.monotonic() + PHASE_DRAIN_S
            while not expected <= deliveries.arrivals.keys() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
    finally:
        await forwarder.stop()


def _never_published(phase: Phase, published: Published) -> set[tuple[str, int]]:
    """Datagrams of the phase's outage that no bridge published: none ran, or one died with them."""
    if phase.outage is None:
        return set()
    start, end = phase.outage
    return {(e, f) for e, f, when in phase.sent if start <= when <= end and (e, f) not in published.uplinks}


def _resent_after_kill(arrivals: list[float], ids: list[str], broker_crashes: list[float]) -> int:
    """Copies of the first message (same deduplication id) that arrived after a kill -9 of the broker
    that came after it: at-least-once delivery (the broker's snapshot, or an invocation run again from
    the journal), not the network processing the uplink twice."""
    return sum(
        1 for when, id_ in zip(arrivals[1:], ids[1:], strict=True)
        if id_ == ids[0] and any(arrivals[0] < crash < when for crash in broker_crashes)
    )  # fmt: skip


def _report(
    phases: list[Phase], deliveries: Deliveries, published: Published, broker_crashes: list[float]
) -> list[dict[str, object]]:
    delivered = dict(deliveries.arrivals)
    resent = {  # per uplink delivered more than once: the copies sent again after a kill
        key: _resent_after_kill(arrivals, deliveries.deduplication_ids[key], broker_crashes)
        for key, arrivals in delivered.items() if len(arrivals) > 1
    }  # fmt: skip
    twice = {key for key, copies in resent.items() if len(delivered[key]) - 1 > copies}
    rows = []
    for phase in phases:
        phase.bridge_down = _never_published(phase, published)
        sent = {(eui, f_cnt) for eui, f_cnt, _ in phase.sent}
        lost = {key for key in sent if key not in delivered}
        delays = [delivered[(e, f)][0] - when for e, f, when in phase.sent if (e, f) in delivered]
        rows.append({
            "fault": phase.name,
            "sent": len(sent),
            "never published by a bridge (sent while it was down, or in its buffer at its kill)": len(
                phase.bridge_down
            ),
            "delivered": len(sent) - len(lost),
            "lost": len(lost - phase.bridge_down),
            "duplicated": len(sent & twice),
            "sent again after a kill -9 (same deduplicationId)": sum(
                resent.get(key, 0) for key in sent
            ),
            "replays accepted": sum(1 for key in phase.replays_sent if key in twice),
            "longest delay sent -> event (s)": round(max(delays), 2) if delays else None,
        })  # fmt: skip
    return rows


@pytest.mark.slow
def test_faults_lose_nothing_duplicate_nothing_and_accept_no_replay(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("udp", "mqtt", "api", "health")}
    # the webhook receivers of the webhook phases listen on loopback: an operator setting allows that
    stack = LocalStack(tmp_path, ports, options=("--allow-private-webhooks",))
    stack.start()
    receivers = {behaviour: Receiver(behaviour) for behaviour in ("hang", "refuse")}
    devices = [_device(n) for n in range(DEVICES)]
    deliveries: Deliveries | None = None
    published: Published | None = None
    try:
        application = _provision(stack, devices)
        broker = Mosquitto(stack.data_dir / "broker", port=stack.ports["mqtt"])
        deliveries = Deliveries(broker, application)
        published = Published(broker, devices)
        broker_crashes: list[float] = []
        pending_at_kill: list[int] = []
        phases = _faults(stack, broker_crashes, application, receivers, pending_at_kill, published)
        asyncio.run(_run(stack, devices, phases, deliveries, published))
        expected = sum(
            len({(e, f) for e, f, _ in phase.sent} - _never_published(phase, published)) for phase in phases
        )
        deadline = time.monotonic() + DRAIN_S
        while len(deliveries.arrivals) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # late duplicates, if any, arrive now
        rows = _report(phases, deliveries, published, broker_crashes)
        print("\n" + "\n".join(json.dumps(row) for row in rows))
        print(
            f"uplink invocations accepted and not finished at the kill of the whole stack: {pending_at_kill}"
        )
        for key, ids in deliveries.deduplication_ids.items():  # what a duplicate was, for its diagnosis
            if len(ids) > 1:
                print(f"{key} delivered {len(ids)} times: deduplication ids {ids}, arrivals "
                      f"{deliveries.arrivals[key]}, broker crashes {broker_crashes}")  # fmt: skip
        assert pending_at_kill and pending_at_kill[0] > 0, "the kill found no invocation to keep"
        for row in rows:
            assert (row["lost"], row["duplicated"], row["replays accepted"]) == (0, 0, 0), rows
    finally:
        for observer in (deliveries, published):
            if observer is not None:
                observer.close()
        for receiver in receivers.values():
            receiver.close()
        stack.kill()
        (tmp_path / "stack.log").write_text("".join(stack.log))
        print(f"the stack's output: {tmp_path / 'stack.log'}")
