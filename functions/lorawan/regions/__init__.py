"""RP002-1.0.4 regional parameters as data behind one `Region` interface.

`get_region()` accepts the common names ("EU868", "AS923-2", ...) in any case, ChirpStack's ids
("eu868", "as923_2", ...) and, for CN470, the plan ("CN470-20A", "cn470_26b", ...).
"""

from __future__ import annotations

from ..errors import UnknownRegion
from .as923 import AS923_1, AS923_2, AS923_3, AS923_4
from .au915 import AU915
from .base import (
    BEACON_PERIOD_S,
    Channel,
    ClassBParams,
    DataRate,
    DynamicRegion,
    FixedRegion,
    FSKModulation,
    LoRaModulation,
    LRFHSSModulation,
    MaxPayload,
    Modulation,
    ReceiveWindow,
    Region,
    Timing,
)
from .cn470 import (
    CN470_20A,
    CN470_20B,
    CN470_26A,
    CN470_26B,
    CN470Plan,
    CN470Region,
    cn470_for_join_frequency,
)
from .cn779 import CN779
from .eu433 import EU433
from .eu868 import EU868
from .in865 import IN865
from .kr920 import KR920
from .ru864 import RU864
from .us915 import US915

ALL_REGIONS: tuple[Region, ...] = (
    EU868,
    US915,
    CN779,
    EU433,
    AU915,
    CN470_20A,
    CN470_20B,
    CN470_26A,
    CN470_26B,
    AS923_1,
    AS923_2,
    AS923_3,
    AS923_4,
    KR920,
    IN865,
    RU864,
)


def _key(name: str) -> str:
    return name.strip().upper().replace("-", "").replace("_", "")


_BY_KEY: dict[str, Region] = {}
for _region in ALL_REGIONS:
    _BY_KEY[_key(_region.name)] = _region
    _BY_KEY[_key(_region.id)] = _region
# "AS923" is AS923-1 (RP002-1.0.4 §2.10); plain "CN470" is the 20 MHz plan A, whose default RX2
# (486.9 MHz) is what ABP devices use; joined devices should use cn470_for_join_frequency().
_BY_KEY[_key("AS923-1")] = AS923_1
_BY_KEY[_key("CN470")] = CN470_20A


def get_region(name: str) -> Region:
    """The region for a common name or ChirpStack id, case-insensitively."""
    try:
        return _BY_KEY[_key(name)]
    except KeyError:
        raise UnknownRegion(
            f"unknown region {name!r} (RP002-1.0.4 names: EU868, US915, AS923-2, ...)"
        ) from None


__all__ = [
    "ALL_REGIONS",
    "AS923_1",
    "AS923_2",
    "AS923_3",
    "AS923_4",
    "AU915",
    "BEACON_PERIOD_S",
    "CN470Plan",
    "CN470Region",
    "CN470_20A",
    "CN470_20B",
    "CN470_26A",
    "CN470_26B",
    "CN779",
    "EU433",
    "EU868",
    "IN865",
    "KR920",
    "RU864",
    "US915",
    "Channel",
    "ClassBParams",
    "DataRate",
    "DynamicRegion",
    "FSKModulation",
    "FixedRegion",
    "LRFHSSModulation",
    "LoRaModulation",
    "MaxPayload",
    "Modulation",
    "ReceiveWindow",
    "Region",
    "Timing",
    "cn470_for_join_frequency",
    "get_region",
]
