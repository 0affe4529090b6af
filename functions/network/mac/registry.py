"""Every MAC command the network server handles, one module each. Adding a command: a module in the shape
of `command.py` and one line here."""

from __future__ import annotations

from functions.lorawan.mac_commands import MACCommand
from functions.network.mac import (
    adr_param_setup,
    beacon_timing,
    dev_status,
    device_mode,
    device_time,
    dl_channel,
    duty_cycle,
    link_adr,
    link_check,
    new_channel,
    ping_slot_info,
    rejoin_param_setup,
    rekey,
    reset,
    rx_param_setup,
    rx_timing_setup,
    tx_param_setup,
)
from functions.network.mac.command import DeviceRequest, NetworkRequest

# Requests the desired state asks for, in the order they are worth a downlink.
DESIRED: tuple[NetworkRequest, ...] = (
    dev_status.REQUEST,
    rx_param_setup.REQUEST,
    rx_timing_setup.REQUEST,
    new_channel.REQUEST,
    dl_channel.REQUEST,
    tx_param_setup.REQUEST,
    duty_cycle.REQUEST,
    adr_param_setup.REQUEST,
    rejoin_param_setup.REQUEST,
)
# Every request the network sends (LinkADRReq comes from ADR, not from the desired state).
NETWORK_REQUESTS: dict[str, NetworkRequest] = {r.NAME: r for r in (*DESIRED, link_adr.REQUEST)}
# The request each answer acknowledges.
BY_ANSWER: dict[type[MACCommand], NetworkRequest] = {r.ANSWER: r for r in NETWORK_REQUESTS.values()}
# Requests the device sends, by command class.
DEVICE_REQUESTS: dict[type[MACCommand], DeviceRequest] = {
    r.REQUEST: r
    for r in (
        link_check.REQUEST,
        device_time.REQUEST,
        rekey.REQUEST,
        reset.REQUEST,
        ping_slot_info.REQUEST,
        device_mode.REQUEST,
        beacon_timing.REQUEST,
    )
}
# Desired field -> the request that sets it (`mac_requests.request`).
FIELDS: dict[str, NetworkRequest] = {name: r for r in DESIRED for name in r.FIELDS}
