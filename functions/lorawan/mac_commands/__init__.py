"""Every MAC command of LoRaWAN 1.0.4 and 1.1, both directions, and the sequence codec.

`decode_mac_commands` walks FOpts or an FPort-0 FRMPayload: each known CID has a fixed payload length
for its direction; a proprietary CID (0x80..0xFF) takes the rest as its payload; an unknown standard
CID stops parsing (1.1 §5) and the rest is kept as `UnparsedMACCommands` (or raised, with strict=True).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import TruncatedMACCommand, UnknownMACCommand
from . import class_b, link, radio, session
from .base import (
    FREQUENCY_STEP_HZ,
    ISM2400_FREQUENCY_STEP_HZ,
    MAC_COMMANDS,
    KnownMACCommand,
    MACCommand,
    command_class,
)
from .class_b import (
    BeaconFreqAns,
    BeaconFreqReq,
    BeaconTimingAns,
    BeaconTimingReq,
    PingSlotChannelAns,
    PingSlotChannelReq,
    PingSlotInfoAns,
    PingSlotInfoReq,
)
from .link import (
    ADRParamSetupAns,
    ADRParamSetupReq,
    DutyCycleAns,
    DutyCycleReq,
    LinkADRAns,
    LinkADRReq,
    LinkCheckAns,
    LinkCheckReq,
)
from .radio import (
    DevStatusAns,
    DevStatusReq,
    DlChannelAns,
    DlChannelReq,
    NewChannelAns,
    NewChannelReq,
    RXParamSetupAns,
    RXParamSetupReq,
    RXTimingSetupAns,
    RXTimingSetupReq,
    TxParamSetupAns,
    TxParamSetupReq,
)
from .raw import PROPRIETARY_CID_MIN, ProprietaryMACCommand, UnparsedMACCommands
from .session import (
    DeviceModeConf,
    DeviceModeInd,
    DeviceTimeAns,
    DeviceTimeReq,
    ForceRejoinReq,
    RejoinParamSetupAns,
    RejoinParamSetupReq,
    RekeyConf,
    RekeyInd,
    ResetConf,
    ResetInd,
)

_MODULES = (class_b, link, radio, session)  # importing them fills the registry


def decode_mac_commands(
    data: bytes, *, uplink: bool, strict: bool = False, frequency_step: int = FREQUENCY_STEP_HZ
) -> list[MACCommand]:
    """Decode a MAC command sequence sent in one direction (`uplink` = sent by the device)."""
    commands: list[MACCommand] = []
    data = bytes(data)
    position = 0
    while position < len(data):
        cid = data[position]
        if cid >= PROPRIETARY_CID_MIN:
            commands.append(ProprietaryMACCommand(cid, data[position + 1 :]))
            break
        cls = command_class(cid, uplink=uplink)
        if cls is None:
            if strict:
                raise UnknownMACCommand(cid, uplink)
            commands.append(UnparsedMACCommands(cid, data[position + 1 :]))
            break
        end = position + 1 + cls.SIZE
        if end > len(data):
            raise TruncatedMACCommand(cls.NAME, cid, len(data) - position - 1, cls.SIZE)
        commands.append(cls.from_payload(data[position + 1 : end], frequency_step=frequency_step))
        position = end
    return commands


def encode_mac_commands(commands: Iterable[MACCommand], *, frequency_step: int = FREQUENCY_STEP_HZ) -> bytes:
    """Concatenate commands as they go into FOpts (at most 15 bytes, the caller checks) or FRMPayload."""
    return b"".join(command.to_bytes(frequency_step=frequency_step) for command in commands)


def mac_command_size(command: MACCommand | type[KnownMACCommand]) -> int:
    """Octets a command takes in FOpts/FRMPayload (CID + payload), to fit the 15-octet FOpts limit
    (LoRaWAN 1.1 §4.3.1.6) and the data rate's payload limit before building a frame."""
    if isinstance(command, type):
        return 1 + command.SIZE
    return len(command.to_bytes())


__all__ = [
    "FREQUENCY_STEP_HZ",
    "ISM2400_FREQUENCY_STEP_HZ",
    "MAC_COMMANDS",
    "ADRParamSetupAns",
    "ADRParamSetupReq",
    "BeaconFreqAns",
    "BeaconFreqReq",
    "BeaconTimingAns",
    "BeaconTimingReq",
    "DevStatusAns",
    "DevStatusReq",
    "DeviceModeConf",
    "DeviceModeInd",
    "DeviceTimeAns",
    "DeviceTimeReq",
    "DlChannelAns",
    "DlChannelReq",
    "DutyCycleAns",
    "DutyCycleReq",
    "ForceRejoinReq",
    "KnownMACCommand",
    "LinkADRAns",
    "LinkADRReq",
    "LinkCheckAns",
    "LinkCheckReq",
    "MACCommand",
    "NewChannelAns",
    "NewChannelReq",
    "PingSlotChannelAns",
    "PingSlotChannelReq",
    "PingSlotInfoAns",
    "PingSlotInfoReq",
    "ProprietaryMACCommand",
    "RXParamSetupAns",
    "RXParamSetupReq",
    "RXTimingSetupAns",
    "RXTimingSetupReq",
    "RejoinParamSetupAns",
    "RejoinParamSetupReq",
    "RekeyConf",
    "RekeyInd",
    "ResetConf",
    "ResetInd",
    "TxParamSetupAns",
    "TxParamSetupReq",
    "UnparsedMACCommands",
    "command_class",
    "decode_mac_commands",
    "encode_mac_commands",
    "mac_command_size",
]
