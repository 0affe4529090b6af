"""CN779-787 (RP002-1.0.4 §2.6). Kept for existing devices; new ones may not be made for it."""

from __future__ import annotations

from ._tables import EU_LORA_FSK, EU_MAX_MAC_PAYLOAD, by_index, rx1_table
from .base import Channel, ClassBParams, DynamicRegion, ReceiveWindow, eirp_offsets

_DEFAULT_CHANNELS = (
    Channel(779_500_000, 0, 5),
    Channel(779_700_000, 0, 5),
    Channel(779_900_000, 0, 5),
)

CN779 = DynamicRegion(
    name="CN779",
    id="cn779",
    section="§2.6",
    data_rates=by_index(EU_LORA_FSK),
    max_mac_payload=EU_MAX_MAC_PAYLOAD,
    rx1_dr_table=rx1_table(range(8)),
    uplink_channel_list=_DEFAULT_CHANNELS,
    join_channel_list=_DEFAULT_CHANNELS,
    rx2=ReceiveWindow(786_000_000, 0),
    tx_power_offsets=eirp_offsets(6),  # §2.6.3: TXPower 0..5
    default_max_eirp=12.15,
    class_b=ClassBParams(  # §2.6.9: beacon and ping slots on 785 MHz (not the RX2 frequency)
        beacon_dr=3,
        beacon_frequencies=(785_000_000,),
        ping_slot_dr=3,
        ping_slot_frequencies=(785_000_000,),
    ),
)
