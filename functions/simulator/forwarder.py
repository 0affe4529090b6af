"""A simulated Semtech packet forwarder that behaves as the real one (Lora-net/packet_forwarder):
separate sockets for PUSH_DATA and PULL_DATA, PULL_DATA keep-alive every 10 s, `stat` every 30 s,
TX_ACK for every PULL_RESP, and a concentrator counter `tmst` in microseconds.

Tests, the simulator and the benchmarks drive it; it needs nothing of the server side.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.bridge import semtech

KEEPALIVE_S = 10.0
STAT_INTERVAL_S = 30.0


@dataclass
class Received:
    """A PULL_RESP the forwarder got, with the txpk and when."""

    token: int
    txpk: dict[str, Any]
    at: float


@dataclass
class ForwarderCounters:
    push_sent: int = 0
    push_acked: int = 0
    pull_sent: int = 0
    pull_acked: int = 0
    downlinks: int = 0
    rxnb: int = 0


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes], None]) -> None:
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.on_datagram(data)


@dataclass
class PacketForwarder:
    """One simulated gateway. `tx_ack_error` makes it refuse downlinks (e.g. "TOO_LATE") to test retries."""

    gateway_id: str
    server: tuple[str, int]
    version: int = 2
    # Where PULL_DATA goes, if not to `server` (behind a load balancer the two sockets may split).
    pull_server: tuple[str, int] | None = None
    keepalive_s: float = KEEPALIVE_S
    stat_interval_s: float = STAT_INTERVAL_S
    tx_ack_error: str | Callable[[dict[str, Any]], str] = "NONE"
    location: tuple[float, float, int] | None = (52.37, 4.89, 10)
    counters: ForwarderCounters = field(default_factory=ForwarderCounters)
    downlinks: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    _push: _Socket | None = None
    _pull: _Socket | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _epoch: float = field(default_factory=time.monotonic)
    push_acks: dict[int, asyncio.Future[float]] = field(default_factory=dict)

    def tmst(self) -> int:
        """The concentrator's free-running 1 MHz counter (32 bits)."""
        return int((time.monotonic() - self._epoch) * 1_000_000) & 0xFFFFFFFF

    async def start(self, *, keepalive: bool = True) -> PacketForwarder:
        loop = asyncio.get_running_loop()
        _, self._push = await loop.create_datagram_endpoint(
            lambda: _Socket(self._on_push_socket), remote_addr=self.server
        )
        _, self._pull = await loop.create_datagram_endpoint(
            lambda: _Socket(self._on_pull_socket), remote_addr=self.pull_server or self.server
        )
        if keepalive:
            self._tasks.append(asyncio.create_task(self._every(self.keepalive_s, self.pull)))
            self._tasks.append(asyncio.create_task(self._every(self.stat_interval_s, self.stat)))
        self.pull()
        return self

    async def _every(self, interval: float, action: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(interval)
            action()

    def _token(self) -> int:
        return secrets.randbits(16)

    def _on_push_socket(self, data: bytes) -> None:
        _, token, kind, _ = semtech.parse_server_datagram(data)
        if kind == semtech.PacketType.PUSH_ACK:
            self.counters.push_acked += 1
            future = self.push_acks.pop(token, None)
            if future is not None and not future.done():
                future.set_result(time.monotonic())

    def _on_pull_socket(self, data: bytes) -> None:
        _, token, kind, body = semtech.parse_server_datagram(data)
        if kind == semtech.PacketType.PULL_ACK:
            self.counters.pull_acked += 1
            return
        assert body is not None
        txpk = body.get("txpk", {})
        self.counters.downlinks += 1
        self.downlinks.put_nowait(Received(token, txpk, time.monotonic()))
        if self.version >= 2:
            error = self.tx_ack_error(txpk) if callable(self.tx_ack_error) else self.tx_ack_error
            assert self._pull is not None and self._pull.transport is not None
            self._pull.transport.sendto(semtech.tx_ack(self.version, token, self.gateway_id, error))

    def pull(self) -> None:
        assert self._pull is not None and self._pull.transport is not None
        self._pull.transport.sendto(semtech.pull_data(self.version, self._token(), self.gateway_id))
        self.counters.pull_sent += 1

    def push(self, document: dict[str, Any]) -> asyncio.Future[float]:
        """Send PUSH_DATA; the future resolves (monotonic time) when its PUSH_ACK arrives."""
        assert self._push is not None and self._push.transport is not None
        token = self._token()
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.push_acks[token] = future
        self._push.transport.sendto(semtech.push_data(self.version, token, self.gateway_id, document))
        self.counters.push_sent += 1
        return future

    def rxpk(
        self, phy_payload: bytes, *, frequency: int = 868_100_000, spreading_factor: int = 7,
        bandwidth_khz: int = 125, rssi: int = -57, snr: float = 9.5, crc_ok: bool = True, channel: int = 0,
    ) -> dict[str, Any]:  # fmt: skip
        """An rxpk as the SX1301 packet forwarder writes it."""
        self.counters.rxnb += 1
        return {
            "time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "tmst": self.tmst(),
            "chan": channel,
            "rfch": 0,
            "freq": frequency / 1_000_000,
            "stat": 1 if crc_ok else -1,
            "modu": "LORA",
            "datr": f"SF{spreading_factor}BW{bandwidth_khz}",
            "codr": "4/5",
            "lsnr": snr,
            "rssi": rssi,
            "size": len(phy_payload),
            "data": base64.b64encode(phy_payload).decode(),
        }

    def uplink(self, phy_payload: bytes, **radio: Any) -> asyncio.Future[float]:
        return self.push({"rxpk": [self.rxpk(phy_payload, **radio)]})

    def stat(self) -> asyncio.Future[float]:
        stat: dict[str, Any] = {
            "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S GMT"),
            "rxnb": self.counters.rxnb, "rxok": self.counters.rxnb, "rxfw": self.counters.rxnb, "ackr": 100.0,
            "dwnb": self.counters.downlinks, "txnb": self.counters.downlinks,
        }  # fmt: skip
        if self.location is not None:
            stat |= {"lati": self.location[0], "long": self.location[1], "alti": self.location[2]}
        return self.push({"stat": stat})

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for sock in (self._push, self._pull):
            if sock is not None and sock.transport is not None:
                sock.transport.close()
