"""What the network wants a device to use, and the MAC requests that get it there (LoRaWAN 1.0.4 §5,
1.1 §5).

`request(dev_eui, **desired)` is the application server's entry point: it stores desired values in the
session's `mac_state["desired"]`. At every uplink `due_requests` compares them with what the device has
acknowledged (the session's RX settings, `mac_state["applied"]` for the rest) and generates a request
for each difference, as ChirpStack compares a device profile's RX settings with the session. Requests
go out only when they fit a downlink, and count only once acknowledged (see `mac.py`).

DevStatusReq runs on a schedule: every `dev_status_every_s` seconds (default DEV_STATUS_INTERVAL_S,
one day) and/or every `dev_status_every_uplinks` uplinks (default DEV_STATUS_EVERY_UPLINKS, off), or
once at the next uplink with `dev_status_now=True`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pynamodb.exceptions import PutError

from functions.lorawan.errors import LoRaWANError
from functions.lorawan.mac_commands import (
    ADRParamSetupReq,
    DevStatusReq,
    DlChannelReq,
    DutyCycleReq,
    NewChannelReq,
    RejoinParamSetupReq,
    RXParamSetupReq,
    RXTimingSetupReq,
    TxParamSetupReq,
)
from functions.lorawan.regions import Region, get_region
from functions.network.mac import Unit, applied, mac_state
from functions.network.models import DeviceSession
from functions.network.observability import logger

DEV_STATUS_EVERY_S = int(os.environ.get("DEV_STATUS_INTERVAL_S", "86400"))
DEV_STATUS_EVERY_UPLINKS = int(os.environ.get("DEV_STATUS_EVERY_UPLINKS", "0"))
SAVE_ATTEMPTS = 5

# Desired field -> the request that sets it.
FIELDS: dict[str, str] = {
    "rx1_dr_offset": "RXParamSetupReq",
    "rx2_dr": "RXParamSetupReq",
    "rx2_frequency": "RXParamSetupReq",
    "rx1_delay": "RXTimingSetupReq",
    "channels": "NewChannelReq",  # {index: (frequency, min_dr, max_dr)}; frequency 0 removes it
    "downlink_channels": "DlChannelReq",  # {index: RX1 frequency}
    "uplink_dwell_time": "TxParamSetupReq",
    "downlink_dwell_time": "TxParamSetupReq",
    "max_eirp": "TxParamSetupReq",  # index into TxParamSetupReq.MAX_EIRP_DBM
    "max_duty_cycle": "DutyCycleReq",  # aggregated duty cycle 1 / 2^n
    "adr_ack_limit_exp": "ADRParamSetupReq",  # 1.1 only: ADR_ACK_LIMIT = 2^n
    "adr_ack_delay_exp": "ADRParamSetupReq",  # 1.1 only: ADR_ACK_DELAY = 2^n
    "rejoin_max_time_n": "RejoinParamSetupReq",  # 1.1 only: a type 0 rejoin every 2^(n+10) s
    "rejoin_max_count_n": "RejoinParamSetupReq",  # 1.1 only: ... or every 2^(n+4) uplinks
    "dev_status_every_uplinks": "DevStatusReq",
    "dev_status_every_s": "DevStatusReq",
    "dev_status_now": "DevStatusReq",
}
LORAWAN_1_1_ONLY = ("ADRParamSetupReq", "RejoinParamSetupReq")


class InvalidRequest(ValueError):
    """A desired value that is unknown or out of range, or a device without a session."""


def _normalise(desired: dict[str, Any], region: Region) -> dict[str, Any]:
    unknown = sorted(set(desired) - set(FIELDS))
    if unknown:
        raise InvalidRequest(f"unknown MAC settings {unknown}; known: {sorted(FIELDS)}")
    values = dict(desired)
    try:
        for name in ("channels", "downlink_channels"):
            if name in values:
                values[name] = {
                    str(int(index)): list(value) if name == "channels" else int(value)
                    for index, value in dict(values[name]).items()
                }
        for index, (frequency, min_dr, max_dr) in values.get("channels", {}).items():
            if int(index) < len(region.uplink_channel_list):
                raise InvalidRequest(f"channel {index} is a default channel of {region.name}")
            NewChannelReq(ch_index=int(index), frequency=frequency, min_dr=min_dr, max_dr=max_dr)
        for index, frequency in values.get("downlink_channels", {}).items():
            DlChannelReq(ch_index=int(index), frequency=frequency)
        RXParamSetupReq(
            rx1_dr_offset=values.get("rx1_dr_offset", 0),
            rx2_data_rate=values.get("rx2_dr", 0),
            frequency=values.get("rx2_frequency", 0),
        )
        if "rx2_dr" in values:
            region.data_rate(values["rx2_dr"])
        RXTimingSetupReq(delay=values.get("rx1_delay", 0))
        TxParamSetupReq(
            downlink_dwell_time=values.get("downlink_dwell_time", False),
            uplink_dwell_time=values.get("uplink_dwell_time", False),
            max_eirp=values.get("max_eirp", 0),
        )
        DutyCycleReq(max_duty_cycle=values.get("max_duty_cycle", 0))
        ADRParamSetupReq(
            limit_exp=values.get("adr_ack_limit_exp", 0), delay_exp=values.get("adr_ack_delay_exp", 0)
        )
        RejoinParamSetupReq(
            max_time_n=values.get("rejoin_max_time_n", 0), max_count_n=values.get("rejoin_max_count_n", 0)
        )
    except (LoRaWANError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidRequest):
            raise
        raise InvalidRequest(str(exc)) from exc
    return values


def validate(desired: dict[str, Any], region: Region) -> dict[str, Any]:
    """The desired values as `request` stores them; raises InvalidRequest for unknown or out-of-range ones
    (the application server checks a device profile's settings with it before saving them)."""
    return _normalise(desired, region)


def request(dev_eui: str, **desired: Any) -> dict[str, Any]:
    """Ask the network to bring a device to these settings; returns the whole desired state.

    Requests go out with the device's next downlinks and take effect when it acknowledges them. Asking
    again clears an earlier refusal of the same request, so it is tried once more.
    """
    for _ in range(SAVE_ATTEMPTS):
        try:
            session = DeviceSession.get(dev_eui, consistent_read=True)
        except DeviceSession.DoesNotExist as exc:
            raise InvalidRequest(f"device {dev_eui} has no session") from exc
        values = _normalise(desired, get_region(session.region))
        state = mac_state(session)
        merged = dict(state.get("desired", {}))
        for name, value in values.items():
            merged[name] = {**merged.get(name, {}), **value} if isinstance(value, dict) else value
        state["desired"] = merged
        failed = state.get("failed", {})
        for name in values:
            failed.pop(FIELDS[name], None)
        try:
            session.save()  # conditional on `version`: an uplink in between makes us read again
        except PutError:
            continue
        logger.info("MAC settings requested", extra={"dev_eui": dev_eui, "settings": sorted(values)})
        return merged
    raise RuntimeError(f"session of {dev_eui} kept changing; nothing requested")


def _dev_status_due(session: DeviceSession, desired: dict[str, Any], f_cnt: int, now: float) -> bool:
    if desired.get("dev_status_now"):
        return True
    last = mac_state(session).get("dev_status") or {}
    every_uplinks = int(desired.get("dev_status_every_uplinks", DEV_STATUS_EVERY_UPLINKS))
    every_s = int(desired.get("dev_status_every_s", DEV_STATUS_EVERY_S))
    if every_uplinks and f_cnt - int(last.get("f_cnt", 0)) >= every_uplinks:
        return True
    return bool(every_s and now - float(last.get("at", now)) >= every_s)


def due_requests(
    session: DeviceSession,
    region: Region,
    *,
    f_cnt: int,
    busy: set[str] | None = None,
    now: float | None = None,
) -> list[Unit]:
    """Requests for what the device should change, in the order they are worth a downlink; `busy` names
    requests already on their way (retries), which are not generated twice."""
    busy = busy or set()
    now = time.time() if now is None else now
    state = mac_state(session)
    desired: dict[str, Any] = state.get("desired", {})
    failed: dict[str, Any] = state.setdefault("failed", {})
    current = applied(session)
    lorawan_1_1 = session.mac_version.startswith("1.1")
    units: list[Unit] = []

    def wanted(name: str) -> bool:
        if name in session.pending_mac or name in failed or name in busy:
            return False
        if name in LORAWAN_1_1_ONLY and not lorawan_1_1:
            failed[name] = {"reason": "LoRaWAN 1.1 only", "f_cnt": f_cnt}
            logger.warning("MAC request not sent: LoRaWAN 1.1 only", extra={"command": name})
            return False
        return True

    if (
        "DevStatusReq" not in session.pending_mac
        and "DevStatusReq" not in busy
        and _dev_status_due(session, desired, f_cnt, now)
    ):
        units.append(Unit("DevStatusReq", [DevStatusReq()], {}))

    rx_now = (
        int(session.rx1_dr_offset),
        int(session.rx2_dr),
        int(session.rx2_frequency) or region.rx2.frequency,
    )
    rx_want = (
        int(desired.get("rx1_dr_offset", rx_now[0])),
        int(desired.get("rx2_dr", rx_now[1])),
        int(desired.get("rx2_frequency", rx_now[2])),
    )
    if rx_want != rx_now and wanted("RXParamSetupReq"):
        command = RXParamSetupReq(rx1_dr_offset=rx_want[0], rx2_data_rate=rx_want[1], frequency=rx_want[2])
        session_values = {"rx1_dr_offset": rx_want[0], "rx2_dr": rx_want[1], "rx2_frequency": rx_want[2]}
        units.append(Unit("RXParamSetupReq", [command], {"session": session_values}))

    rx1_delay = desired.get("rx1_delay")
    if (
        rx1_delay is not None
        and max(1, int(rx1_delay)) != int(session.rx1_delay)
        and wanted("RXTimingSetupReq")
    ):
        command_t = RXTimingSetupReq(delay=int(desired["rx1_delay"]))
        units.append(
            Unit("RXTimingSetupReq", [command_t], {"session": {"rx1_delay": command_t.rx1_delay_seconds}})
        )

    channels_now = current.get("channels", {})
    for index, value in sorted(desired.get("channels", {}).items(), key=lambda kv: int(kv[0])):
        frequency, min_dr, max_dr = (int(v) for v in value)
        target = [frequency, min_dr, max_dr] if frequency else None
        if channels_now.get(index) != target:
            if wanted("NewChannelReq"):  # one at a time: answers carry no channel index
                command_c = NewChannelReq(
                    ch_index=int(index), frequency=frequency, max_dr=max_dr, min_dr=min_dr
                )
                units.append(Unit("NewChannelReq", [command_c], {"state": {"channels": {index: target}}}))
            break

    downlink_now = current.get("downlink_channels", {})
    for index, frequency in sorted(desired.get("downlink_channels", {}).items(), key=lambda kv: int(kv[0])):
        if downlink_now.get(index) != int(frequency):
            if wanted("DlChannelReq"):
                command_d = DlChannelReq(ch_index=int(index), frequency=int(frequency))
                units.append(
                    Unit(
                        "DlChannelReq", [command_d], {"state": {"downlink_channels": {index: int(frequency)}}}
                    )
                )
            break

    tx_keys = ("uplink_dwell_time", "downlink_dwell_time", "max_eirp")
    if any(k in desired for k in tx_keys):
        defaults = {"uplink_dwell_time": region.uplink_dwell_time_default, "downlink_dwell_time": False}
        tx_now = {k: current.get(k, defaults.get(k)) for k in tx_keys}
        tx_want = {k: desired.get(k, tx_now[k]) for k in tx_keys}
        if tx_want["max_eirp"] is None:
            tx_want["max_eirp"] = 15  # the region's MaxEIRP is the highest TxParamSetupReq step it allows
        if tx_want != tx_now and wanted("TxParamSetupReq"):
            if not region.supports_tx_param_setup:
                failed["TxParamSetupReq"] = {"reason": f"not in {region.name}", "f_cnt": f_cnt}
                logger.warning("TxParamSetupReq is not defined in this region", extra={"region": region.name})
            else:
                command_x = TxParamSetupReq(
                    downlink_dwell_time=bool(tx_want["downlink_dwell_time"]),
                    uplink_dwell_time=bool(tx_want["uplink_dwell_time"]),
                    max_eirp=int(tx_want["max_eirp"] or 0),
                )
                units.append(Unit("TxParamSetupReq", [command_x], {"state": tx_want}))

    duty_cycle = desired.get("max_duty_cycle")
    if (
        duty_cycle is not None
        and int(duty_cycle) != int(current.get("max_duty_cycle", 0))
        and wanted("DutyCycleReq")
    ):
        value = int(desired["max_duty_cycle"])
        units.append(
            Unit("DutyCycleReq", [DutyCycleReq(max_duty_cycle=value)], {"state": {"max_duty_cycle": value}})
        )

    adr_keys = ("adr_ack_limit_exp", "adr_ack_delay_exp")
    if any(k in desired for k in adr_keys):
        defaults_adr = {"adr_ack_limit_exp": 6, "adr_ack_delay_exp": 5}  # 64 and 32 (RP002 default settings)
        adr_now = {k: current.get(k, defaults_adr[k]) for k in adr_keys}
        adr_want = {k: int(desired.get(k, adr_now[k])) for k in adr_keys}
        if adr_want != adr_now and wanted("ADRParamSetupReq"):
            command_a = ADRParamSetupReq(
                limit_exp=adr_want["adr_ack_limit_exp"], delay_exp=adr_want["adr_ack_delay_exp"]
            )
            units.append(Unit("ADRParamSetupReq", [command_a], {"state": adr_want}))

    rejoin_keys = ("rejoin_max_time_n", "rejoin_max_count_n")
    if any(k in desired for k in rejoin_keys):
        rejoin_now = {k: current.get(k) for k in rejoin_keys}
        rejoin_want = {k: int(desired.get(k, current.get(k, 15))) for k in rejoin_keys}
        if rejoin_want != rejoin_now and wanted("RejoinParamSetupReq"):
            command_r = RejoinParamSetupReq(
                max_time_n=rejoin_want["rejoin_max_time_n"], max_count_n=rejoin_want["rejoin_max_count_n"]
            )
            units.append(Unit("RejoinParamSetupReq", [command_r], {"state": rejoin_want}))
    return units
