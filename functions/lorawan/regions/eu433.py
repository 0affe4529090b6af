"""EU433 (RP002-1.0.4 §2.7)."""

from __future__ import annotations

from ._tables import EU_LORA_FSK, EU_MAX_MAC_PAYLOAD, by_index, rx1_table
from .base import Channel, ClassBParams, DynamicRegion, ReceiveWindow, eirp_offsets

_DEFAULT_CHANNELS = (
    Channel(433_175_000, 0, 5),
    Channel(433_375_000, 0, 5),
    Channel(433_575_000, 0, 5),
)

EU433 = DynamicRegion(
    name="EU433",
    id="eu433",
    section="§2.7",
    data_rates=by_index(EU_LORA_FSK),
    max_mac_payload=EU_MAX_MAC_PAYLOAD,
    rx1_dr_table=rx1_table(range(8)),
    uplink_channel_list=_DEFAULT_CHANNELS,
    join_channel_list=_DEFAULT_CHANNELS,
    rx2=ReceiveWindow(434_665_000, 0),
    tx_power_offsets=eirp_offsets(6),  # §2.7.3: TXPower 0..5
    default_max_eirp=12.15,
    # Beacon on the RX2 frequency as LoRaMac-node and liblora have it (TTN: 434.655 MHz).
    class_b=ClassBParams(
        beacon_dr=3,
        beacon_frequencies=(434_665_000,),
        ping_slot_dr=3,
        ping_slot_frequencies=(434_665_000,),
    ),
)
