"""DlChannelReq / DlChannelAns (LoRaWAN 1.0.4 §5.9): the RX1 frequency of an uplink channel. One
channel per downlink (the answer carries no index); the answer is sticky."""

from __future__ import annotations

from typing import Any

from functions.lorawan.mac_commands import DlChannelAns, DlChannelReq
from functions.lorawan.regions import Region
from functions.network.mac.command import Needs, NetworkRequest
from functions.network.mac.units import Unit


class DlChannel(NetworkRequest):
    NAME = "DlChannelReq"
    ANSWER = DlChannelAns
    STICKY = True
    FIELDS = ("downlink_channels",)  # {index: RX1 frequency}

    def normalise(self, values: dict[str, Any], region: Region) -> dict[str, Any]:
        if "downlink_channels" not in values:
            return values
        channels = {str(int(index)): int(value) for index, value in dict(values["downlink_channels"]).items()}
        for index, frequency in channels.items():
            DlChannelReq(ch_index=int(index), frequency=frequency)
        return values | {"downlink_channels": channels}

    def needed(self, needs: Needs) -> Unit | None:
        current = needs.state.applied.downlink_channels
        for index, frequency in sorted(
            needs.state.desired.downlink_channels.items(), key=lambda kv: int(kv[0])
        ):
            if current.get(index) != int(frequency):
                if not needs.wanted(self):
                    return None
                command = DlChannelReq(ch_index=int(index), frequency=int(frequency))
                return Unit(self.NAME, [command], {"state": {"downlink_channels": {index: int(frequency)}}})
        return None


REQUEST = DlChannel()
