"""What the network server offers the application server (`functions.shared.interface.NetworkServer`):
the sessions it owns and its gateway table. The application server reaches this module only through
`functions.shared.interface.network_server()`."""

from __future__ import annotations

import contextlib

from functions.lorawan.types import AES128Key, DevAddr
from functions.network.models import DeviceSession, Gateway, GatewayStatsBucket
from functions.shared import envelope
from functions.shared.interface import AbpActivation, SessionView

__all__ = ["Gateway", "GatewayStatsBucket", "activate_abp", "remove_session", "sessions", "set_disabled"]


def activate_abp(activation: AbpActivation) -> None:
    """The session an ABP device was programmed with; it replaces any earlier one (no version check)."""
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
        net_keys=envelope.seal(keys, context=activation.dev_eui),
        f_cnt_up=activation.f_cnt_up,
        n_f_cnt_down=activation.n_f_cnt_down,
        a_f_cnt_down=activation.a_f_cnt_down,
        rx1_delay=activation.rx1_delay,
        rx2_dr=activation.rx2_dr,
        rx2_frequency=activation.rx2_frequency,
        adr=activation.adr,
        device_class=activation.device_class,
        disabled=activation.disabled,
    ).save(add_version_condition=False)


def set_disabled(dev_eui: str, disabled: bool) -> None:
    with contextlib.suppress(DeviceSession.DoesNotExist):
        DeviceSession.get(dev_eui).update(actions=[DeviceSession.disabled.set(disabled)])


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
        )
        for s in DeviceSession.batch_get(dev_euis)
    }
