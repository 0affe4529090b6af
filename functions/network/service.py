"""What the network server offers the application server (`functions.shared.interface.NetworkServer`):
the sessions it owns and its gateway table. The application server reaches this module only through
`functions.shared.interface.network_server()`."""

from __future__ import annotations

import contextlib
from typing import Any

from pynamodb.exceptions import UpdateError

from functions.lorawan.regions import get_region
from functions.lorawan.types import AES128Key, DevAddr
from functions.network import mac_requests
from functions.network.models import DeviceSession, Gateway, carried_over
from functions.network.session_keys import seal_network_keys
from functions.shared.interface import AbpActivation, HourCounters, SessionView

__all__ = [
    "Gateway", "activate_abp", "device_hours", "mac_view", "remove_session", "request_mac", "sessions",
    "set_disabled", "validate_mac", "watch_device",
]  # fmt: skip
# What the device has acknowledged, besides the session's RX settings (MacState.applied)
ACKNOWLEDGED = (
    "channels", "uplink_dwell_time", "downlink_dwell_time", "max_eirp", "max_duty_cycle",
    "adr_ack_limit_exp", "adr_ack_delay_exp", "rejoin_max_time_n", "rejoin_max_count_n",
)  # fmt: skip


def activate_abp(activation: AbpActivation) -> None:
    """The session an ABP device was programmed with; it replaces any earlier one (no version check),
    keeping its hour's counters and watch flag (`models.carried_over`)."""
    keys = {
        "f_nwk_s_int_key": AES128Key.parse(activation.f_nwk_s_int_key).hex(),
        "s_nwk_s_int_key": AES128Key.parse(activation.s_nwk_s_int_key).hex(),
        "nwk_s_enc_key": AES128Key.parse(activation.nwk_s_enc_key).hex(),
        "app_s_key": AES128Key.parse(activation.app_s_key).hex(),
    }
    DeviceSession(
        activation.dev_eui,
        dev_addr=str(DevAddr.parse(activation.dev_addr)),
        mac_version=activation.mac_version,
        region=activation.region,
        net_keys=seal_network_keys(keys, dev_eui=activation.dev_eui),
        f_cnt_up=activation.f_cnt_up,
        n_f_cnt_down=activation.n_f_cnt_down,
        a_f_cnt_down=activation.a_f_cnt_down,
        rx1_delay=activation.rx1_delay,
        rx2_dr=activation.rx2_dr,
        rx2_frequency=activation.rx2_frequency,
        adr=activation.adr,
        device_class=activation.device_class,
        disabled=activation.disabled,
        mac_state={"desired": dict(activation.mac_settings)},
        **carried_over(_session(activation.dev_eui, consistent=True)),
    ).save(add_version_condition=False)


def _session(dev_eui: str, *, consistent: bool = False) -> DeviceSession | None:
    try:
        return DeviceSession.get(dev_eui, consistent_read=consistent)
    except DeviceSession.DoesNotExist:
        return None


def set_disabled(dev_eui: str, disabled: bool) -> None:
    with contextlib.suppress(DeviceSession.DoesNotExist):
        DeviceSession.get(dev_eui).update(actions=[DeviceSession.disabled.set(disabled)])


def watch_device(dev_eui: str, *, now: float, seconds: float) -> bool:
    """The flag on the session, which every uplink reads anyway (no request of its own per uplink). The
    update bumps `version` (PynamoDB does for every update), so an uplink that read the session before
    loses its conditional save and runs again from a fresh read: its save cannot put the old flag back."""
    session = _session(dev_eui)
    if session is None:
        return False
    if session.watch_until is not None and float(session.watch_until) > now + seconds / 2:
        return True
    with contextlib.suppress(UpdateError):  # the session went meanwhile: nothing to log
        session.update(
            actions=[DeviceSession.watch_until.set(int(now + seconds))],
            condition=DeviceSession.dev_eui.exists(),
            add_version_condition=False,
        )
    return True


def device_hours(dev_eui: str) -> list[HourCounters]:
    session = _session(dev_eui, consistent=True)
    if session is None:
        return []
    return [hour for hour in (session.hour_counters, session.closed_hour) if hour is not None]


def remove_session(dev_eui: str) -> None:
    with contextlib.suppress(DeviceSession.DoesNotExist):
        DeviceSession.get(dev_eui).delete()


def sessions(dev_euis: list[str]) -> dict[str, SessionView]:
    if not dev_euis:
        return {}
    return {
        s.dev_eui: SessionView(
            dev_addr=s.dev_addr,
            f_cnt_up=int(s.f_cnt_up),
            dr=int(s.dr),
            battery=int(s.battery) if s.battery is not None else None,
            margin=int(s.margin) if s.margin is not None else None,
            last_seen_at=int(s.last_seen_at) if s.last_seen_at is not None else None,
        )
        for s in DeviceSession.batch_get(dev_euis)
    }


def validate_mac(desired: dict[str, Any], region: str) -> None:
    """Raises ValueError for settings the network would refuse in the region (`mac_requests`)."""
    try:
        mac_requests.validate(desired, get_region(region))
    except mac_requests.InvalidRequest as exc:
        raise ValueError(str(exc)) from exc


def request_mac(dev_eui: str, desired: dict[str, Any]) -> bool:
    """Bring an activated device to `desired` with MAC requests at its next uplinks; False without a
    session."""
    try:
        mac_requests.request(dev_eui, **desired)
    except mac_requests.InvalidRequest:
        return False
    return True


def mac_view(dev_eui: str) -> dict[str, Any] | None:
    """What the network wants the device to use, what it acknowledged, what is on its way; None without a
    session."""
    try:
        session = DeviceSession.get(dev_eui, consistent_read=True)
    except DeviceSession.DoesNotExist:
        return None
    state = session.mac_state.to_json()
    desired = state.get("desired", {})
    applied = state.get("applied", {})
    return {
        "desired": {k: v for k, v in desired.items() if k != "dev_status_now"},
        "acknowledged": {
            "rx1_delay": int(session.rx1_delay),
            "rx1_dr_offset": int(session.rx1_dr_offset),
            "rx2_dr": int(session.rx2_dr),
            "rx2_frequency": int(session.rx2_frequency),
            **{k: applied[k] for k in ACKNOWLEDGED if k in applied},
        },
        "pending": sorted(session.pending_mac or {}),
        "refused": state.get("failed", {}),
        "dev_status_requested": bool(desired.get("dev_status_now")),
        "last_dev_status": state.get("dev_status"),
    }
