"""Incoming receptions: the bridge's gw.UplinkFrame as the IoT rule hands it to the uplink Lambda, parsed
into a typed `Reception`. Bad input raises `InvalidUplinkEvent` with what was wrong; the handler counts
and drops it. (Outgoing events, to the application server, are `functions/shared/interface.py`'s.)"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from functions.lorawan.errors import LoRaWANError
from functions.lorawan.regions import Region, get_region
from functions.lorawan.regions.base import FixedRegion, LoRaModulation

_SUB_BAND = re.compile(r"^(us915|au915|cn470)_\d+$")


class InvalidUplinkEvent(ValueError):
    """An event that is not a usable gateway uplink."""


def region_for_prefix(prefix: str) -> Region:
    """The region of a ChirpStack topic prefix ("eu868", "us915_0" = US915 sub-band configuration 0)."""
    match = _SUB_BAND.match(prefix)
    try:
        return get_region(match[1] if match else prefix)
    except LoRaWANError as exc:
        raise InvalidUplinkEvent(f"unknown region prefix {prefix!r}") from exc


def sub_band_channels(prefix: str, region: Region) -> frozenset[int] | None:
    """The channels of a fixed plan's sub-band configuration, as ChirpStack's `us915_<n>` region
    configurations define them: 125 kHz channels 8n..8n+7 and 500 kHz channel 64+n (RP002-1.0.4 §2.5.2).
    None for dynamic plans and prefixes without a sub-band."""
    match = _SUB_BAND.match(prefix)
    if match is None or not isinstance(region, FixedRegion):
        return None
    n = int(prefix.rsplit("_", 1)[1])
    if not 0 <= n < 8:
        raise InvalidUplinkEvent(f"sub-band {n} of {region.name} does not exist")
    return frozenset(range(8 * n, 8 * n + 8)) | {64 + n}


def gps_time_s(rx_info: dict[str, Any]) -> float | None:
    """The gateway's GPS time of the reception (`timeSinceGpsEpoch`, a protobuf Duration), if it has one."""
    value = rx_info.get("timeSinceGpsEpoch")
    if isinstance(value, str) and value.endswith("s"):
        try:
            return float(value[:-1])
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Reception:
    """One gateway's reception of a frame."""

    phy_payload: bytes
    gateway_id: str
    topic_prefix: str
    uplink_id: int
    frequency: int
    data_rate: int
    rssi: int
    snr: float
    context: str  # base64 of the concentrator counter, for RX1 timing
    received_at_ms: int
    rx_info: dict[str, Any] = field(default_factory=dict, compare=False)
    tx_info: dict[str, Any] = field(default_factory=dict, compare=False)
    # someone reads the gateway's frames: as its copy read the gateway's flag (gateway_registry.py), carried
    # through the collection so the frame log of every gateway that heard a frame costs no read of its own
    gateway_watched: bool = field(default=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.gateway_id}:{self.uplink_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "phyPayload": base64.b64encode(self.phy_payload).decode(),
            "gateway_id": self.gateway_id,
            "topic_prefix": self.topic_prefix,
            "uplink_id": self.uplink_id,
            "frequency": self.frequency,
            "data_rate": self.data_rate,
            "rssi": self.rssi,
            "snr": self.snr,
            "context": self.context,
            "received_at_ms": self.received_at_ms,
            "rx_info": self.rx_info,
            "tx_info": self.tx_info,
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Reception:
        return cls(
            base64.b64decode(value["phyPayload"]),
            value["gateway_id"],
            value["topic_prefix"],
            int(value["uplink_id"]),
            int(value["frequency"]),
            int(value["data_rate"]),
            int(value["rssi"]),
            float(value["snr"]),
            value["context"],
            int(value["received_at_ms"]),
            value.get("rx_info", {}),
            value.get("tx_info", {}),
        )


def parse_uplink(event: dict[str, Any]) -> Reception:
    """A gw.UplinkFrame (plus the rule's `topic_prefix`, `topic_gateway_id`, `received_at`)."""
    try:
        rx_info = event["rxInfo"]
        tx_info = event["txInfo"]
        prefix = str(event["topic_prefix"])
        gateway_id = str(rx_info.get("gatewayId") or event["topic_gateway_id"])
        if gateway_id != event.get("topic_gateway_id", gateway_id):
            raise InvalidUplinkEvent("gatewayId differs from the topic's gateway")
        phy = base64.b64decode(event["phyPayload"], validate=True)
        region = region_for_prefix(prefix)
        lora = tx_info["modulation"]["lora"]
        modulation = LoRaModulation(int(lora["spreadingFactor"]), int(lora["bandwidth"]))
        data_rate = region.data_rate_index(modulation)
        if rx_info.get("crcStatus", "CRC_OK") != "CRC_OK":
            raise InvalidUplinkEvent(f"CRC status {rx_info.get('crcStatus')}")
        return Reception(
            phy_payload=phy,
            gateway_id=gateway_id,
            topic_prefix=prefix,
            uplink_id=int(rx_info.get("uplinkId", 0)),
            frequency=int(tx_info["frequency"]),
            data_rate=data_rate,
            rssi=int(rx_info.get("rssi", 0)),
            snr=float(rx_info.get("snr", 0.0)),
            context=str(rx_info.get("context", "")),
            received_at_ms=int(event.get("received_at", 0)),
            rx_info=dict(rx_info),
            tx_info=dict(tx_info),
        )
    except InvalidUplinkEvent:
        raise
    except (KeyError, TypeError, ValueError, binascii.Error, LoRaWANError) as exc:
        raise InvalidUplinkEvent(f"{type(exc).__name__}: {exc}") from exc
