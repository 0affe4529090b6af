"""Class A downlink scheduling: which gateway, and the RX1/RX2 items of a gw.DownlinkFrame.

Gateway choice: among the receptions, the best link budget (SNR, then RSSI, as ChirpStack's default)
whose gateway can still transmit: one the bridge reported offline, or whose TX ack said TOO_LATE in the
last TOO_LATE_MEMORY_S seconds, is skipped when another gateway heard the frame.
RX1 opens `rx1_delay` after the end of the uplink, on the region's RX1 frequency and data rate (DR
offset); RX2 one second later on the RX2 frequency and data rate (RP002-1.0.4 §2.x.7). The bridge
turns "delay from the uplink's context" into the concentrator timestamp, so an item that reaches the
gateway after its instant is refused (TOO_LATE): `reachable_windows` says which windows a downlink
published now can still meet, and only those get an item.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.network.models import Gateway
from functions.network.observability import Count, logger
from functions.network.receptions import Reception

TOO_LATE_MEMORY_S = 600
TOO_LATE_KEY = "txTooLateAt"  # in Gateway.stats: when a TX ack last said TOO_LATE (epoch seconds)


@dataclass(frozen=True)
class RxParameters:
    rx1_delay_s: int
    rx1_dr_offset: int
    rx2_dr: int
    rx2_frequency: int


@dataclass(frozen=True)
class Windows:
    """The receive windows a downlink published now can still meet."""

    rx1: bool
    rx2: bool

    @property
    def any(self) -> bool:
        return self.rx1 or self.rx2


def gps_locked_time_s(rx_info: dict[str, Any]) -> float | None:
    """The gateway's own UTC time of the reception (`gwTime`), trusted only from a gateway whose clock is
    GPS-locked: one that reports `timeSinceGpsEpoch`, which a packet forwarder sends only with a GPS fix
    (a gateway without GPS may run on any clock)."""
    value = rx_info.get("gwTime")
    if "timeSinceGpsEpoch" not in rx_info or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def heard_at_s(receptions: Sequence[Reception]) -> float | None:
    """When the frame was heard, as best known: the earliest rule timestamp of its receptions
    (`received_at`), or a GPS-locked gateway's own reception time when that is earlier (a frame held on
    its way, by a backhaul or a broker keeping messages for a reconnecting client, is stamped late by the
    rule). None when no reception carries either."""
    stamps = [r.received_at_ms / 1000 for r in receptions if r.received_at_ms > 0]
    stamps += [t for t in (gps_locked_time_s(r.rx_info) for r in receptions) if t is not None]
    return min(stamps) if stamps else None


def reachable_windows(heard_at: float | None, rx1_delay_s: float, now: float, margin_s: float) -> Windows:
    """RX1 opens `rx1_delay_s` after the uplink, RX2 one second later (LoRaWAN 1.0.4 §3.3.1-3.3.2; the join
    windows are JOIN_ACCEPT_DELAY1/2, also one second apart). A window is met when the downlink leaves at
    least `margin_s` before it opens (the way back to the gateway, see the README). A frame without an
    arrival time (no rule timestamp) is given both."""
    if heard_at is None:
        return Windows(True, True)
    left = heard_at + rx1_delay_s - margin_s - now
    return Windows(rx1=left >= 0, rx2=left + 1 >= 0)


def best_reception(receptions: Sequence[Reception]) -> Reception:
    return max(receptions, key=lambda r: (r.snr, r.rssi))


def gateway_usable(gateway: Gateway | None, now: float) -> bool:
    """Unknown gateways are usable (they just sent us a frame); known ones unless the bridge took them
    offline, or they recently could not transmit in time."""
    if gateway is None:
        return True
    if not gateway.online and gateway.last_seen_at:
        return False
    too_late = (gateway.stats or {}).get(TOO_LATE_KEY)
    return not (isinstance(too_late, int | float) and now - too_late < TOO_LATE_MEMORY_S)


def downlink_reception(
    receptions: Sequence[Reception], count: Count, *, now: float | None = None
) -> Reception:
    """The reception whose gateway sends the downlink (a single reception needs no lookup)."""
    ordered = sorted(receptions, key=lambda r: (r.snr, r.rssi), reverse=True)
    if len(ordered) == 1:
        return ordered[0]
    now = time.time() if now is None else now
    gateways = {g.gateway_id: g for g in Gateway.batch_get({r.gateway_id for r in ordered})}
    for index, reception in enumerate(ordered):
        if gateway_usable(gateways.get(reception.gateway_id), now):
            if index:
                count("GatewaysSkipped")
                logger.info(
                    "better-heard gateways skipped (offline or recently TOO_LATE)",
                    extra={
                        "skipped": [r.gateway_id for r in ordered[:index]],
                        "chosen": reception.gateway_id,
                    },
                )
            return reception
    return ordered[0]  # none looks usable: the best link still has the best chance


def _tx_info(region: Region, frequency: int, dr: int, context: str, delay_s: int) -> dict[str, Any]:
    modulation = region.data_rate(dr).modulation
    tx: dict[str, Any] = {
        "frequency": frequency,
        "power": int(region.downlink_max_eirp(frequency)),
        "context": context,
        "timing": {"delay": {"delay": f"{delay_s}s"}},
    }
    if isinstance(modulation, LoRaModulation):
        tx["modulation"] = {
            "lora": {
                "bandwidth": modulation.bandwidth,
                "spreadingFactor": modulation.spreading_factor,
                "codeRate": "CR_" + modulation.coding_rate.replace("/", "_"),
                "polarizationInversion": True,
            }
        }
    else:
        tx["modulation"] = {
            "fsk": {"datarate": getattr(modulation, "bitrate", 50000), "frequencyDeviation": 25000}
        }
    return tx


def class_a_downlink(
    region: Region,
    reception: Reception,
    phy_payload: bytes,
    rx: RxParameters,
    *,
    downlink_id: int | None = None,
    rx1_frequency: int | None = None,
    rx1: bool = True,
    rx2: bool = True,
) -> dict[str, Any]:
    """gw.DownlinkFrame with the RX1 item and the RX2 fallback, for the gateway that heard `reception`
    (`rx1_frequency` overrides the region's rule after a DlChannelReq); `rx1`/`rx2` False leave a window
    out (missed, or too small for the frame)."""
    if not (rx1 or rx2):
        raise ValueError("a class A downlink needs at least one receive window")
    payload = base64.b64encode(phy_payload).decode()
    rx1_frequency = rx1_frequency or region.rx1_frequency(reception.frequency)
    rx1_dr = region.rx1_data_rate(reception.data_rate, rx.rx1_dr_offset)
    rx2_frequency = rx.rx2_frequency or region.rx2.frequency
    items = [
        {
            "phyPayload": payload,
            "txInfo": _tx_info(region, rx1_frequency, rx1_dr, reception.context, rx.rx1_delay_s),
        },
        {
            "phyPayload": payload,
            "txInfo": _tx_info(region, rx2_frequency, rx.rx2_dr, reception.context, rx.rx1_delay_s + 1),
        },
    ]
    return {
        "downlinkId": downlink_id if downlink_id is not None else secrets.randbits(32),
        "gatewayId": reception.gateway_id,
        "items": [item for item, used in zip(items, (rx1, rx2), strict=True) if used],
    }


def command_topic(reception: Reception) -> str:
    return f"{reception.topic_prefix}/gateway/{reception.gateway_id}/command/down"


def class_c_downlink(
    region: Region, gateway_id: str, phy_payload: bytes, rx: RxParameters, *, downlink_id: int | None = None
) -> dict[str, Any]:
    """A class C downlink: sent at once through the last gateway, on the RX2 frequency and data rate (the
    window a class C device keeps open; LoRaWAN 1.0.4 §17)."""
    frequency = rx.rx2_frequency or region.rx2.frequency
    tx = _tx_info(region, frequency, rx.rx2_dr, "", 0)
    tx.pop("context")
    tx["timing"] = {"immediately": {}}
    return {
        "downlinkId": downlink_id if downlink_id is not None else secrets.randbits(32),
        "gatewayId": gateway_id,
        "items": [{"phyPayload": base64.b64encode(phy_payload).decode(), "txInfo": tx}],
    }
