"""A fleet of simulated packet forwarders, each hearing its own reference end-devices (ABP, or OTAA
joining through whatever network server is behind the bridge)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from dataclasses import dataclass, field

from functions.bridge.forwarder_sim import PacketForwarder
from functions.lorawan.device import EndDevice, EndDeviceSession, abp, otaa
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.keys import session_keys_1_0
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr, NetID

log = logging.getLogger("loraless.simulator")
CAYENNE_TEMPERATURE = b"\x01\x67\x00\xe1"  # CayenneLPP channel 1 temperature 22.5 °C
JOIN_RETRY_S = 7.0  # a device waits out both join-accept windows (5 s, 6 s) before trying again


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
    received: list[tuple[str, int, bytes]] = field(default_factory=list)  # application downlinks devices got


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


async def run_fleet(settings: FleetSettings, stop: asyncio.Event) -> dict[str, int]:
    """Send an uplink from every device every `interval_s` until `stop`; returns what happened."""
    counts = {"uplinks": 0, "joins": 0, "downlinks": 0}
    forwarders = [
        await PacketForwarder(f"00800000a0{g:06x}", settings.bridge).start() for g in range(settings.gateways)
    ]
    devices = [
        [
            make_device(settings, g * settings.devices_per_gateway + d)
            for d in range(settings.devices_per_gateway)
        ]
        for g in range(settings.gateways)
    ]
    last_join: dict[str, float] = {}
    while not stop.is_set():
        for forwarder, fleet in zip(forwarders, devices, strict=True):
            for device in fleet:
                if device.session is None:
                    now = asyncio.get_running_loop().time()
                    if now - last_join.get(str(device.dev_eui), -JOIN_RETRY_S) < JOIN_RETRY_S:
                        continue
                    last_join[str(device.dev_eui)] = now
                    uplink = device.join_request()
                    counts["joins"] += 1
                else:
                    uplink = device.uplink(1, CAYENNE_TEMPERATURE)
                    counts["uplinks"] += 1
                forwarder.uplink(uplink.phy_payload, frequency=uplink.frequency)
            while not forwarder.downlinks.empty():
                received = forwarder.downlinks.get_nowait()
                counts["downlinks"] += 1
                _deliver(fleet, received.txpk, settings)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.interval_s)
    for forwarder in forwarders:
        await forwarder.stop()
    return counts


def _deliver(fleet: list[EndDevice], txpk: dict[str, object], settings: FleetSettings) -> None:
    """Hand a downlink to whichever device it is for (a JoinAccept to those waiting to join)."""
    phy = base64.b64decode(str(txpk.get("data", "")))
    for device in fleet:
        try:
            if device.session is None and device.accept_join(phy):
                log.info("device %s joined as %s", device.dev_eui, device.session and device.session.dev_addr)
                return
            if device.session is not None:
                received = device.downlink(phy)
                if received.f_port:
                    log.info(
                        "device %s got %d bytes on FPort %d",
                        device.dev_eui,
                        len(received.payload),
                        received.f_port,
                    )
                    settings.received.append((str(device.dev_eui), received.f_port, received.payload))
                return
        except LoRaWANError:
            continue
