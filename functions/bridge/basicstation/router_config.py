"""`router_config` for a gateway, from the region tables in `functions/lorawan` (Basics Station docs,
The LNS Protocol: Router Configuration; RP002-1.0.4 for the tables).

Channels: a dynamic plan's default channels (the network gives no CFList there), or a fixed plan's
sub-band from the topic prefix (`us915_1`: 125 kHz channels 8-15 and 500 kHz channel 65, as ChirpStack's
region configurations and our network server define them). The concentrator setup (`sx1301_conf`) is
left to the gateway's own `station.conf`: Station allocates radios and IF chains from `upchannels`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from functions.lorawan.regions import (
    FixedRegion,
    FSKModulation,
    LoRaModulation,
    Region,
    get_region,
)

_SUB_BAND = re.compile(r"^(us915|au915|cn470)_(\d+)$")

# Station's names for the regions it applies duty-cycle, CCA and power rules for; other regions are
# sent by their common name (Station then applies `max_eirp` and no regional rules).
STATION_REGION = {
    "EU868": "EU868",
    "US915": "US915",
    "AU915": "AU915",
    "KR920": "KR920",
    "AS923-1": "AS923-1",
}

# Band edges (Hz) per RP002-1.0.4 plan: Station refuses downlinks outside `freq_range`.
FREQUENCY_RANGE = {
    "EU868": (863_000_000, 870_000_000), "US915": (902_000_000, 928_000_000),
    "AU915": (915_000_000, 928_000_000), "CN779": (779_000_000, 787_000_000),
    "EU433": (433_175_000, 434_665_000), "KR920": (920_900_000, 923_300_000),
    "IN865": (865_000_000, 867_000_000), "RU864": (864_000_000, 870_000_000),
    "AS923-1": (915_000_000, 928_000_000), "AS923-2": (915_000_000, 928_000_000),
    "AS923-3": (915_000_000, 928_000_000), "AS923-4": (917_000_000, 920_000_000),
}  # fmt: skip
CN470_RANGE = (470_000_000, 510_000_000)


@dataclass(frozen=True)
class Filters:
    """Which frames the gateway forwards at all: NetIDs of data frames and JoinEUI ranges of joins
    (Station drops the rest before they reach the backhaul). Empty: no filter."""

    net_ids: tuple[int, ...] = ()
    join_eui_ranges: tuple[tuple[int, int], ...] = ()


def region_of_prefix(prefix: str) -> tuple[Region, int | None]:
    """The region and the sub-band (fixed plans) a topic prefix names."""
    match = _SUB_BAND.match(prefix)
    if match:
        return get_region(match[1]), int(match[2])
    return get_region(prefix), None


def _data_rates(region: Region) -> list[list[int]]:
    """Station's DR table: [SF, bandwidth kHz, downlink only], SF 0 for FSK, -1 for a DR it cannot use."""
    table: list[list[int]] = []
    for index in range(16):
        rate = region.data_rates.get(index)
        if rate is None:
            table.append([-1, 0, 0])
        elif isinstance(rate.modulation, LoRaModulation):
            modulation = rate.modulation
            table.append([modulation.spreading_factor, modulation.bandwidth // 1000, int(not rate.uplink)])
        elif isinstance(rate.modulation, FSKModulation):
            table.append([0, 0, int(not rate.uplink)])
        else:  # LR-FHSS: not in Station's table
            table.append([-1, 0, 0])
    return table


def upchannels(region: Region, sub_band: int | None) -> list[list[int]]:
    channels = region.uplink_channels()
    if isinstance(region, FixedRegion):
        band = 0 if sub_band is None else sub_band
        wanted = set(range(8 * band, 8 * band + 8)) | {64 + band}
        channels = tuple(c for i, c in enumerate(channels) if i in wanted)
    return [[c.frequency, c.min_dr, c.max_dr] for c in channels]


def router_config(prefix: str, filters: Filters | None = None, *, now: float | None = None) -> dict[str, Any]:
    filters = filters or Filters()
    region, sub_band = region_of_prefix(prefix)
    name = region.name
    config: dict[str, Any] = {
        "msgtype": "router_config",
        "region": STATION_REGION.get(name, name),
        "hwspec": "sx1301/1",
        "freq_range": list(FREQUENCY_RANGE.get(name, CN470_RANGE)),
        "DRs": _data_rates(region),
        "upchannels": upchannels(region, sub_band),
        "sx1301_conf": [{}],
        "max_eirp": region.default_max_eirp,
        "NetID": list(filters.net_ids) or None,
        "JoinEui": [list(r) for r in filters.join_eui_ranges] or None,
        "nocca": False,
        "nodc": False,
        "nodwell": False,
    }
    if now is not None:
        config["MuxTime"] = now
    return config


def parse_join_eui_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """ "0000000000000000-00000000000000ff,70b3d57ed0000000-70b3d57ed0ffffff" -> integer ranges."""
    ranges: list[tuple[int, int]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        ranges.append((int(low, 16), int(high or low, 16)))
    return tuple(ranges)


def parse_net_ids(text: str | Sequence[str]) -> tuple[int, ...]:
    parts = text.split(",") if isinstance(text, str) else text
    return tuple(int(p.strip(), 16) for p in parts if p.strip())
