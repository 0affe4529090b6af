"""KR920-923 (RP002-1.0.4 §2.11)."""

from __future__ import annotations

from ._tables import EU_LORA_FSK, EU_MAX_MAC_PAYLOAD, by_index, rx1_table
from .base import Channel, ClassBParams, DynamicRegion, ReceiveWindow, eirp_offsets

_DEFAULT_CHANNELS = (
    Channel(922_100_000, 0, 5),
    Channel(922_300_000, 0, 5),
    Channel(922_500_000, 0, 5),
)

KR920 = DynamicRegion(
    name="KR920",
    id="kr920",
    section="§2.11",
    data_rates=by_index(EU_LORA_FSK[:6]),  # §2.11.3: DR0-5 only
    max_mac_payload={dr: m for dr, m in EU_MAX_MAC_PAYLOAD.items() if dr <= 5},
    rx1_dr_table=rx1_table(range(6)),
    uplink_channel_list=_DEFAULT_CHANNELS,
    join_channel_list=_DEFAULT_CHANNELS,
    rx2=ReceiveWindow(921_900_000, 0),
    tx_power_offsets=eirp_offsets(8),
    # §2.11.3: 14 dBm by default; channels below 922 MHz are limited to 10 dBm EIRP.
    default_max_eirp=14.0,
    class_b=ClassBParams(
        beacon_dr=3,
        beacon_frequencies=(923_100_000,),
        ping_slot_dr=3,
        ping_slot_frequencies=(923_100_000,),
    ),
)
