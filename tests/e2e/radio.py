"""The radio side of the end-to-end tests: simulated packet forwarders (the bridge's own, which behave as
Semtech's) in range of reference end-devices, all in the test's asyncio loop. A transmission is heard by
the chosen gateways with the radio settings the device used; a downlink is the PULL_RESP one of them got.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from functions.bridge.forwarder_sim import PacketForwarder, Received
from functions.lorawan.device import EndDevice
from functions.lorawan.device.device import Uplink
from functions.lorawan.regions.base import LoRaModulation


@dataclass(frozen=True)
class Transmission:
    """One frame on the air: when it left, and each hearing gateway's concentrator timestamp."""

    uplink: Uplink
    sent_at: float
    tmst: dict[str, int]


@dataclass(frozen=True)
class Heard:
    """A downlink (PULL_RESP) one gateway was asked to send."""

    gateway_id: str
    txpk: dict[str, Any]
    at: float

    @property
    def phy_payload(self) -> bytes:
        return base64.b64decode(str(self.txpk["data"]))


@dataclass
class Air:
    """Gateways `gateway_ids` talking to the bridge at `bridge`; use as `async with Air(...) as air`."""

    bridge: tuple[str, int]
    gateway_ids: list[str]
    forwarders: dict[str, PacketForwarder] = field(default_factory=dict)
    _heard: asyncio.Queue[Heard] = field(default_factory=asyncio.Queue)
    _pumps: list[asyncio.Task[None]] = field(default_factory=list)

    async def __aenter__(self) -> Air:
        for gateway_id in self.gateway_ids:
            forwarder = await PacketForwarder(gateway_id, self.bridge).start()
            self.forwarders[gateway_id] = forwarder
            self._pumps.append(asyncio.create_task(self._pump(forwarder)))
        deadline = time.monotonic() + 5
        while any(f.counters.pull_acked == 0 for f in self.forwarders.values()):
            assert time.monotonic() < deadline, "the bridge did not acknowledge PULL_DATA"
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for pump in self._pumps:
            pump.cancel()
        for forwarder in self.forwarders.values():
            await forwarder.stop()

    async def _pump(self, forwarder: PacketForwarder) -> None:
        while True:
            received: Received = await forwarder.downlinks.get()
            self._heard.put_nowait(Heard(forwarder.gateway_id, received.txpk, received.at))

    def transmit(
        self,
        device: EndDevice,
        uplink: Uplink | bytes,
        *,
        gateways: list[str] | None = None,
        snr: dict[str, float] | float = 9.5,
        rssi: int = -57,
    ) -> Transmission:
        """Every chosen gateway (default: all) hears the frame; raw bytes go out at the device's DR on
        the first default channel."""
        if isinstance(uplink, bytes):
            channel = device.region.uplink_channel_list[0]
            uplink = Uplink(uplink, channel.frequency, device.data_rate, 0, -1)
        modulation = device.region.data_rate(uplink.data_rate).modulation
        assert isinstance(modulation, LoRaModulation)
        sent_at = time.monotonic()
        tmst: dict[str, int] = {}
        for gateway_id in gateways or self.gateway_ids:
            forwarder = self.forwarders[gateway_id]
            rxpk = forwarder.rxpk(
                uplink.phy_payload,
                frequency=uplink.frequency,
                spreading_factor=modulation.spreading_factor,
                bandwidth_khz=modulation.bandwidth // 1000,
                snr=snr[gateway_id] if isinstance(snr, dict) else snr,
                rssi=rssi,
                channel=uplink.channel,
            )
            tmst[gateway_id] = rxpk["tmst"]
            forwarder.push({"rxpk": [rxpk]})
        return Transmission(uplink, sent_at, tmst)

    async def downlink(self, timeout_s: float = 10) -> Heard:
        """The next PULL_RESP any gateway got."""
        try:
            return await asyncio.wait_for(self._heard.get(), timeout_s)
        except TimeoutError:
            raise AssertionError(f"no downlink within {timeout_s} s") from None

    async def quiet(self, seconds: float) -> list[Heard]:
        """Downlinks that arrive within `seconds` (a test expecting none asserts the list is empty)."""
        await asyncio.sleep(seconds)
        heard: list[Heard] = []
        while not self._heard.empty():
            heard.append(self._heard.get_nowait())
        return heard


async def join(
    air: Air,
    device: EndDevice,
    *,
    gateways: list[str] | None = None,
    data_rate: int | None = None,
    timeout_s: float = 20,
) -> Heard:
    """OTAA: JoinRequest out (at `data_rate` if given), JoinAccept (first join-accept window) back and
    accepted by the device."""
    request_frame = device.join_request()
    if data_rate is not None:
        request_frame = replace(request_frame, data_rate=data_rate)
    request = air.transmit(device, request_frame, gateways=gateways)
    accept = await air.downlink(timeout_s)
    assert device.accept_join(accept.phy_payload), "the JoinAccept did not open with the device's key"
    region = device.region
    expected = region.timing.join_accept_delay1 * 1_000_000
    assert accept.txpk["tmst"] == (request.tmst[accept.gateway_id] + expected) & 0xFFFFFFFF
    return accept
