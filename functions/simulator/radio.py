"""The simulated air: packet forwarders (`forwarder.py`, which behave as Semtech's) in range of reference
end-devices, all in one asyncio loop. The simulator, the end-to-end tests and the local-cloud benchmark
share it.

A transmission is heard by the chosen gateways with the radio settings the device used. A downlink is the
PULL_RESP one gateway got; like a concentrator, the air ties it to the uplink whose receive window it was
scheduled in: its `tmst` is the uplink's plus RX1/RX2 delay (data) or JOIN_ACCEPT_DELAY1/2 (join),
LoRaWAN 1.0.4 §3.3 and §6.2.6. So a JoinAccept reaches the device that asked, even when several devices
share an AppKey, and only while that device still listens.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from functions.lorawan.device import EndDevice
from functions.lorawan.device.device import Uplink
from functions.lorawan.regions.base import LoRaModulation
from functions.simulator.forwarder import PacketForwarder, Received

TMST_MASK = 0xFFFFFFFF
KEEP_SCHEDULE_S = 30.0  # windows further back than this cannot be answered any more


class NoDownlink(Exception):
    """No downlink came within the time given."""


class JoinFailed(Exception):
    """No JoinAccept for this JoinRequest, or one the device could not open."""


@dataclass(frozen=True)
class Transmission:
    """One frame on the air: when it left, each hearing gateway's concentrator timestamp, who sent it."""

    uplink: Uplink
    sent_at: float
    tmst: dict[str, int]
    dev_eui: str = ""
    join: bool = False

    def window_delays_s(self, device: EndDevice) -> tuple[int, int]:
        """The delays of the device's two receive windows after this frame (§3.3.1, §6.2.6)."""
        timing = device.region.timing
        if self.join:
            return timing.join_accept_delay1, timing.join_accept_delay2
        return device.rx1_delay, device.rx1_delay + 1  # RECEIVE_DELAY2 = RECEIVE_DELAY1 + 1 s

    def listening(self, device: EndDevice, now: float) -> bool:
        """Whether an answer to this frame that reaches a gateway `now` can still be sent in one of the
        device's windows (the gateway needs the command before its second window opens)."""
        return now - self.sent_at < self.window_delays_s(device)[1]


@dataclass(frozen=True)
class Heard:
    """A downlink (PULL_RESP) one gateway was asked to send, and the transmission it answers (None for
    an immediate class C downlink, or one scheduled at no window of a frame sent through this air)."""

    gateway_id: str
    txpk: dict[str, Any]
    at: float
    answers: Transmission | None = None

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
    _windows: dict[tuple[str, int], Transmission] = field(default_factory=dict)

    async def __aenter__(self) -> Air:
        for gateway_id in self.gateway_ids:
            forwarder = await PacketForwarder(gateway_id, self.bridge).start()
            self.forwarders[gateway_id] = forwarder
            self._pumps.append(asyncio.create_task(self._pump(forwarder)))
        deadline = time.monotonic() + 5
        while any(f.counters.pull_acked == 0 for f in self.forwarders.values()):
            if time.monotonic() > deadline:
                raise NoDownlink("the bridge did not acknowledge PULL_DATA")
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
            answers = None
            if "tmst" in received.txpk:
                answers = self._windows.pop((forwarder.gateway_id, int(received.txpk["tmst"])), None)
            self._heard.put_nowait(Heard(forwarder.gateway_id, received.txpk, received.at, answers))

    def transmit(
        self,
        device: EndDevice,
        uplink: Uplink | bytes,
        *,
        gateways: list[str] | None = None,
        snr: dict[str, float] | float = 9.5,
        rssi: int = -57,
        join: bool | None = None,
    ) -> Transmission:
        """Every chosen gateway (default: all) hears the frame; raw bytes go out at the device's DR on
        the first default channel. `join` says whether it is a JoinRequest (default: the MType says)."""
        if isinstance(uplink, bytes):
            channel = device.region.uplink_channel_list[0]
            uplink = Uplink(uplink, channel.frequency, device.data_rate, 0, -1)
        modulation = device.region.data_rate(uplink.data_rate).modulation
        assert isinstance(modulation, LoRaModulation)
        if join is None:
            join = bool(uplink.phy_payload) and uplink.phy_payload[0] >> 5 == 0  # MType JoinRequest
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
        sent = Transmission(uplink, sent_at, tmst, str(device.dev_eui), join)
        self._schedule(sent, device)
        return sent

    def _schedule(self, sent: Transmission, device: EndDevice) -> None:
        if len(self._windows) > 10_000:
            self._windows = {
                key: t for key, t in self._windows.items() if sent.sent_at - t.sent_at < KEEP_SCHEDULE_S
            }
        for gateway_id, tmst in sent.tmst.items():
            for delay_s in sent.window_delays_s(device):
                self._windows[(gateway_id, (tmst + delay_s * 1_000_000) & TMST_MASK)] = sent

    async def downlink(self, timeout_s: float | None = 10) -> Heard:
        """The next PULL_RESP any gateway got (waits for ever with `timeout_s=None`)."""
        try:
            return await asyncio.wait_for(self._heard.get(), timeout_s)
        except TimeoutError:
            raise NoDownlink(f"no downlink within {timeout_s} s") from None

    def put_back(self, heard: list[Heard]) -> None:
        """Downlinks taken while waiting for another, for the next `downlink()`."""
        for item in heard:
            self._heard.put_nowait(item)

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
    """OTAA: JoinRequest out (at `data_rate` if given), the JoinAccept scheduled in one of its two join
    windows (RX2 alone when the network could no longer meet RX1, as a device listens in both, LoRaWAN
    1.0.4 §6.2.6) and accepted by the device. Other downlinks that arrive meanwhile stay queued."""
    request_frame = device.join_request()
    if data_rate is not None:
        request_frame = replace(request_frame, data_rate=data_rate)
    request = air.transmit(device, request_frame, gateways=gateways, join=True)
    timing = device.region.timing
    windows_us = [delay * 1_000_000 for delay in (timing.join_accept_delay1, timing.join_accept_delay2)]
    deadline = time.monotonic() + timeout_s
    others: list[Heard] = []
    try:
        while True:
            try:
                heard = await air.downlink(max(0.0, deadline - time.monotonic()))
            except NoDownlink:
                seen = [(h.gateway_id, h.txpk.get("tmst"), h.answers is request) for h in others]
                windows = f"the join windows of {request.tmst}"
                raise JoinFailed(f"no JoinAccept in {windows}; heard {seen}") from None
            sent = request.tmst.get(heard.gateway_id, -1)
            expected = {(sent + window) & TMST_MASK for window in windows_us}
            if heard.answers is request and heard.txpk.get("tmst") in expected:
                break
            others.append(heard)
    finally:
        air.put_back(others)
    if not device.accept_join(heard.phy_payload):
        raise JoinFailed(f"device {device.dev_eui} could not open the JoinAccept")
    return heard
