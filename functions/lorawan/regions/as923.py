"""AS923-1, AS923-2, AS923-3 and AS923-4 (RP002-1.0.4 §2.10).

The four share every table; they differ only by a frequency offset added to the default
channels, RX2 and class B frequencies (AS923-2: -1.8 MHz, AS923-3: -6.6 MHz, AS923-4: -5.9 MHz).
"""

from __future__ import annotations

from ._tables import EU_LORA_FSK, by_index
from .base import Channel, ClassBParams, DynamicRegion, ReceiveWindow, eirp_offsets

# §2.10.7: RX1DROffset 6 and 7 raise the RX1 data rate by one and two (effective offsets -1, -2),
# capped at DR7; with DownlinkDwellTime = 1 the RX1 data rate never drops below DR2.
_EFFECTIVE_OFFSETS = (0, 1, 2, 3, 4, 5, -1, -2)
_RX1 = {dr: tuple(min(7, max(0, dr - off)) for off in _EFFECTIVE_OFFSETS) for dr in range(8)}
_RX1_DWELL = {dr: tuple(max(2, value) for value in row) for dr, row in _RX1.items()}

_NO_DWELL_M = {0: 59, 1: 59, 2: 123, 3: 123, 4: 250, 5: 250, 6: 250, 7: 250}
_DWELL_M = {2: 19, 3: 61, 4: 133, 5: 250, 6: 250, 7: 250}  # §2.10.6: DR0/DR1 not allowed


def _as923(name: str, region_id: str, offset_hz: int) -> DynamicRegion:
    channels = (Channel(923_200_000 + offset_hz, 0, 5), Channel(923_400_000 + offset_hz, 0, 5))
    return DynamicRegion(
        name=name,
        id=region_id,
        section="§2.10",
        data_rates=by_index(EU_LORA_FSK),
        max_mac_payload=_NO_DWELL_M,
        max_mac_payload_dwell=_DWELL_M,
        rx1_dr_table=_RX1,
        rx1_dr_table_dwell=_RX1_DWELL,
        uplink_channel_list=channels,
        join_channel_list=channels,
        rx2=ReceiveWindow(923_200_000 + offset_hz, 2),
        tx_power_offsets=eirp_offsets(8),
        default_max_eirp=16.0,
        supports_tx_param_setup=True,
        class_b=ClassBParams(
            beacon_dr=3,
            beacon_frequencies=(923_400_000 + offset_hz,),
            ping_slot_dr=3,
            ping_slot_frequencies=(923_400_000 + offset_hz,),
        ),
    )


AS923_1 = _as923("AS923-1", "as923", 0)
AS923_2 = _as923("AS923-2", "as923_2", -1_800_000)
AS923_3 = _as923("AS923-3", "as923_3", -6_600_000)
AS923_4 = _as923("AS923-4", "as923_4", -5_900_000)
