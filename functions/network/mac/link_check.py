"""LinkCheckReq / LinkCheckAns (LoRaWAN 1.0.4 §5.2): the margin of the best reception over the data
rate's demodulation floor, and how many gateways heard the frame."""

from __future__ import annotations

from functions.lorawan.adr import REQUIRED_SNR_BY_SF
from functions.lorawan.mac_commands import LinkCheckAns, LinkCheckReq, MACCommand
from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.network.mac.command import DeviceRequest, Uplink
from functions.network.mac.units import Unit, answer
from functions.network.models import DeviceSession


def required_snr(region: Region, dr: int) -> float:
    modulation = region.data_rate(dr).modulation
    if isinstance(modulation, LoRaModulation):
        return REQUIRED_SNR_BY_SF.get(modulation.spreading_factor, -20.0)
    return 0.0


class LinkCheck(DeviceRequest):
    REQUEST = LinkCheckReq

    def answer(self, command: MACCommand, session: DeviceSession, uplink: Uplink) -> Unit | None:
        margin = max(0, min(254, int(uplink.max_snr - required_snr(uplink.region, uplink.dr))))
        return answer(LinkCheckAns(margin=margin, gw_cnt=min(255, uplink.gateway_count)))


REQUEST = LinkCheck()
