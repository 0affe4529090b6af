"""MAC commands the network server answers or learns from (LoRaWAN 1.0.4 §5, 1.1 §5)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from functions.lorawan.adr import REQUIRED_SNR_BY_SF
from functions.lorawan.mac_commands import (
    DeviceTimeAns,
    DeviceTimeReq,
    DevStatusAns,
    LinkADRAns,
    LinkCheckAns,
    LinkCheckReq,
    MACCommand,
    RekeyConf,
    RekeyInd,
    ResetConf,
    ResetInd,
)
from functions.lorawan.regions import Region
from functions.lorawan.regions.base import LoRaModulation
from functions.shared.models import DeviceSession

log = logging.getLogger("loraless.network.mac")
GPS_EPOCH_UNIX = 315_964_800
GPS_LEAP_SECONDS = 18  # GPS - UTC since 2017-01-01


@dataclass
class MACResult:
    answers: list[MACCommand] = field(default_factory=list)
    status: dict[str, Any] | None = None  # battery and margin from DevStatusAns


def required_snr(region: Region, dr: int) -> float:
    modulation = region.data_rate(dr).modulation
    if isinstance(modulation, LoRaModulation):
        return REQUIRED_SNR_BY_SF.get(modulation.spreading_factor, -20.0)
    return 0.0


def gps_seconds(unix_ms: int) -> float:
    return unix_ms / 1000 - GPS_EPOCH_UNIX + GPS_LEAP_SECONDS


def handle_uplink_commands(
    commands: list[MACCommand],
    session: DeviceSession,
    *,
    region: Region,
    dr: int,
    max_snr: float,
    gateway_count: int,
    received_at_ms: int,
) -> MACResult:
    """Answers to send, and session changes the device acknowledged."""
    result = MACResult()
    for command in commands:
        if isinstance(command, LinkCheckReq):
            margin = max(0, min(254, int(max_snr - required_snr(region, dr))))
            result.answers.append(LinkCheckAns(margin=margin, gw_cnt=min(255, gateway_count)))
        elif isinstance(command, DeviceTimeReq):
            result.answers.append(DeviceTimeAns.from_gps_time(gps_seconds(received_at_ms)))
        elif isinstance(command, LinkADRAns):
            pending = session.pending_mac.pop("LinkADRReq", None)
            if pending and command.channel_mask_ack and command.data_rate_ack and command.power_ack:
                session.dr, session.tx_power_index, session.nb_trans = (
                    pending["dr"],
                    pending["tx_power"],
                    pending["nb_trans"],
                )
            elif pending:
                log.warning(
                    "device %s refused LinkADRReq %s: %s", session.dev_eui, pending, command.to_dict()
                )
        elif isinstance(command, DevStatusAns):
            session.pending_mac.pop("DevStatusReq", None)
            session.battery, session.margin = command.battery, command.margin
            result.status = {"battery": command.battery, "margin": command.margin}
        elif isinstance(command, RekeyInd):
            result.answers.append(RekeyConf(minor=1))
        elif isinstance(command, ResetInd):
            result.answers.append(ResetConf(minor=1))
        else:
            log.info("device %s sent %s, which needs no answer here", session.dev_eui, command.NAME)
    return result
