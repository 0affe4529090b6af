"""US902-928 (RP002-1.0.4 §2.5)."""

from __future__ import annotations

from ._tables import by_index
from .base import Channel, ClassBParams, FixedRegion, ReceiveWindow, eirp_offsets, lora, lr_fhss

# §2.5.2: 64 x 125 kHz from 902.3 MHz in 200 kHz steps, 8 x 500 kHz from 903.0 MHz in 1.6 MHz
# steps (DR4, and the LR-FHSS DR5/DR6), 8 downlink channels from 923.3 MHz in 600 kHz steps.
_UPLINK = tuple(Channel(902_300_000 + 200_000 * n, 0, 3) for n in range(64)) + tuple(
    Channel(903_000_000 + 1_600_000 * n, 4, 6) for n in range(8)
)
_DOWNLINK = tuple(Channel(923_300_000 + 600_000 * n, 8, 13) for n in range(8))

US915 = FixedRegion(
    name="US915",
    id="us915",
    section="§2.5",
    data_rates=by_index(
        (
            lora(0, 10, 125, downlink=False),
            lora(1, 9, 125, downlink=False),
            lora(2, 8, 125, downlink=False),
            lora(3, 7, 125, downlink=False),
            lora(4, 8, 500, downlink=False),
            lr_fhss(5, "1/3", 1_523_000),
            lr_fhss(6, "2/3", 1_523_000),
            lora(8, 12, 500, uplink=False),
            lora(9, 11, 500, uplink=False),
            lora(10, 10, 500, uplink=False),
            lora(11, 9, 500, uplink=False),
            lora(12, 8, 500, uplink=False),
            lora(13, 7, 500, uplink=False),
        )
    ),
    # §2.5.6. DR2 is M=133 as in LoRaWAN 1.0.2 and every RP002 (LoRaWAN 1.0.1 said 134).
    max_mac_payload={
        0: 19,
        1: 61,
        2: 133,
        3: 250,
        4: 250,
        5: 58,
        6: 133,
        8: 61,
        9: 137,
        10: 250,
        11: 250,
        12: 250,
        13: 250,
    },
    # §2.5.7 (RX1DROffset 0..3); uplinks are dwell-time limited but downlinks (500 kHz) are not.
    rx1_dr_table={
        0: (10, 9, 8, 8),
        1: (11, 10, 9, 8),
        2: (12, 11, 10, 9),
        3: (13, 12, 11, 10),
        4: (13, 13, 12, 11),
        5: (10, 9, 8, 8),
        6: (11, 10, 9, 8),
    },
    uplink_channel_list=_UPLINK,
    join_channel_list=_UPLINK,
    downlink_channel_list=_DOWNLINK,
    rx2=ReceiveWindow(923_300_000, 8),
    # §2.5.3: RP002 extends the TXPower table to 14 (MaxEIRP - 28 dB); LoRaWAN 1.0.1 stopped at 10.
    tx_power_offsets=eirp_offsets(15),
    default_max_eirp=30.0,
    max_adr_dr=3,
    uplink_dwell_time_default=True,
    class_b=ClassBParams(  # §2.5.9: beacon and ping slots hop over the 8 downlink channels
        beacon_dr=8,
        beacon_frequencies=tuple(ch.frequency for ch in _DOWNLINK),
        ping_slot_dr=8,
        ping_slot_frequencies=tuple(ch.frequency for ch in _DOWNLINK),
    ),
)
