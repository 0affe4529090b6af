"""Device profiles: what a kind of device is (region, LoRaWAN version, classes, ADR, RX windows, codec).

Devices keep a copy of the fields the network server reads on every frame (region, MAC version, class
C), so that the hot path stays one read; changing a profile refreshes those copies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field, field_validator

from functions.appserver.api.common import UUID_PATTERN, new_id, owned
from functions.appserver.api.organizations import list_in_organization, organization
from functions.appserver.auth import Resource
from functions.appserver.models import Device, DeviceProfile
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.regions import get_region

router = APIGatewayRouter()
ProfileId = Annotated[str, Path(pattern=UUID_PATTERN)]
MacVersion = Literal["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.1.0"]
RegParamsRevision = Literal[
    "A", "B", "RP002-1.0.0", "RP002-1.0.1", "RP002-1.0.2", "RP002-1.0.3", "RP002-1.0.4"
]
MAX_SCRIPT = 64 * 1024


class Codec(BaseModel):
    kind: Literal["none", "cayenne_lpp", "javascript"] = "none"
    script: str = Field(default="", max_length=MAX_SCRIPT)


class DeviceProfileFields(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    region: str = "EU868"
    mac_version: MacVersion = "1.0.3"
    reg_params_revision: RegParamsRevision = "RP002-1.0.3"
    supports_otaa: bool = True
    supports_class_b: bool = False
    supports_class_c: bool = False
    adr_enabled: bool = True
    rx1_delay: int | None = Field(default=None, ge=1, le=15)
    rx2_dr: int | None = Field(default=None, ge=0, le=15)
    rx2_frequency: int | None = Field(default=None, ge=100_000_000, le=1_000_000_000)
    uplink_interval_s: int = Field(default=3600, ge=1, le=30 * 86400)
    codec: Codec = Field(default_factory=Codec)

    @field_validator("region")
    @classmethod
    def known_region(cls, value: str) -> str:
        try:
            return get_region(value).name
        except LoRaWANError as exc:
            raise ValueError(str(exc)) from exc


class DeviceProfileCreate(DeviceProfileFields):
    organization_id: str = Field(pattern=UUID_PATTERN)


def profile_out(profile: DeviceProfile) -> dict[str, Any]:
    return {
        "id": profile.profile_id,
        "organization_id": profile.org_id,
        "name": profile.name,
        "region": profile.region,
        "mac_version": profile.mac_version,
        "reg_params_revision": profile.reg_params_revision,
        "supports_otaa": bool(profile.supports_otaa),
        "supports_class_b": bool(profile.supports_class_b),
        "supports_class_c": bool(profile.supports_class_c),
        "adr_enabled": bool(profile.adr_enabled),
        "rx1_delay": profile.rx1_delay,
        "rx2_dr": profile.rx2_dr,
        "rx2_frequency": profile.rx2_frequency,
        "uplink_interval_s": profile.uplink_interval_s,
        "codec": {"kind": profile.codec_kind, "script": profile.codec_script},
    }


def device_profile(profile_id: str, *, write: bool) -> DeviceProfile:
    """The profile, once the caller may read (or write) profiles of its organization."""
    return owned(DeviceProfile, profile_id, Resource.DEVICE_PROFILES, write=write, what="device profile")


def _apply(item: DeviceProfile, body: DeviceProfileFields) -> None:
    item.name = body.name
    item.name_lower = body.name.lower()
    for field in (
        "region", "mac_version", "reg_params_revision", "supports_otaa", "supports_class_b",
        "supports_class_c", "adr_enabled", "rx1_delay", "rx2_dr", "rx2_frequency", "uplink_interval_s",
    ):  # fmt: skip
        setattr(item, field, getattr(body, field))
    item.codec_kind = body.codec.kind
    item.codec_script = body.codec.script


@router.get("/device-profiles")
def list_device_profiles() -> dict[str, Any]:
    return list_in_organization(router, DeviceProfile, Resource.DEVICE_PROFILES, profile_out)


@router.post("/device-profiles")
def create_device_profile(body: DeviceProfileCreate) -> tuple[dict[str, Any], int]:
    organization(body.organization_id, Resource.DEVICE_PROFILES, write=True)
    item = DeviceProfile(new_id(), org_id=body.organization_id)
    _apply(item, body)
    item.save(condition=DeviceProfile.profile_id.does_not_exist())
    return profile_out(item), 201


@router.get("/device-profiles/<profile_id>")
def get_device_profile(profile_id: ProfileId) -> dict[str, Any]:
    return profile_out(device_profile(profile_id, write=False))


def _users(profile_id: str) -> list[Device]:
    return list(Device.scan(Device.device_profile_id == profile_id))


@router.put("/device-profiles/<profile_id>")
def update_device_profile(profile_id: ProfileId, body: DeviceProfileFields) -> dict[str, Any]:
    item = device_profile(profile_id, write=True)
    devices = _users(profile_id)
    if devices and (body.region != item.region or body.mac_version != item.mac_version):
        raise BadRequestError("region and LoRaWAN version cannot change while devices use the profile")
    _apply(item, body)
    item.save()
    for device in devices:
        device.update(actions=[Device.supports_class_c.set(bool(item.supports_class_c))])
    return profile_out(item)


@router.delete("/device-profiles/<profile_id>")
def delete_device_profile(profile_id: ProfileId) -> tuple[dict[str, Any], int]:
    item = device_profile(profile_id, write=True)
    if _users(profile_id):
        raise BadRequestError("devices still use this profile; move or delete them first")
    item.delete()
    return {}, 204
