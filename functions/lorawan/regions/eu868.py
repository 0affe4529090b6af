"""EU863-870 (RP002-1.0.4 §2.4)."""

from __future__ import annotations

from ._tables import EU_LORA_FSK, EU_MAX_MAC_PAYLOAD, by_index, rx1_table
from .base import Channel, ClassBParams, DynamicRegion, ReceiveWindow, eirp_offsets, lr_fhss

_DEFAULT_CHANNELS = (
    Channel(868_100_000, 0, 5),
    Channel(868_300_000, 0, 5),
    Channel(868_500_000, 0, 5),
)

# §2.4.7: LR-FHSS uplinks (DR8-11) map to LoRa RX1 data rates like DR1/DR2 uplinks do.
_RX1 = rx1_table(range(8)) | {
    8: (1, 0, 0, 0, 0, 0),
    9: (2, 1, 0, 0, 0, 0),
    10: (1, 0, 0, 0, 0, 0),
    11: (2, 1, 0, 0, 0, 0),
}

EU868 = DynamicRegion(
    name="EU868",
    id="eu868",
    section="§2.4",
    # §2.4.3: DR0-7 LoRa/FSK, DR8-11 LR-FHSS (137 kHz and 336 kHz occupied channel width).
    data_rates=by_index(
        (
            *EU_LORA_FSK,
            lr_fhss(8, "1/3", 137_000),
            lr_fhss(9, "2/3", 137_000),
            lr_fhss(10, "1/3", 336_000),
            lr_fhss(11, "2/3", 336_000),
        )
    ),
    # §2.4.6: the repeater-compatible table of LoRaWAN 1.0.1 is gone from RP002.
    max_mac_payload=EU_MAX_MAC_PAYLOAD | {8: 58, 9: 123, 10: 58, 11: 123},
    rx1_dr_table=_RX1,
    uplink_channel_list=_DEFAULT_CHANNELS,
    join_channel_list=_DEFAULT_CHANNELS,
    rx2=ReceiveWindow(869_525_000, 0),  # §2.4.7
    tx_power_offsets=eirp_offsets(8),  # §2.4.3: TXPower 0..7
    default_max_eirp=16.0,
    # §2.4.2 / ETSI EN 300 220: 500 mW ERP (29.15 dBm EIRP) in 869.4-869.65 MHz, else 25 mW ERP.
    downlink_eirp_bands=((869_400_000, 869_650_000, 29.15),),
    downlink_default_eirp=16.15,
    class_b=ClassBParams(  # §2.4.9: beacon and ping slots on 869.525 MHz
        beacon_dr=3,
        beacon_frequencies=(869_525_000,),
        ping_slot_dr=3,
        ping_slot_frequencies=(869_525_000,),
    ),
)
