"""The Semtech UDP packet-forwarder protocol (PROTOCOL.TXT v1.3 / sx1302_hal PROTOCOL.md v1.6), pure.

Every datagram: protocol version (1 or 2), a 2-byte token, a packet identifier; then, for the gateway's
packets, its 8-byte EUI; then JSON. Decoding checks all of that and raises `SemtechError` subclasses,
which the UDP server counts and logs by `reason` — a malformed datagram never raises anything else.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

SUPPORTED_VERSIONS = (1, 2)
MAX_DATAGRAM = 65507  # the largest UDP payload over IPv4; packet forwarders stay far below it
# A concentrator holds at most 16 received packets between two fetches (SX1301 RX FIFO, lora_gateway's
# LGW_PKT_FIFO_SIZE; the SX1302 has 16 demodulators) and the reference forwarder sends one fetch per
# PUSH_DATA (8 at most in packet_forwarder v1.3's NB_PKT_MAX): more rxpk in one datagram is not a gateway.
MAX_RXPK_PER_DATAGRAM = 16


class PacketType(IntEnum):
    PUSH_DATA = 0x00
    PUSH_ACK = 0x01
    PULL_DATA = 0x02
    PULL_RESP = 0x03
    PULL_ACK = 0x04
    TX_ACK = 0x05


class SemtechError(ValueError):
    """A datagram that is not valid Semtech UDP; `reason` is the metric label."""

    reason = "malformed"


class TooShort(SemtechError):
    reason = "too_short"


class UnsupportedVersion(SemtechError):
    reason = "unsupported_version"


class UnknownPacketType(SemtechError):
    reason = "unknown_packet_type"


class InvalidJSON(SemtechError):
    reason = "invalid_json"


class UnexpectedDirection(SemtechError):
    """A server-to-gateway packet (ACK, PULL_RESP) sent to the server."""

    reason = "unexpected_direction"


@dataclass(frozen=True, slots=True)
class PushData:
    """Uplinks (`rxpk`) and/or status (`stat`) from a gateway; answered with PUSH_ACK at once."""

    version: int
    token: int
    gateway_id: str
    rxpk: list[dict[str, Any]] = field(default_factory=list)
    stat: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PullData:
    """Keep-alive that opens the downlink path; the server remembers its source address."""

    version: int
    token: int
    gateway_id: str


@dataclass(frozen=True, slots=True)
class TxAck:
    """The gateway's answer to PULL_RESP (same token); `error` is "NONE"/"" when the frame was queued."""

    version: int
    token: int
    gateway_id: str
    error: str = "NONE"
    warn: str = ""


GatewayPacket = PushData | PullData | TxAck


def _header(data: bytes) -> tuple[int, int, PacketType]:
    if len(data) < 4:
        raise TooShort(f"{len(data)} bytes, a header is 4")
    version = data[0]
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(f"protocol version {version}")
    try:
        kind = PacketType(data[3])
    except ValueError as exc:
        raise UnknownPacketType(f"identifier 0x{data[3]:02x}") from exc
    (token,) = struct.unpack_from("<H", data, 1)
    return version, token, kind


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidJSON(f"{what}: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidJSON(f"{what}: a JSON object is expected")
    return value


def parse_gateway_datagram(data: bytes) -> GatewayPacket:
    """Decode a datagram a gateway sent (PUSH_DATA, PULL_DATA, TX_ACK)."""
    if len(data) > MAX_DATAGRAM:
        raise SemtechError(f"{len(data)} bytes is larger than any UDP datagram")
    version, token, kind = _header(data)
    if kind not in (PacketType.PUSH_DATA, PacketType.PULL_DATA, PacketType.TX_ACK):
        raise UnexpectedDirection(f"{kind.name} is sent by the server, not a gateway")
    if len(data) < 12:
        raise TooShort(f"{kind.name} needs an 8-byte gateway EUI")
    gateway_id = data[4:12].hex()
    body = data[12:]
    if kind == PacketType.PULL_DATA:
        return PullData(version, token, gateway_id)
    if kind == PacketType.TX_ACK:
        if not body.strip(b"\x00 \r\n"):
            return TxAck(version, token, gateway_id)  # v1 forwarders send an empty TX_ACK on success
        ack = _json_object(body.rstrip(b"\x00"), "TX_ACK").get("txpk_ack") or {}
        if not isinstance(ack, dict):
            raise InvalidJSON("TX_ACK: txpk_ack must be an object")
        return TxAck(version, token, gateway_id, str(ack.get("error") or "NONE"), str(ack.get("warn") or ""))
    document = _json_object(body, "PUSH_DATA")
    rxpk = document.get("rxpk", [])
    stat = document.get("stat")
    if not isinstance(rxpk, list) or not all(isinstance(p, dict) for p in rxpk):
        raise InvalidJSON("PUSH_DATA: rxpk must be a list of objects")
    if stat is not None and not isinstance(stat, dict):
        raise InvalidJSON("PUSH_DATA: stat must be an object")
    return PushData(version, token, gateway_id, rxpk, stat)


def push_ack(version: int, token: int) -> bytes:
    return struct.pack("<BHB", version, token, PacketType.PUSH_ACK)


def pull_ack(version: int, token: int) -> bytes:
    return struct.pack("<BHB", version, token, PacketType.PULL_ACK)


def pull_resp(version: int, token: int, txpk: dict[str, Any]) -> bytes:
    """PULL_RESP carrying one `txpk`; in v1 the token is unused (zero), v2 echoes it in TX_ACK."""
    body = json.dumps({"txpk": txpk}, separators=(",", ":")).encode()
    return struct.pack("<BHB", version, token if version >= 2 else 0, PacketType.PULL_RESP) + body


# The gateway side, for the simulated packet forwarder and tests.


def push_data(version: int, token: int, gateway_id: str, document: dict[str, Any]) -> bytes:
    header = struct.pack("<BHB", version, token, PacketType.PUSH_DATA) + bytes.fromhex(gateway_id)
    return header + json.dumps(document, separators=(",", ":")).encode()


def pull_data(version: int, token: int, gateway_id: str) -> bytes:
    return struct.pack("<BHB", version, token, PacketType.PULL_DATA) + bytes.fromhex(gateway_id)


def tx_ack(version: int, token: int, gateway_id: str, error: str = "NONE") -> bytes:
    body = json.dumps({"txpk_ack": {"error": error}}, separators=(",", ":")).encode()
    return struct.pack("<BHB", version, token, PacketType.TX_ACK) + bytes.fromhex(gateway_id) + body


def parse_server_datagram(data: bytes) -> tuple[int, int, PacketType, dict[str, Any] | None]:
    """Decode what the server sends a gateway: (version, token, type, PULL_RESP JSON or None)."""
    version, token, kind = _header(data)
    if kind == PacketType.PULL_RESP:
        return version, token, kind, _json_object(data[4:], "PULL_RESP")
    if kind in (PacketType.PUSH_ACK, PacketType.PULL_ACK):
        return version, token, kind, None
    raise UnexpectedDirection(f"{kind.name} is sent by a gateway")
