"""NewChannelReq / NewChannelAns (LoRaWAN 1.0.4 §5.6): add, change or remove (frequency 0) an uplink
channel beyond the region's defaults. One channel per downlink: the answer carries no channel index."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import NewChannelAns, NewChannelReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit


class NewChannel(NetworkRequest):
    NAME = "NewChannelReq"
    ANSWER = NewChannelAns
    FIELDS = ("channels",)  # {index: (frequency, min_dr, max_dr)}; frequency 0 removes the channel

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        if "channels" not in values:
            return values
        channels = {str(int(index)): list(value) for index, value in dict(values["channels"]).items()}
        for index, (frequency, min_dr, max_dr) in channels.items():
            if int(index) < len(region.uplink_channel_list):
                raise ValueError(f"channel {index} is a default channel of {region.name}")
            NewChannelReq(ch_index=int(index), frequency=frequency, min_dr=min_dr, max_dr=max_dr)
        return values | {"channels": channels}

    def needed(self, needs: Needs) -> Unit | None:
        current = needs.state.applied.channels
        for index, value in sorted(needs.state.desired.channels.items(), key=lambda kv: int(kv[0])):
            frequency, min_dr, max_dr = (int(v) for v in value)
            target = [frequency, min_dr, max_dr] if frequency else None
            if current.get(index) != target:
                if not needs.wanted(self):
                    return None
                command = NewChannelReq(
                    ch_index=int(index), frequency=frequency, max_dr=max_dr, min_dr=min_dr
                )
                return Unit(self.NAME, [command], {"state": {"channels": {index: target}}})
        return None


REQUEST = NewChannel()
