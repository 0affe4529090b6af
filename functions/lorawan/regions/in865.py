"""IN865-867 (RP002-1.0.4 §2.12)."""

from __future__ import annotations

from ._tables import EU_LORA_FSK, EU_MAX_MAC_PAYLOAD, by_index
from .base import Channel, ClassBParams, DynamicRegion, ReceiveWindow, eirp_offsets

_DEFAULT_CHANNELS = (
    Channel(865_062_500, 0, 5),
    Channel(865_402_500, 0, 5),
    Channel(865_985_000, 0, 5),
)

# §2.12.7: RX1DROffset 6/7 raise the data rate; DR6 is RFU so results skip it (DR4 + 2 -> DR5,
# DR7 - 1 -> DR5). Transcribed as a table, as LoRaMac-node has it.
_RX1 = {
    0: (0, 0, 0, 0, 0, 0, 1, 2),
    1: (1, 0, 0, 0, 0, 0, 2, 3),
    2: (2, 1, 0, 0, 0, 0, 3, 4),
    3: (3, 2, 1, 0, 0, 0, 4, 5),
    4: (4, 3, 2, 1, 0, 0, 5, 5),
    5: (5, 4, 3, 2, 1, 0, 5, 7),
    7: (7, 5, 5, 4, 3, 2, 7, 7),
}

IN865 = DynamicRegion(
    name="IN865",
    id="in865",
    section="§2.12",
    data_rates=by_index(EU_LORA_FSK[:6] + EU_LORA_FSK[7:]),  # §2.12.3: DR6 is RFU
    max_mac_payload={dr: m for dr, m in EU_MAX_MAC_PAYLOAD.items() if dr != 6},
    rx1_dr_table=_RX1,
    uplink_channel_list=_DEFAULT_CHANNELS,
    join_channel_list=_DEFAULT_CHANNELS,
    rx2=ReceiveWindow(866_550_000, 2),
    tx_power_offsets=eirp_offsets(11),  # §2.12.3: TXPower 0..10 (RP002-1.0.5 extends to 14)
    default_max_eirp=30.0,
    # Beacon on 866.55 MHz as LoRaMac-node and liblora have it (TTN: 866.5 MHz).
    class_b=ClassBParams(
        beacon_dr=4,
        beacon_frequencies=(866_550_000,),
        ping_slot_dr=4,
        ping_slot_frequencies=(866_550_000,),
    ),
)
