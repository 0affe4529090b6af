"""How the reference device answers the network's MAC commands (LoRaWAN 1.0.4 §5, 1.1 §5).

Each handler changes the device's radio state only when it accepts the request, and returns the answer
to send in the next uplink; answers the device cannot honour carry the spec's NACK bits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions.lorawan.errors import InvalidChannel, LoRaWANError
from functions.lorawan.mac_commands import (
    ADRParamSetupAns,
    ADRParamSetupReq,
    DeviceTimeAns,
    DevStatusAns,
    DevStatusReq,
    DlChannelAns,
    DlChannelReq,
    DutyCycleAns,
    DutyCycleReq,
    ForceRejoinReq,
    LinkADRAns,
    LinkADRReq,
    LinkCheckAns,
    MACCommand,
    NewChannelAns,
    NewChannelReq,
    PingSlotInfoAns,
    RejoinParamSetupAns,
    RejoinParamSetupReq,
    RekeyConf,
    ResetConf,
    RXParamSetupAns,
    RXParamSetupReq,
    RXTimingSetupAns,
    RXTimingSetupReq,
    TxParamSetupAns,
    TxParamSetupReq,
)
from functions.lorawan.regions.base import Channel

if TYPE_CHECKING:
    from functions.lorawan.device.device import EndDevice


def _link_adr(device: EndDevice, requests: list[LinkADRReq]) -> list[MACCommand]:
    """A block of contiguous LinkADRReqs is applied atomically; the last one's DR, power, NbTrans count
    (1.0.4 §5.3). One answer per request, all with the same status bits."""
    last = requests[-1]
    region = device.region
    try:
        enabled = region.apply_link_adr(
            device.enabled_channels,
            [(r.ch_mask, r.ch_mask_cntl) for r in requests],
            defined=device.defined_channels,
        )
        channel_ok = True
    except InvalidChannel:
        enabled, channel_ok = device.enabled_channels, False
    data_rate_ok = last.data_rate == 15 or last.data_rate in region.data_rates
    power_ok = last.tx_power == 15 or last.tx_power < len(region.tx_power_offsets)
    if channel_ok and data_rate_ok and power_ok:
        device.enabled_channels = enabled
        if last.data_rate != 15:
            device.data_rate = last.data_rate
        if last.tx_power != 15:
            device.tx_power_index = last.tx_power
        device.nb_trans = last.nb_trans or 1
    answer = LinkADRAns(channel_mask_ack=channel_ok, data_rate_ack=data_rate_ok, power_ack=power_ok)
    return [answer] * len(requests)


def _rx_param_setup(device: EndDevice, request: RXParamSetupReq) -> MACCommand:
    ok_freq = request.frequency > 0
    ok_dr = request.rx2_data_rate in device.region.data_rates
    ok_offset = request.rx1_dr_offset <= 7
    if ok_freq and ok_dr and ok_offset:
        device.rx1_dr_offset = request.rx1_dr_offset
        device.rx2_data_rate = request.rx2_data_rate
        device.rx2_frequency = request.frequency
    return RXParamSetupAns(channel_ack=ok_freq, rx2_data_rate_ack=ok_dr, rx1_dr_offset_ack=ok_offset)


def _new_channel(device: EndDevice, request: NewChannelReq) -> MACCommand:
    ok_dr = request.min_dr <= request.max_dr and request.max_dr in device.region.data_rates
    ok_freq = request.frequency == 0 or request.frequency >= 100_000_000
    if ok_dr and ok_freq and request.ch_index >= len(device.region.uplink_channel_list):
        if request.frequency == 0:
            device.channels.pop(request.ch_index, None)
            device.enabled_channels = device.enabled_channels - {request.ch_index}
        else:
            device.channels[request.ch_index] = Channel(request.frequency, request.min_dr, request.max_dr)
            device.enabled_channels = device.enabled_channels | {request.ch_index}
    elif request.ch_index < len(device.region.uplink_channel_list):
        ok_freq = False  # default channels cannot be changed (RP002-1.0.4 §2.x.2)
    return NewChannelAns(channel_frequency_ok=ok_freq, data_rate_range_ok=ok_dr)


def _dl_channel(device: EndDevice, request: DlChannelReq) -> MACCommand:
    exists = request.ch_index in device.channels
    if exists and request.frequency > 0:
        device.downlink_frequencies[request.ch_index] = request.frequency
    return DlChannelAns(channel_frequency_ok=request.frequency > 0, uplink_frequency_exists=exists)


def _simple(
    answer: MACCommand, effect: Callable[[EndDevice, Any], None]
) -> Callable[[EndDevice, Any], MACCommand]:
    def handle(device: EndDevice, request: Any) -> MACCommand:
        effect(device, request)
        return answer

    return handle


def _set(**changes: Callable[[Any], Any]) -> Callable[[EndDevice, Any], None]:
    def effect(device: EndDevice, request: Any) -> None:
        for name, value in changes.items():
            setattr(device, name, value(request))

    return effect


def _no_effect(device: EndDevice, request: Any) -> None:
    """A request the reference device acknowledges without a state of its own to change."""


def _dev_status(device: EndDevice, request: DevStatusReq) -> MACCommand:
    margin = max(-32, min(31, round(device.last_downlink_snr)))
    return DevStatusAns(battery=device.battery, margin=margin)


HANDLERS: dict[type[MACCommand], Callable[[EndDevice, Any], MACCommand]] = {
    DutyCycleReq: _simple(DutyCycleAns(), _set(max_duty_cycle=lambda r: r.max_duty_cycle)),
    RXParamSetupReq: _rx_param_setup,
    DevStatusReq: _dev_status,
    NewChannelReq: _new_channel,
    RXTimingSetupReq: _simple(RXTimingSetupAns(), _set(rx1_delay=lambda r: r.rx1_delay_seconds)),
    TxParamSetupReq: _simple(TxParamSetupAns(), _set(uplink_dwell_time=lambda r: r.uplink_dwell_time)),
    DlChannelReq: _dl_channel,
    ADRParamSetupReq: _simple(
        ADRParamSetupAns(),
        _set(adr_ack_limit=lambda r: r.adr_ack_limit, adr_ack_delay=lambda r: r.adr_ack_delay),
    ),
    RejoinParamSetupReq: _simple(RejoinParamSetupAns(time_ok=True), _no_effect),
}


def handle_downlink_commands(device: EndDevice, commands: list[MACCommand]) -> list[MACCommand]:
    """Answers for a downlink's commands, in order; information the network sent is stored on the device."""
    answers: list[MACCommand] = []
    pending_adr: list[LinkADRReq] = []
    for command in [*commands, None]:
        if isinstance(command, LinkADRReq):
            pending_adr.append(command)
            continue
        if pending_adr:
            answers += _link_adr(device, pending_adr)
            pending_adr = []
        if command is None:
            break
        handler = HANDLERS.get(type(command))
        if handler is not None:
            try:
                answers.append(handler(device, command))
            except LoRaWANError:
                continue
        elif isinstance(command, LinkCheckAns):
            device.link_check = (command.margin, command.gw_cnt)
        elif isinstance(command, DeviceTimeAns):
            device.network_time = command.gps_seconds
        elif isinstance(command, ResetConf | RekeyConf):
            device.awaiting_conf = False
        elif isinstance(command, ForceRejoinReq):
            device.forced_rejoin_type = command.rejoin_type
        elif isinstance(command, PingSlotInfoAns):
            device.ping_slot_confirmed = True
    return answers
