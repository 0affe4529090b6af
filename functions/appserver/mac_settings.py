"""Operator MAC control from device profiles, as ChirpStack drives it: a profile says what its devices
should use (RX windows, extra channels, dwell time and EIRP, duty cycle, ADR back-off, rejoin schedule,
device-status schedule); the network brings each device there through MAC requests at its next uplinks
(`functions.network.mac_requests`, reached through `network_server()`: RXParamSetup, RXTimingSetup,
NewChannel, TxParamSetup, DutyCycle, ADRParamSetup, RejoinParamSetup, DevStatus; LoRaWAN 1.0.4 §5, 1.1
§5) and applies a value only once the device acknowledged it.

Devices keep a copy of their profile's settings (`Device.mac_settings`), which a new session starts from;
a profile change refreshes the copies and asks the network to converge every activated device. A setting
left empty means "no opinion": the device keeps what it has.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.appserver.models import Device, DeviceProfile
from functions.lorawan.regions import Region
from functions.shared.interface import network_server


class ExtraChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frequency: int = Field(ge=100_000_000, le=1_000_000_000)
    min_dr: int = Field(default=0, ge=0, le=15)
    max_dr: int = Field(default=5, ge=0, le=15)

    @model_validator(mode="after")
    def ordered(self) -> ExtraChannel:
        if self.min_dr > self.max_dr:
            raise ValueError(f"min_dr {self.min_dr} is above max_dr {self.max_dr}")
        return self


class MacSettings(BaseModel):
    """A profile's MAC settings; None leaves the device as it is."""

    model_config = ConfigDict(extra="forbid")

    rx1_dr_offset: int | None = Field(default=None, ge=0, le=7)
    extra_channels: list[ExtraChannel] = Field(default_factory=list, max_length=13)
    uplink_dwell_time: bool | None = None
    downlink_dwell_time: bool | None = None
    max_eirp: int | None = Field(default=None, ge=0, le=15, description="TxParamSetupReq MaxEIRP index")
    max_duty_cycle: int | None = Field(default=None, ge=0, le=15, description="aggregated 1/2^n")
    adr_ack_limit_exp: int | None = Field(default=None, ge=0, le=15, description="1.1: ADR_ACK_LIMIT = 2^n")
    adr_ack_delay_exp: int | None = Field(default=None, ge=0, le=15, description="1.1: ADR_ACK_DELAY = 2^n")
    rejoin_max_time_n: int | None = Field(default=None, ge=0, le=15, description="1.1: every 2^(n+10) s")
    rejoin_max_count_n: int | None = Field(
        default=None, ge=0, le=15, description="1.1: every 2^(n+4) uplinks"
    )
    dev_status_every_s: int | None = Field(default=None, ge=0, le=30 * 86400, description="0: never")
    dev_status_every_uplinks: int | None = Field(default=None, ge=0, le=100_000, description="0: never")


def desired(profile: DeviceProfile, region: Region) -> dict[str, Any]:
    """The profile's settings in the network's vocabulary (`mac_requests.FIELDS`); extra channels take
    the indices after the region's default channels."""
    settings = MacSettings.model_validate(profile.mac_settings or {})
    values: dict[str, Any] = {
        "rx1_delay": profile.rx1_delay,
        "rx2_dr": profile.rx2_dr,
        "rx2_frequency": profile.rx2_frequency,
        **settings.model_dump(exclude={"extra_channels"}),
    }
    first = len(region.uplink_channel_list)
    if settings.extra_channels:
        values["channels"] = {
            str(first + i): [c.frequency, c.min_dr, c.max_dr] for i, c in enumerate(settings.extra_channels)
        }
    return {k: v for k, v in values.items() if v is not None}


def validate(values: dict[str, Any], region: Region) -> None:
    """Raises ValueError when the network would refuse these settings for the region."""
    network_server().validate_mac(values, region.name)


def converge(dev_eui: str, values: dict[str, Any]) -> bool:
    """Ask the network to bring an activated device to `values`; False when it has no session."""
    return not values or network_server().request_mac(dev_eui, values)


def request_now(dev_eui: str, *, dev_status: bool) -> bool:
    """One-shot requests at the device's next uplink (DevStatusReq); False when it has no session."""
    return converge(dev_eui, {"dev_status_now": True} if dev_status else {})


def apply_profile(profile: DeviceProfile, devices: list[Device], region: Region) -> int:
    """Refresh the devices' copies of the profile's settings and converge the activated ones; returns how
    many were asked."""
    values = desired(profile, region)
    asked = 0
    for device in devices:
        flush = bool(profile.flush_queue_on_activate)
        device.update(actions=[Device.mac_settings.set(values), Device.flush_queue_on_activate.set(flush)])
        asked += converge(device.dev_eui, values)
    return asked


def view(device: Device) -> dict[str, Any]:
    """What the network wants for the device, what the device acknowledged, what is on its way."""
    found = network_server().mac_view(device.dev_eui)
    if found is None:
        return {"activated": False, "desired": device.mac_settings or {}, "acknowledged": {}, "pending": [],
                "refused": {}, "dev_status_requested": False, "last_dev_status": None}  # fmt: skip
    return {"activated": True, **found}
