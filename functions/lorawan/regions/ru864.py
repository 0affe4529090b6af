"""RU864-870 (RP002-1.0.4 §2.13)."""

from __future__ import annotations

from ._tables import EU_LORA_FSK, EU_MAX_MAC_PAYLOAD, by_index, rx1_table
from .base import Channel, ClassBParams, DynamicRegion, ReceiveWindow, eirp_offsets

_DEFAULT_CHANNELS = (Channel(868_900_000, 0, 5), Channel(869_100_000, 0, 5))

RU864 = DynamicRegion(
    name="RU864",
    id="ru864",
    section="§2.13",
    data_rates=by_index(EU_LORA_FSK),
    max_mac_payload=EU_MAX_MAC_PAYLOAD,
    rx1_dr_table=rx1_table(range(8)),
    uplink_channel_list=_DEFAULT_CHANNELS,
    join_channel_list=_DEFAULT_CHANNELS,
    rx2=ReceiveWindow(869_100_000, 0),
    tx_power_offsets=eirp_offsets(8),
    default_max_eirp=16.0,
    class_b=ClassBParams(  # §2.13.9: beacon on 869.1 MHz, ping slots on 868.9 MHz
        beacon_dr=3,
        beacon_frequencies=(869_100_000,),
        ping_slot_dr=3,
        ping_slot_frequencies=(868_900_000,),
    ),
)
