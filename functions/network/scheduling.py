"""Class A downlink scheduling: which gateway, and the RX1/RX2 items of a gw.DownlinkFrame.

Gateway choice (as ChirpStack's default): the reception with the best SNR margin, RSSI breaking ties.
RX1 opens `rx1_delay` after the end of the uplink, on the region's RX1 frequency and data rate (DR
offset); RX2 one second later on the RX2 frequency and data rate (RP002-1.0.4 §2.x.7). The bridge
turns "delay from the uplink's context" into the concentrator timestamp.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.network.events import Reception


@dataclass(frozen=True)
class RxParameters:
    rx1_delay_s: int
    rx1_dr_offset: int
    rx2_dr: int
    rx2_frequency: int


def best_reception(receptions: tuple[Reception, ...] | list[Reception]) -> Reception:
    return max(receptions, key=lambda r: (r.snr, r.rssi))


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
) -> dict[str, Any]:
    """gw.DownlinkFrame with the RX1 item and the RX2 fallback, for the gateway that heard `reception`."""
    payload = base64.b64encode(phy_payload).decode()
    rx1_frequency = region.rx1_frequency(reception.frequency)
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
        "items": items,
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
