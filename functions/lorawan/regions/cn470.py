"""CN470-510 (RP002-1.0.4 §2.9): four channel plans chosen by the antenna and the join channel.

A device finds its plan from the channel its Join-accept arrived on: 20 MHz antennas use plan
A (64 uplink channels in two groups, RX1 on a separate downlink band) or plan B (RX1 on the
uplink frequency); 26 MHz antennas use plan A or B with 48 uplink and 24 downlink channels.
`cn470_for_join_frequency()` gives the plan, RX2 and class B channels for a join channel.

Public implementations disagree on three CN470 values; this follows RP002-1.0.2+ as ChirpStack
and Semtech's LoRaMac-node read it: DR3 M = 192 (TTN: 172, the RP002-1.0.1 value), RX1 and RX2
never use DR0 (which has no payload size in RP002; TTN's tables still floor at DR0), RX2 at DR1.
ChirpStack's and liblora's "cn470" is the older 96-channel plan of the LoRaWAN 1.0.x RP, not
modelled here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..cflist import CFListChannelMask
from ..errors import InvalidChannel
from ..types import DevAddr
from ._tables import by_index
from .base import (
    BEACON_PERIOD_S,
    Channel,
    ClassBParams,
    ReceiveWindow,
    Region,
    eirp_offsets,
    fsk,
    lora,
    mask_of,
)

_STEP = 200_000


class CN470Plan(StrEnum):
    A20 = "20A"
    B20 = "20B"
    A26 = "26A"
    B26 = "26B"


def _group(start_hz: int, count: int) -> tuple[int, ...]:
    return tuple(start_hz + _STEP * n for n in range(count))


# §2.9.2 uplink / downlink frequencies per plan.
_UPLINK: dict[CN470Plan, tuple[int, ...]] = {
    CN470Plan.A20: _group(470_300_000, 32) + _group(503_500_000, 32),
    CN470Plan.B20: _group(476_900_000, 32) + _group(496_900_000, 32),
    CN470Plan.A26: _group(470_300_000, 48),
    CN470Plan.B26: _group(480_300_000, 48),
}
_DOWNLINK: dict[CN470Plan, tuple[int, ...]] = {
    CN470Plan.A20: _group(483_900_000, 32) + _group(490_300_000, 32),
    CN470Plan.B20: _UPLINK[CN470Plan.B20],  # plan B (20 MHz): RX1 on the uplink frequency
    CN470Plan.A26: _group(490_100_000, 24),
    CN470Plan.B26: _group(500_100_000, 24),
}

# §2.9.2 common join channels: (frequency, plan, index within the plan's join list).
JOIN_CHANNELS: tuple[tuple[int, CN470Plan], ...] = (
    *((f, CN470Plan.A20) for f in (470_900_000, 472_500_000, 474_100_000, 475_700_000)),
    *((f, CN470Plan.A20) for f in (504_100_000, 505_700_000, 507_300_000, 508_900_000)),
    (479_900_000, CN470Plan.B20),
    (499_900_000, CN470Plan.B20),
    *((f, CN470Plan.A26) for f in (470_300_000, 472_300_000, 474_300_000, 476_300_000, 478_300_000)),
    *((f, CN470Plan.B26) for f in (480_300_000, 482_300_000, 484_300_000, 486_300_000, 488_300_000)),
)

# §2.9.7 default RX2 frequency (used by ABP devices; OTAA 20 MHz devices derive it from the join).
_RX2_DEFAULT = {
    CN470Plan.A20: 486_900_000,
    CN470Plan.B20: 498_300_000,
    CN470Plan.A26: 492_500_000,
    CN470Plan.B26: 502_500_000,
}
_BEACON_26 = {CN470Plan.A26: 494_900_000, CN470Plan.B26: 504_900_000}


@dataclass(frozen=True, kw_only=True)
class CN470Region(Region):
    """One CN470 channel plan; `join_index` is the join channel's place in the plan's list."""

    plan: CN470Plan
    join_index: int = 0
    max_channels: int = 64
    cf_list_type: int = 1

    @property
    def downlink_frequencies(self) -> tuple[int, ...]:
        return _DOWNLINK[self.plan]

    @property
    def _is_20mhz(self) -> bool:
        return self.plan in (CN470Plan.A20, CN470Plan.B20)

    def rx1_frequency(self, uplink_frequency: int, uplink_channel: int | None = None) -> int:
        """Plan A/B 20 MHz: downlink channel = uplink channel; 26 MHz: uplink channel mod 24."""
        if uplink_channel is None:
            uplink_channel = self.uplink_channel_index(uplink_frequency)
        if not 0 <= uplink_channel < len(self.uplink_channel_list):
            raise InvalidChannel(f"CN470 {self.plan}: uplink channel {uplink_channel} does not exist")
        downlink = _DOWNLINK[self.plan]
        return downlink[uplink_channel % len(downlink)]

    def cf_list(self, channels: Iterable[int]) -> CFListChannelMask:
        """CFList type 1 with ChMask0-3 (20 MHz, 64 channels) or ChMask0-2 (26 MHz, 48)."""
        enabled = frozenset(channels)
        if any(not 0 <= ch < self.max_channels for ch in enabled):
            raise InvalidChannel(f"CN470 {self.plan}: channels are 0..{self.max_channels - 1}")
        return CFListChannelMask.from_channels(enabled, self.max_channels // 16)

    def _all_on_off(self) -> tuple[int, int]:
        # §2.9.5: 20 MHz plans: 6 = all on, 7 = all off; 26 MHz plans: 3 = all on, 4 = all off.
        return (6, 7) if self._is_20mhz else (3, 4)

    def apply_link_adr(
        self,
        enabled: frozenset[int],
        masks: Sequence[tuple[int, int]],
        *,
        defined: frozenset[int] | None = None,
    ) -> frozenset[int]:
        """ChMaskCntl 0..3 (20 MHz) / 0..2 (26 MHz) set 16-channel groups; see `_all_on_off`."""
        groups = self.max_channels // 16
        all_on, all_off = self._all_on_off()
        result = set(enabled)
        for ch_mask, ch_mask_cntl in masks:
            if 0 <= ch_mask_cntl < groups:
                base = 16 * ch_mask_cntl
                result = {ch for ch in result if not base <= ch < base + 16}
                result |= {base + bit for bit in range(16) if ch_mask >> bit & 1}
            elif ch_mask_cntl == all_on:
                result = set(range(self.max_channels))
            elif ch_mask_cntl == all_off:
                result = set()
            else:
                raise InvalidChannel(f"CN470 {self.plan}: ChMaskCntl {ch_mask_cntl} is RFU (§2.9.5)")
        if not result:
            raise InvalidChannel(f"CN470 {self.plan}: the channel mask disables every channel")
        return frozenset(result)

    def link_adr_masks(self, enabled: Iterable[int]) -> list[tuple[int, int]]:
        """Explicit group masks, or all-on / all-off first when that needs fewer commands."""
        target = frozenset(enabled)
        if not target:
            raise InvalidChannel(f"CN470 {self.plan}: at least one channel must stay enabled")
        if any(not 0 <= ch < self.max_channels for ch in target):
            raise InvalidChannel(f"CN470 {self.plan}: channels are 0..{self.max_channels - 1}")
        groups = self.max_channels // 16
        want = [mask_of(target, g) for g in range(groups)]
        all_on, all_off = self._all_on_off()
        explicit = [(want[g], g) for g in range(groups)]
        on = [(0, all_on)] + [(want[g], g) for g in range(groups) if want[g] != 0xFFFF]
        off = [(0, all_off)] + [(want[g], g) for g in range(groups) if want[g] != 0]
        return min((on, off, explicit), key=len)

    # -- class B (§2.9.9): 20 MHz plans hop, 26 MHz plans use one frequency ----------------

    def beacon_frequency(self, beacon_time: int) -> int:
        downlink = _DOWNLINK[self.plan]
        if self.plan is CN470Plan.A20:
            return downlink[8 * self.join_index + (beacon_time // BEACON_PERIOD_S) % 8]
        if self.plan is CN470Plan.B20:
            return downlink[23 + 32 * self.join_index]
        return _BEACON_26[self.plan]

    def ping_slot_frequency(self, dev_addr: DevAddr, beacon_time: int) -> int:
        downlink = _DOWNLINK[self.plan]
        hop = int(dev_addr) + beacon_time // BEACON_PERIOD_S
        if self.plan is CN470Plan.A20:
            return downlink[8 * self.join_index + hop % 8]
        if self.plan is CN470Plan.B20:
            return downlink[32 * self.join_index + hop % 32]
        return _BEACON_26[self.plan]


def _plan_region(plan: CN470Plan, join_index: int = 0, *, otaa: bool = False) -> CN470Region:
    uplink = tuple(Channel(f, 1, 5) for f in _UPLINK[plan])
    joins = tuple(Channel(f, 1, 5) for f, p in JOIN_CHANNELS if p is plan)
    rx2 = _RX2_DEFAULT[plan]
    if otaa and plan is CN470Plan.A20:
        rx2 = _DOWNLINK[plan][8 * join_index + 7]  # the last channel of the join's 8-block
    elif otaa and plan is CN470Plan.B20:
        rx2 = _DOWNLINK[plan][32 * join_index + 7]
    if plan in (CN470Plan.A26, CN470Plan.B26):
        beacons: tuple[int, ...] = (_BEACON_26[plan],)
        pings: tuple[int, ...] = beacons
    elif plan is CN470Plan.A20:
        beacons = pings = _DOWNLINK[plan][8 * join_index : 8 * join_index + 8]
    else:
        beacons = (_DOWNLINK[plan][23 + 32 * join_index],)
        pings = _DOWNLINK[plan][32 * join_index : 32 * join_index + 32]
    return CN470Region(
        name=f"CN470-{plan}",
        id=f"cn470_{plan.lower()}",
        section="§2.9",
        plan=plan,
        join_index=join_index,
        max_channels=len(uplink),
        # §2.9.3: DR0 (SF12) has no payload size in RP002 and is not used; DR1-5 on 125 kHz.
        data_rates=by_index(
            (
                lora(0, 12, 125),
                lora(1, 11, 125),
                lora(2, 10, 125),
                lora(3, 9, 125),
                lora(4, 8, 125),
                lora(5, 7, 125),
                lora(6, 7, 500),
                fsk(7),
            )
        ),
        # §2.9.6. DR3 is 192 as in RP002-1.0.2 and later (RP002-1.0.1 said 172).
        max_mac_payload={1: 31, 2: 94, 3: 192, 4: 250, 5: 250, 6: 250, 7: 250},
        # §2.9.7: RX1 data rate never below DR1.
        rx1_dr_table={dr: tuple(max(1, dr - off) for off in range(6)) for dr in range(1, 8)},
        uplink_channel_list=uplink,
        join_channel_list=joins,
        rx2=ReceiveWindow(rx2, 1),
        tx_power_offsets=eirp_offsets(8),
        default_max_eirp=19.15,
        class_b=ClassBParams(
            beacon_dr=2, beacon_frequencies=beacons, ping_slot_dr=2, ping_slot_frequencies=pings
        ),
    )


CN470_20A = _plan_region(CN470Plan.A20)
CN470_20B = _plan_region(CN470Plan.B20)
CN470_26A = _plan_region(CN470Plan.A26)
CN470_26B = _plan_region(CN470Plan.B26)
CN470_PLANS = {
    CN470Plan.A20: CN470_20A,
    CN470Plan.B20: CN470_20B,
    CN470Plan.A26: CN470_26A,
    CN470Plan.B26: CN470_26B,
}


def cn470_for_join_frequency(frequency: int, *, otaa: bool = True) -> CN470Region:
    """The plan (and the RX2 / class B channels) of a device that joined on `frequency`.

    ABP devices have no join channel: they use the plan's default RX2 (`otaa=False`).
    """
    for plan in CN470Plan:
        plan_joins = [f for f, p in JOIN_CHANNELS if p is plan]
        if frequency in plan_joins:
            index = plan_joins.index(frequency)
            if plan in (CN470Plan.A26, CN470Plan.B26):
                index = 0  # one beacon frequency and one RX2 for the whole plan
            return _plan_region(plan, index, otaa=otaa)
    raise InvalidChannel(f"CN470: {frequency} Hz is not a join channel (RP002-1.0.4 §2.9.2)")
