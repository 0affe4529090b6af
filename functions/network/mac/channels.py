"""The channels a device uses: the region's, those a JoinAccept's CFList or a LinkADRReq enabled, and
those NewChannelReq added (LoRaWAN 1.0.4 §5.3, §5.6; RP002-1.0.4 §2.x.2)."""

from __future__ import annotations

from functions.lorawan.regions import Region
from functions.lorawan.regions.base import FixedRegion
from functions.network.models import DeviceSession


def enabled_channels(session: DeviceSession, region: Region) -> list[int]:
    """The uplink channels the device uses: set at join (a US915 sub-band), then by acknowledged
    LinkADRReq and NewChannelReq; the region's defaults for sessions that never recorded any."""
    applied = session.mac_state.applied
    if applied.enabled_channels:
        return sorted(int(c) for c in applied.enabled_channels)
    if isinstance(region, FixedRegion):
        return list(range(len(region.uplink_channel_list)))
    return list(range(len(region.uplink_channel_list))) + sorted(int(c) for c in applied.channels)


def uplink_channel_index(session: DeviceSession, region: Region, frequency: int) -> int:
    """The channel index of an uplink frequency, counting channels added by NewChannelReq (1.1 TxCh),
    including one still pending: the device may use it in the very uplink that acknowledges it."""
    pending = (session.pending_mac.get("NewChannelReq") or {}).get("apply") or {}
    proposed = pending.get("state", {}).get("channels", {})
    for index, value in {**session.mac_state.applied.channels, **proposed}.items():
        if value and int(value[0]) == frequency:
            return int(index)
    try:
        return region.uplink_channel_index(frequency)
    except ValueError:
        return 0
