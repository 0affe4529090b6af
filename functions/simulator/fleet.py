"""A fleet of simulated packet forwarders, each hearing its own reference end-devices (ABP, or OTAA
joining through whatever network server is behind the bridge), on the shared simulated air (radio.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from functions.lorawan.device import EndDevice, EndDeviceSession, abp, otaa
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID
from functions.simulator.radio import Air, Heard, Transmission

log = logging.getLogger("loraless.simulator")
CAYENNE_TEMPERATURE = b"\x01\x67\x00\xe1"  # CayenneLPP channel 1 temperature 22.5 °C
COUNTS = ("uplinks", "joins", "joined", "stale_join_accepts", "downlinks")
# How long a device waits for the answer to its JoinRequest before it sends another (with a new DevNonce).
# A real device hears only its two windows (5 s and 6 s), but the simulated forwarders send whatever they
# get and acknowledge it, so the network holds the session of any JoinAccept that reaches the air: the
# device must take it too, however late it came, or the two end on different sessions.
JOIN_RETRY_S = 20.0


@dataclass
class FleetSettings:
    bridge: tuple[str, int] = ("127.0.0.1", 1700)
    gateways: int = 1
    devices_per_gateway: int = 1
    interval_s: float = 10.0
    region: str = "EU868"
    otaa: bool = False
    app_key: AES128Key = field(default_factory=lambda: AES128Key(bytes(16)))
    lorawan_version: str = "1.0.3"
    state_file: Path | None = None  # where OTAA devices keep their next DevNonce between runs
    join_retry_s: float = JOIN_RETRY_S
    received: list[tuple[str, int, bytes]] = field(default_factory=list)  # application downlinks devices got


class DevNonces:
    """The next DevNonce of each OTAA device, kept in a JSON file so that a second run does not reuse the
    first one's: a join server refuses a DevNonce it has seen (LoRaWAN 1.0.4 §6.2.5) and, for 1.1, one
    not greater than the last (1.1 §6.2.5). Written before each JoinRequest leaves, so a crash skips a
    nonce rather than repeating one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.next: dict[str, int] = {}
        if path is not None and path.exists():
            self.next = {str(k): int(v) for k, v in json.loads(path.read_text())["dev_nonce"].items()}

    def restore(self, device: EndDevice) -> None:
        device.dev_nonce = self.next.get(str(device.dev_eui), device.dev_nonce)

    def keep(self, device: EndDevice) -> None:
        self.next[str(device.dev_eui)] = device.dev_nonce
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as out:
            json.dump({"dev_nonce": self.next}, out, indent=1, sort_keys=True)
        os.replace(out.name, self.path)


def make_device(settings: FleetSettings, index: int) -> EndDevice:
    """Device `index`: DevEUI 70b3d57ed0000000+index; ABP keys derived from the AppKey and index, so a
    network server can be provisioned with the same values (`--print-devices`)."""
    region = get_region(settings.region)
    dev_eui = EUI64.from_int(0x70B3D57ED0000000 + index)
    if settings.otaa:
        return otaa(dev_eui, EUI64.parse("70b3d57ed0000000"), region, app_key=settings.app_key,
                    nwk_key=settings.app_key if settings.lorawan_version.startswith("1.1") else None,
                    lorawan_version=settings.lorawan_version, seed=index)  # fmt: skip
    keys = session_keys_1_0(settings.app_key, index, NetID.parse("000000"), index)
    session = EndDeviceSession.from_1_0(DevAddr.from_int(0x26000000 + index), keys)
    return abp(dev_eui, region, session, seed=index)


@dataclass
class Fleet:
    """The devices, which gateway hears each, and the JoinRequest each OTAA device waits an answer to."""

    settings: FleetSettings
    by_gateway: dict[str, list[EndDevice]]
    nonces: DevNonces
    pending_join: dict[str, Transmission] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    by_eui: dict[str, EndDevice] = field(init=False)

    def __post_init__(self) -> None:
        self.by_eui = {str(d.dev_eui): d for devices in self.by_gateway.values() for d in devices}

    def send(self, air: Air) -> None:
        """One uplink from every device: a JoinRequest from one not joined and not waiting for an answer,
        a data frame from one joined."""
        now = time.monotonic()
        for gateway_id, devices in self.by_gateway.items():
            for device in devices:
                dev_eui = str(device.dev_eui)
                if device.session is None:
                    pending = self.pending_join.get(dev_eui)
                    if pending is not None and now - pending.sent_at < self.settings.join_retry_s:
                        continue  # a second JoinRequest now would race the answer to the first
                    uplink = device.join_request()
                    self.nonces.keep(device)
                    self.pending_join[dev_eui] = air.transmit(
                        device, uplink, gateways=[gateway_id], join=True
                    )
                    self.counts["joins"] += 1
                else:
                    air.transmit(device, device.uplink(1, CAYENNE_TEMPERATURE), gateways=[gateway_id])
                    self.counts["uplinks"] += 1

    def deliver(self, heard: Heard) -> None:
        """A downlink to the device whose receive window it was scheduled in (a class C one, sent
        immediately, to whichever device of that gateway it opens for)."""
        self.counts["downlinks"] += 1
        origin = heard.answers
        if origin is not None and origin.join:
            device = self.by_eui.get(origin.dev_eui)
            if device is None or self.pending_join.get(origin.dev_eui) is not origin:
                self.counts["stale_join_accepts"] += 1  # the device has sent another JoinRequest since
                return
            try:
                accepted = device.accept_join(heard.phy_payload)
            except LoRaWANError as exc:
                log.warning("device %s: JoinAccept refused: %s", device.dev_eui, exc)
                return
            if accepted:
                del self.pending_join[origin.dev_eui]
                self.counts["joined"] += 1
                log.info("device %s joined as %s", device.dev_eui, device.session and device.session.dev_addr)
            return
        if origin is not None:
            found = self.by_eui.get(origin.dev_eui)
            candidates = [found] if found is not None else []
        else:
            candidates = self.by_gateway.get(heard.gateway_id, [])
        for device in candidates:
            if device.session is None:
                continue
            try:
                received = device.downlink(heard.phy_payload)
            except LoRaWANError:
                continue
            if received.f_port:
                log.info(
                    "device %s got %d bytes on FPort %d",
                    device.dev_eui,
                    len(received.payload),
                    received.f_port,
                )
                self.settings.received.append((str(device.dev_eui), received.f_port, received.payload))
            return


def gateway_ids(settings: FleetSettings) -> list[str]:
    """The simulated gateways' ids (EUI-64), for registering them: the network refuses unknown gateways."""
    return [f"00800000a0{g:06x}" for g in range(settings.gateways)]


async def run_fleet(settings: FleetSettings, stop: asyncio.Event) -> dict[str, int]:
    """Send an uplink from every device every `interval_s` until `stop`; returns what happened."""
    gateways = gateway_ids(settings)
    nonces = DevNonces(settings.state_file if settings.otaa else None)
    by_gateway: dict[str, list[EndDevice]] = {}
    for g, gateway_id in enumerate(gateways):
        by_gateway[gateway_id] = []
        for d in range(settings.devices_per_gateway):
            device = make_device(settings, g * settings.devices_per_gateway + d)
            nonces.restore(device)
            by_gateway[gateway_id].append(device)
    fleet = Fleet(settings, by_gateway, nonces)
    async with Air(settings.bridge, gateways) as air:

        async def listen() -> None:
            while True:
                fleet.deliver(await air.downlink(None))

        listener = asyncio.create_task(listen())
        try:
            while not stop.is_set():
                if listener.done():
                    listener.result()  # a failure of the downlink side ends the run with its error
                fleet.send(air)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.interval_s)
        finally:
            listener.cancel()
    return fleet.counts
