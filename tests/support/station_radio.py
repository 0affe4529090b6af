"""The radio side of Basics Station's simulated concentrator (its `testsim` build): a Unix stream
socket the station connects to. It first writes one TX-sized record whose `tx_mode` is 255 and whose
`count_us`/`freq_hz` carry its clock offset (the simulated counter is CLOCK_MONOTONIC in µs minus that
offset); after that, we write received-packet records and read transmitted-packet records. Layouts are
lora_gateway 5.0.1's `struct lgw_pkt_rx_s` and `struct lgw_pkt_tx_s` with x86-64 alignment; constants
from its `loragw_hal.h`. Written from those definitions, not from Semtech's test harness."""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.bridge.basicstation.directory import CupsGateway, StationGateway, token_hash

RX_RECORD = struct.Struct("@IBBIBBBIBffffHH256s")  # 300 bytes
TX_RECORD = struct.Struct("@IBIBbBBIB?BH??H256sxx")  # 288 bytes
MOD_LORA = 0x10
BANDWIDTH = {125_000: 0x03, 250_000: 0x02, 500_000: 0x01}
SPREADING_FACTOR = {7: 0x02, 8: 0x04, 9: 0x08, 10: 0x10, 11: 0x20, 12: 0x40}
CR_4_5 = 0x01
STAT_CRC_OK = 0x10


@dataclass(frozen=True)
class Transmission:
    frequency: int
    count_us: int
    spreading_factor: int
    bandwidth: int
    payload: bytes
    invert_polarity: bool
    received_at_us: int  # the simulated counter when the record reached us


class SimulatedRadio:
    """Accepts the station's connection; `receive()` injects an uplink, `transmissions` collects TX."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.connection: socket.socket | None = None
        self.time_offset_us: int | None = None
        self.transmissions: list[Transmission] = []
        self.connected = threading.Event()
        self._changed = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def now_us(self) -> int:
        assert self.time_offset_us is not None
        return time.monotonic_ns() // 1000 - self.time_offset_us

    def _run(self) -> None:
        self.connection, _ = self.server.accept()
        buffer = b""
        while True:
            try:
                chunk = self.connection.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while len(buffer) >= TX_RECORD.size:
                record, buffer = buffer[: TX_RECORD.size], buffer[TX_RECORD.size :]
                self._record(record)

    def _record(self, record: bytes) -> None:
        (freq, mode, count_us, _rf, _power, _mod, bandwidth, datarate, _cr, invert, _fdev, _pre, _nocrc,
         _nohdr, size, payload) = TX_RECORD.unpack(record)  # fmt: skip
        if mode == 255:  # the hello: the simulated counter's offset from CLOCK_MONOTONIC
            self.time_offset_us = (freq << 32) | count_us
            self.connected.set()
            return
        bandwidths = {v: k for k, v in BANDWIDTH.items()}
        factors = {v: k for k, v in SPREADING_FACTOR.items()}
        transmission = Transmission(
            frequency=freq, count_us=count_us, spreading_factor=factors.get(datarate, 0),
            bandwidth=bandwidths.get(bandwidth, 0), payload=payload[:size], invert_polarity=invert,
            received_at_us=self.now_us() & 0xFFFFFFFF,
        )  # fmt: skip
        with self._changed:
            self.transmissions.append(transmission)
            self._changed.notify_all()

    def receive(self, payload: bytes, *, frequency: int = 868_100_000, spreading_factor: int = 7,
                bandwidth: int = 125_000, rssi: float = -50.0, snr: float = 9.0) -> int:  # fmt: skip
        """Hand the station a frame as if heard now; returns the counter value it carries."""
        assert self.connection is not None and self.time_offset_us is not None
        count_us = self.now_us() & 0xFFFFFFFF
        record = RX_RECORD.pack(
            frequency, 0, STAT_CRC_OK, count_us, 0, MOD_LORA, BANDWIDTH[bandwidth],
            SPREADING_FACTOR[spreading_factor], CR_4_5, rssi, snr, snr, snr, 0, len(payload), payload,
        )  # fmt: skip
        self.connection.sendall(record)
        return count_us

    def wait_transmissions(self, count: int, timeout_s: float = 10.0) -> list[Transmission]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self.transmissions) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(self.transmissions)} of {count} transmissions")
                self._changed.wait(remaining)
            return list(self.transmissions)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.server.close()


class MemoryDirectory:
    """The bridge's Directory interface over a dict (the DynamoDB one is exercised end to end)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.stations: dict[str, dict[str, Any]] = {}

    def lookup(self, gateway_id: str) -> StationGateway | None:
        token = self.tokens.get(gateway_id)
        return StationGateway(gateway_id, True, token_hash(token)) if token else None

    def record_station(self, gateway_id: str, station: dict[str, Any]) -> None:
        self.stations[gateway_id] = station

    def cups_lookup(self, gateway_id: str) -> CupsGateway | None:
        token = self.tokens.get(gateway_id)
        return CupsGateway(gateway_id, (token_hash(token),), token) if token else None
