"""The Region interface and the logic shared by RP002-1.0.4 channel plans.

Each region file holds its RP002 tables as data; the classes here turn them into the questions
a network server or a device model asks (RX1 frequency and data rate, payload limits, TX power,
CFList, LinkADRReq channel masks, class B frequencies) without knowing which region it is.
LoRaWAN 1.0.x and 1.1 devices use the same RP002 tables, so nothing here depends on the MAC
version.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..cflist import CFList, CFListChannelMask, CFListFrequencies
from ..errors import InvalidChannel, InvalidDataRate, InvalidTxPower
from ..types import DevAddr

# ---------------------------------------------------------------------------------------------
# Modulations and data rates


@dataclass(frozen=True, slots=True)
class LoRaModulation:
    """LoRa chirp spread spectrum; LoRaWAN data rates always use coding rate 4/5."""

    spreading_factor: int
    bandwidth: int  # Hz
    coding_rate: str = "4/5"

    def __str__(self) -> str:
        return f"SF{self.spreading_factor}BW{self.bandwidth // 1000}"


@dataclass(frozen=True, slots=True)
class FSKModulation:
    """GFSK at a fixed bit rate (50 kbit/s wherever RP002 defines FSK)."""

    bitrate: int  # bit/s

    def __str__(self) -> str:
        return f"FSK{self.bitrate // 1000}kbps"


@dataclass(frozen=True, slots=True)
class LRFHSSModulation:
    """LR-FHSS (RP002-1.0.4 §2.4.3, §2.5.3, §2.8.3): coding rate and occupied channel width."""

    coding_rate: Literal["1/3", "2/3"]
    occupied_channel_width: int  # Hz (137 kHz, 336 kHz or 1.523 MHz)

    def __str__(self) -> str:
        return f"LR-FHSS CR{self.coding_rate} OCW{self.occupied_channel_width // 1000}kHz"


Modulation = LoRaModulation | FSKModulation | LRFHSSModulation


@dataclass(frozen=True, slots=True)
class DataRate:
    """One row of a region's data-rate table; some rows are uplink-only or downlink-only."""

    index: int
    modulation: Modulation
    uplink: bool = True
    downlink: bool = True

    def __str__(self) -> str:
        return f"DR{self.index} {self.modulation}"


def lora(index: int, sf: int, bw_khz: int, *, uplink: bool = True, downlink: bool = True) -> DataRate:
    return DataRate(index, LoRaModulation(sf, bw_khz * 1000), uplink, downlink)


def fsk(index: int) -> DataRate:
    return DataRate(index, FSKModulation(50_000))


def lr_fhss(index: int, coding_rate: Literal["1/3", "2/3"], ocw_hz: int) -> DataRate:
    """LR-FHSS rates are uplink-only in every RP002-1.0.4 table."""
    return DataRate(index, LRFHSSModulation(coding_rate, ocw_hz), uplink=True, downlink=False)


# ---------------------------------------------------------------------------------------------
# Plain value types


@dataclass(frozen=True, slots=True)
class MaxPayload:
    """M: largest MACPayload; N: largest FRMPayload when FOpts is empty (N = M - 8)."""

    m: int
    n: int


@dataclass(frozen=True, slots=True)
class Channel:
    """An uplink or downlink channel: centre frequency (Hz) and allowed data-rate range."""

    frequency: int
    min_dr: int
    max_dr: int


@dataclass(frozen=True, slots=True)
class ReceiveWindow:
    frequency: int
    dr: int


@dataclass(frozen=True, slots=True)
class ClassBParams:
    """Beacon and ping-slot defaults. Several frequencies mean the channel hops (RP002 §2.5.9)."""

    beacon_dr: int
    beacon_frequencies: tuple[int, ...]
    ping_slot_dr: int
    ping_slot_frequencies: tuple[int, ...]
    beacon_coding_rate: str = "4/5"


@dataclass(frozen=True, slots=True)
class Timing:
    """Default settings, the same for every region (RP002-1.0.4 §2.3 'Default Settings').

    Delays are in seconds. RETRANSMIT_TIMEOUT (ACK_TIMEOUT before LoRaWAN 1.0.4) is random in
    [ack_timeout_min, ack_timeout_max]. MAX_FCNT_GAP is kept for 1.0.0-1.0.3 devices.
    """

    receive_delay1: int = 1
    receive_delay2: int = 2
    join_accept_delay1: int = 5
    join_accept_delay2: int = 6
    max_fcnt_gap: int = 16384
    adr_ack_limit: int = 64
    adr_ack_delay: int = 32
    ack_timeout_min: int = 1
    ack_timeout_max: int = 3
    ping_slot_periodicity: int = 7
    class_b_resp_timeout: int = 8
    class_c_resp_timeout: int = 8


BEACON_PERIOD_S = 128
"""Class B beacon period (LoRaWAN 1.0.4 class B §: beacon_period 128 s)."""

_EMPTY: Mapping[int, int] = {}


def eirp_offsets(count: int) -> tuple[int, ...]:
    """TXPower n => MaxEIRP - 2n dB for n in 0..count-1 (RP002-1.0.4 TXPower tables)."""
    return tuple(-2 * n for n in range(count))


# ---------------------------------------------------------------------------------------------
# The common interface


@dataclass(frozen=True, kw_only=True)
class Region(ABC):
    """A region's RP002-1.0.4 parameters and the rules that use them.

    Tables are keyed by data-rate index; a missing key means RFU / not allowed.
    """

    name: str  # the common name, e.g. "EU868", "AS923-2"
    id: str  # ChirpStack's lower-case id, e.g. "eu868", "as923_2"
    section: str  # RP002-1.0.4 section, for error messages and docs
    data_rates: Mapping[int, DataRate]
    max_mac_payload: Mapping[int, int]  # M without dwell-time limit
    max_mac_payload_dwell: Mapping[int, int] | None = None  # M with the 400 ms dwell limit
    rx1_dr_table: Mapping[int, tuple[int, ...]]  # uplink DR -> RX1 DR per RX1DROffset
    rx1_dr_table_dwell: Mapping[int, tuple[int, ...]] | None = None  # downlink dwell limited
    uplink_channel_list: tuple[Channel, ...]  # default (dynamic) or all (fixed) channels
    join_channel_list: tuple[Channel, ...]
    rx2: ReceiveWindow
    tx_power_offsets: tuple[int, ...]
    default_max_eirp: float
    class_b: ClassBParams
    timing: Timing = field(default_factory=Timing)
    max_channels: int = 16
    cf_list_type: int = 0
    max_adr_dr: int = 5
    supports_tx_param_setup: bool = False
    uplink_dwell_time_default: bool = False
    # Sub-bands whose regulatory EIRP limit differs from the default, as [low, high) Hz.
    downlink_eirp_bands: tuple[tuple[int, int, float], ...] = ()
    downlink_default_eirp: float | None = None  # None: default_max_eirp

    # -- data rates -------------------------------------------------------------------------

    def data_rate(self, index: int) -> DataRate:
        """The modulation of DR `index` (RP002 'Data Rate and End-device Output Power Encoding')."""
        try:
            return self.data_rates[index]
        except KeyError:
            raise InvalidDataRate(
                f"{self.name}: DR{index} is not defined (RP002-1.0.4 {self.section})"
            ) from None

    def data_rate_index(self, modulation: Modulation, *, uplink: bool = True) -> int:
        """Find the DR of a modulation as a gateway reports it (SF/BW, FSK bit rate, LR-FHSS).

        The direction matters: US915 DR4 (uplink) and DR12 (downlink) are both SF8/500 kHz.
        """
        for dr in self.data_rates.values():
            if (dr.uplink if uplink else dr.downlink) and _same_modulation(dr.modulation, modulation):
                return dr.index
        direction = "uplink" if uplink else "downlink"
        raise InvalidDataRate(f"{self.name}: no {direction} data rate for {modulation}")

    def max_payload_size(self, dr: int, dwell_time: bool = False) -> MaxPayload:
        """M and N for DR `dr`; with the 400 ms dwell-time limit where the region has one."""
        table = self.max_mac_payload_dwell if dwell_time and self.max_mac_payload_dwell is not None else None
        m = (table if table is not None else self.max_mac_payload).get(dr, 0)
        if m <= 0:
            limit = " with dwell time" if table is not None else ""
            raise InvalidDataRate(f"{self.name}: DR{dr} has no payload size{limit} ({self.section})")
        return MaxPayload(m, m - 8)

    def rx1_data_rate(self, uplink_dr: int, rx1_dr_offset: int, dwell_time: bool = False) -> int:
        """The RX1 data rate for an uplink DR and RX1DROffset (RP002 'Receive windows').

        `dwell_time` is the downlink dwell-time setting (AS923 raises the floor to DR2).
        """
        table = self.rx1_dr_table_dwell if dwell_time and self.rx1_dr_table_dwell is not None else None
        row = (table if table is not None else self.rx1_dr_table).get(uplink_dr)
        if row is None:
            raise InvalidDataRate(f"{self.name}: DR{uplink_dr} is not an uplink data rate")
        if not 0 <= rx1_dr_offset < len(row):
            raise InvalidDataRate(f"{self.name}: RX1DROffset {rx1_dr_offset} is not in 0..{len(row) - 1}")
        return row[rx1_dr_offset]

    # -- power ------------------------------------------------------------------------------

    def tx_power_dbm(self, index: int, max_eirp: float | None = None) -> float:
        """EIRP (dBm) for TXPower `index`: MaxEIRP plus the table's offset (RP002 TXPower table)."""
        if not 0 <= index < len(self.tx_power_offsets):
            raise InvalidTxPower(
                f"{self.name}: TXPower {index} is not in 0..{len(self.tx_power_offsets) - 1}"
            )
        return (self.default_max_eirp if max_eirp is None else max_eirp) + self.tx_power_offsets[index]

    def downlink_max_eirp(self, frequency: int) -> float:
        """The highest EIRP (dBm) a gateway may use on `frequency` (RP002 sub-band limits)."""
        for low, high, eirp in self.downlink_eirp_bands:
            if low <= frequency < high:
                return eirp
        return self.default_max_eirp if self.downlink_default_eirp is None else self.downlink_default_eirp

    # -- channels ---------------------------------------------------------------------------

    def uplink_channels(self) -> tuple[Channel, ...]:
        """The channels a device has after a join or reset (all of them in a fixed plan)."""
        return self.uplink_channel_list

    @property
    def join_channels(self) -> tuple[Channel, ...]:
        """The channels a device uses for Join-requests (RP002 'Channel Frequencies')."""
        return self.join_channel_list

    def uplink_channel_index(self, frequency: int) -> int:
        """The index of the default/fixed uplink channel on `frequency`."""
        for index, channel in enumerate(self.uplink_channel_list):
            if channel.frequency == frequency:
                return index
        raise InvalidChannel(f"{self.name}: {frequency} Hz is not a default uplink channel")

    @abstractmethod
    def rx1_frequency(self, uplink_frequency: int, uplink_channel: int | None = None) -> int:
        """The RX1 downlink frequency for an uplink received on that frequency / channel."""

    @abstractmethod
    def cf_list(self, channels: Iterable[int]) -> CFList | None:
        """The Join-accept CFList for extra frequencies (type 0) or enabled channels (type 1)."""

    # -- LinkADRReq channel masks (LoRaWAN 1.0.4 §5.3 and RP002 'LinkADRReq command') --------

    @abstractmethod
    def apply_link_adr(
        self,
        enabled: frozenset[int],
        masks: Sequence[tuple[int, int]],
        *,
        defined: frozenset[int] | None = None,
    ) -> frozenset[int]:
        """Device side: the channel set after a block of (ChMask, ChMaskCntl) pairs, in order.

        Raises InvalidChannel when a ChMaskCntl is RFU, a mask enables an undefined channel, or
        the result has no channel left; the device then answers Channel mask ACK = 0 and keeps
        its previous set (LoRaWAN 1.0.4 §5.3).
        """

    @abstractmethod
    def link_adr_masks(self, enabled: Iterable[int]) -> list[tuple[int, int]]:
        """Network side: the shortest block of (ChMask, ChMaskCntl) that yields `enabled`."""

    # -- class B ----------------------------------------------------------------------------

    @property
    def beacon(self) -> ClassBParams:
        return self.class_b

    def beacon_frequency(self, beacon_time: int) -> int:
        """The beacon frequency for the beacon period starting at `beacon_time` (GPS seconds).

        Hopping regions pick channel floor(beacon_time / 128) mod N (RP002-1.0.4 §2.5.9).
        """
        freqs = self.class_b.beacon_frequencies
        return freqs[(beacon_time // BEACON_PERIOD_S) % len(freqs)]

    def ping_slot_frequency(self, dev_addr: DevAddr, beacon_time: int) -> int:
        """The ping-slot frequency of `dev_addr` in the beacon period starting at `beacon_time`.

        Hopping regions use (DevAddr + floor(beacon_time / 128)) mod N (RP002-1.0.4 §2.5.9).
        """
        freqs = self.class_b.ping_slot_frequencies
        return freqs[(int(dev_addr) + beacon_time // BEACON_PERIOD_S) % len(freqs)]


def _same_modulation(ours: Modulation, theirs: Modulation) -> bool:
    # The coding rate of a LoRa uplink is not part of the DR, so compare SF and BW only.
    if isinstance(ours, LoRaModulation) and isinstance(theirs, LoRaModulation):
        return (ours.spreading_factor, ours.bandwidth) == (theirs.spreading_factor, theirs.bandwidth)
    return ours == theirs


# ---------------------------------------------------------------------------------------------
# Dynamic channel plans (EU868, AS923, KR920, IN865, RU864, EU433, CN779)


@dataclass(frozen=True, kw_only=True)
class DynamicRegion(Region):
    """A dynamic channel plan: a few default channels, up to 16, RX1 on the uplink frequency."""

    def rx1_frequency(self, uplink_frequency: int, uplink_channel: int | None = None) -> int:
        """RX1 uses the uplink channel's frequency (RP002-1.0.4 §2.4.7 and peers)."""
        return uplink_frequency

    def cf_list(self, channels: Iterable[int]) -> CFListFrequencies | None:
        """CFList type 0: the frequencies of channels N..N+4 after the N defaults (§2.4.4)."""
        frequencies = tuple(channels)
        if not frequencies:
            return None
        if len(frequencies) > 5:
            raise InvalidChannel(f"{self.name}: a CFList carries at most 5 extra channels")
        return CFListFrequencies(frequencies)

    def _defined(self, enabled: frozenset[int], defined: frozenset[int] | None) -> frozenset[int]:
        if defined is not None:
            return defined
        return frozenset(range(len(self.uplink_channel_list))) | enabled

    def apply_link_adr(
        self,
        enabled: frozenset[int],
        masks: Sequence[tuple[int, int]],
        *,
        defined: frozenset[int] | None = None,
    ) -> frozenset[int]:
        """ChMaskCntl 0: ChMask is channels 0-15; 6: all defined channels on; others RFU.

        `defined` is the set of channels the device has (defaults plus CFList/NewChannelReq);
        without it the defaults and the currently enabled channels are taken as defined.
        """
        known = self._defined(enabled, defined)
        result = set(enabled)
        for ch_mask, ch_mask_cntl in masks:
            if ch_mask_cntl == 0:
                chosen = {bit for bit in range(16) if ch_mask >> bit & 1}
                if chosen - known:
                    raise InvalidChannel(
                        f"{self.name}: ChMask enables undefined channels {sorted(chosen - known)}"
                    )
                result = chosen
            elif ch_mask_cntl == 6:
                result = set(known)
            else:
                raise InvalidChannel(f"{self.name}: ChMaskCntl {ch_mask_cntl} is RFU ({self.section})")
        if not result:
            raise InvalidChannel(f"{self.name}: the channel mask disables every channel")
        return frozenset(result)

    def link_adr_masks(self, enabled: Iterable[int]) -> list[tuple[int, int]]:
        """One LinkADRReq with ChMaskCntl 0 always suffices in a 16-channel plan."""
        channels = frozenset(enabled)
        if not channels:
            raise InvalidChannel(f"{self.name}: at least one channel must stay enabled")
        if any(not 0 <= ch < self.max_channels for ch in channels):
            raise InvalidChannel(f"{self.name}: channels are 0..{self.max_channels - 1}")
        return [(sum(1 << ch for ch in channels), 0)]


# ---------------------------------------------------------------------------------------------
# Fixed channel plans with 64 x 125 kHz + 8 x 500 kHz uplink channels (US915, AU915)


def mask_of(channels: frozenset[int], block: int, width: int = 16) -> int:
    return sum(1 << (ch - block * width) for ch in channels if block * width <= ch < (block + 1) * width)


@dataclass(frozen=True, kw_only=True)
class FixedRegion(Region):
    """US915 and AU915: 72 fixed uplink channels and 8 downlink channels (RP002-1.0.4 §2.5, §2.8)."""

    downlink_channel_list: tuple[Channel, ...]
    max_channels: int = 72
    cf_list_type: int = 1
    allow_block_masks: bool = True  # ChMaskCntl 5 (RP002 only; RP 1.0.2 devices call it RFU)

    def downlink_channels(self) -> tuple[Channel, ...]:
        return self.downlink_channel_list

    def rx1_frequency(self, uplink_frequency: int, uplink_channel: int | None = None) -> int:
        """RX1 channel = uplink channel mod 8 on 923.3 + 0.6 n MHz (RP002-1.0.4 §2.5.7, §2.8.7)."""
        if uplink_channel is None:
            uplink_channel = self.uplink_channel_index(uplink_frequency)
        if not 0 <= uplink_channel < len(self.uplink_channel_list):
            raise InvalidChannel(f"{self.name}: uplink channel {uplink_channel} does not exist")
        return self.downlink_channel_list[uplink_channel % len(self.downlink_channel_list)].frequency

    def cf_list(self, channels: Iterable[int]) -> CFListChannelMask:
        """CFList type 1: ChMask0-3 for channels 0-63, ChMask4 for 64-71 (§2.5.4)."""
        enabled = frozenset(channels)
        if any(not 0 <= ch < self.max_channels for ch in enabled):
            raise InvalidChannel(f"{self.name}: channels are 0..{self.max_channels - 1}")
        return CFListChannelMask.from_channels(enabled, 5)

    def apply_link_adr(
        self,
        enabled: frozenset[int],
        masks: Sequence[tuple[int, int]],
        *,
        defined: frozenset[int] | None = None,
    ) -> frozenset[int]:
        """ChMaskCntl 0-3: 16 x 125 kHz channels each; 4: channels 64-71; 5: blocks of
        8 x 125 kHz + one 500 kHz channel (bits 8-15 RFU per the RP002-1.0.4 errata);
        6 / 7: all 125 kHz channels on / off and ChMask for channels 64-71 (§2.5.5, §2.8.5).
        """
        result = set(enabled)
        for ch_mask, ch_mask_cntl in masks:
            if 0 <= ch_mask_cntl <= 3:
                base = 16 * ch_mask_cntl
                result = {ch for ch in result if not base <= ch < base + 16}
                result |= {base + bit for bit in range(16) if ch_mask >> bit & 1}
            elif ch_mask_cntl == 4:
                result = {ch for ch in result if ch < 64} | {
                    64 + bit for bit in range(8) if ch_mask >> bit & 1
                }
            elif ch_mask_cntl == 5 and self.allow_block_masks:
                result = set()
                for bit in range(8):
                    if ch_mask >> bit & 1:
                        result |= set(range(8 * bit, 8 * bit + 8)) | {64 + bit}
            elif ch_mask_cntl in (6, 7):
                low = set(range(64)) if ch_mask_cntl == 6 else set()
                result = low | {64 + bit for bit in range(8) if ch_mask >> bit & 1}
            else:
                raise InvalidChannel(f"{self.name}: ChMaskCntl {ch_mask_cntl} is RFU ({self.section})")
        if not result:
            raise InvalidChannel(f"{self.name}: the channel mask disables every channel")
        return frozenset(result)

    def link_adr_masks(self, enabled: Iterable[int]) -> list[tuple[int, int]]:
        """Pick the shortest of: five explicit masks; ChMaskCntl 7 (all 125 kHz off) or 6 (all
        on) carrying the 500 kHz mask, then fix-ups for 16-channel groups that differ; or
        ChMaskCntl 5 block bits plus fix-ups. Ties prefer 6/7, then explicit, then 5.
        """
        target = frozenset(enabled)
        if not target:
            raise InvalidChannel(f"{self.name}: at least one channel must stay enabled")
        if any(not 0 <= ch < self.max_channels for ch in target):
            raise InvalidChannel(f"{self.name}: channels are 0..{self.max_channels - 1}")
        want = [mask_of(target, g) for g in range(4)]
        high = mask_of(target, 8, 8)  # channels 64-71

        def fixups(have: Sequence[int], have_high: int | None) -> list[tuple[int, int]]:
            out = [(want[g], g) for g in range(4) if have[g] != want[g]]
            if have_high is None or have_high != high:
                out.append((high, 4))
            return out

        candidates: list[list[tuple[int, int]]] = [
            [(high, 7), *fixups([0, 0, 0, 0], high)],
            [(high, 6), *fixups([0xFFFF] * 4, high)],
            fixups([-1] * 4, None),
        ]
        if self.allow_block_masks:
            best_blocks: list[tuple[int, int]] | None = None
            for bits in range(1, 256):
                have = [0, 0, 0, 0]
                for b in range(8):
                    if bits >> b & 1:
                        have[b // 2] |= 0xFF << (8 * (b % 2))
                plan = [(bits, 5), *fixups(have, bits)]
                if best_blocks is None or len(plan) < len(best_blocks):
                    best_blocks = plan
            assert best_blocks is not None
            candidates.append(best_blocks)
        return min(candidates, key=len)  # min keeps the first of equal lengths
