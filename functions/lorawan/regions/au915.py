"""AU915-928 (RP002-1.0.4 §2.8)."""

from __future__ import annotations

from ._tables import by_index
from .base import Channel, ClassBParams, FixedRegion, ReceiveWindow, eirp_offsets, lora, lr_fhss

# §2.8.2: 64 x 125 kHz from 915.2 MHz in 200 kHz steps (DR0-5), 8 x 500 kHz from 915.9 MHz in
# 1.6 MHz steps (DR6, LR-FHSS DR7), 8 downlink channels from 923.3 MHz in 600 kHz steps.
_UPLINK = tuple(Channel(915_200_000 + 200_000 * n, 0, 5) for n in range(64)) + tuple(
    Channel(915_900_000 + 1_600_000 * n, 6, 7) for n in range(8)
)
_DOWNLINK = tuple(Channel(923_300_000 + 600_000 * n, 8, 13) for n in range(8))

_DOWNLINK_M = {8: 61, 9: 137, 10: 250, 11: 250, 12: 250, 13: 250}

AU915 = FixedRegion(
    name="AU915",
    id="au915",
    section="§2.8",
    data_rates=by_index(
        (
            lora(0, 12, 125, downlink=False),
            lora(1, 11, 125, downlink=False),
            lora(2, 10, 125, downlink=False),
            lora(3, 9, 125, downlink=False),
            lora(4, 8, 125, downlink=False),
            lora(5, 7, 125, downlink=False),
            lora(6, 8, 500, downlink=False),
            lr_fhss(7, "1/3", 1_523_000),
            lora(8, 12, 500, uplink=False),
            lora(9, 11, 500, uplink=False),
            lora(10, 10, 500, uplink=False),
            lora(11, 9, 500, uplink=False),
            lora(12, 8, 500, uplink=False),
            lora(13, 7, 500, uplink=False),
        )
    ),
    # §2.8.6: with UplinkDwellTime = 1 (400 ms) DR0/DR1 are not allowed and DR2-4 shrink.
    max_mac_payload={0: 59, 1: 59, 2: 59, 3: 123, 4: 250, 5: 250, 6: 250, 7: 58} | _DOWNLINK_M,
    max_mac_payload_dwell={2: 19, 3: 61, 4: 133, 5: 250, 6: 250, 7: 58} | _DOWNLINK_M,
    # §2.8.7 (RX1DROffset 0..5)
    rx1_dr_table={
        0: (8, 8, 8, 8, 8, 8),
        1: (9, 8, 8, 8, 8, 8),
        2: (10, 9, 8, 8, 8, 8),
        3: (11, 10, 9, 8, 8, 8),
        4: (12, 11, 10, 9, 8, 8),
        5: (13, 12, 11, 10, 9, 8),
        6: (13, 13, 12, 11, 10, 9),
        7: (9, 8, 8, 8, 8, 8),
    },
    uplink_channel_list=_UPLINK,
    join_channel_list=_UPLINK,
    downlink_channel_list=_DOWNLINK,
    rx2=ReceiveWindow(923_300_000, 8),
    tx_power_offsets=eirp_offsets(15),  # §2.8.3: TXPower 0..14
    default_max_eirp=30.0,
    supports_tx_param_setup=True,
    uplink_dwell_time_default=True,
    class_b=ClassBParams(  # §2.8.9: beacon at DR8, hopping like US915
        beacon_dr=8,
        beacon_frequencies=tuple(ch.frequency for ch in _DOWNLINK),
        ping_slot_dr=8,
        ping_slot_frequencies=tuple(ch.frequency for ch in _DOWNLINK),
    ),
)
