"""Devices: provision into an application with a device profile (OTAA root keys sealed, never returned
but to those who may change them), ABP activation, the downlink queue and the recent event log."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field

from functions.appserver import eventlog, mac_settings, queue
from functions.appserver.api.applications import application
from functions.appserver.api.common import (
    EUI_PATTERN,
    UUID_PATTERN,
    iso_time,
    limit_of,
    owned,
    page,
    search_condition,
)
from functions.appserver.api.device_profiles import device_profile
from functions.appserver.api.watching import watch_device
from functions.appserver.auth import Resource
from functions.appserver.models import Device, DeviceProfile
from functions.lorawan.errors import LoRaWANError
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key, DevAddr
from functions.shared import envelope
from functions.shared.interface import AbpActivation, SessionView, network_server

router = APIGatewayRouter()
DevEui = Annotated[str, Path(pattern=EUI_PATTERN)]
KEY = r"^[0-9a-fA-F]{32}$"


class DeviceFields(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    device_profile_id: str = Field(pattern=UUID_PATTERN)
    enabled: bool = True


class DeviceCreate(DeviceFields):
    dev_eui: str = Field(pattern=EUI_PATTERN)
    join_eui: str = Field(default="0000000000000000", pattern=EUI_PATTERN)
    application_id: str = Field(pattern=UUID_PATTERN)
    app_key: str | None = Field(default=None, pattern=KEY)
    nwk_key: str | None = Field(default=None, pattern=KEY)


def device_out(device: Device, session: SessionView | bool | None = True) -> dict[str, Any]:
    """The API's view of a device and its session (asked of the network server unless given; None: not
    activated)."""
    if session is True:
        session = network_server().sessions([device.dev_eui]).get(device.dev_eui)
    assert session is None or isinstance(session, SessionView)
    return {
        "dev_eui": device.dev_eui,
        "join_eui": device.join_eui,
        "name": device.name,
        "description": device.description,
        "application_id": device.application_id,
        "device_profile_id": device.device_profile_id,
        "mac_version": device.mac_version,
        "region": device.region,
        "enabled": bool(device.enabled),
        "activated": session is not None,
        "dev_addr": session.dev_addr if session else None,
        "f_cnt_up": int(session.f_cnt_up) if session else None,
        "dr": int(session.dr) if session else None,
        # the session's write of each accepted frame carries it; a device's own is from before that
        "last_seen_at": iso_time(
            session.last_seen_at if session and session.last_seen_at else device.last_seen_at
        ),
        "battery": session.battery if session else None,
        "margin": session.margin if session else None,
    }


def device(dev_eui: str, *, write: bool) -> Device:
    """The device, once the caller may read (or write) devices of its organization."""
    try:
        key = str(EUI64.parse(dev_eui))
    except LoRaWANError as exc:
        raise NotFoundError(f"no device {dev_eui}") from exc
    return owned(Device, key, Resource.DEVICES, write=write, what="device")


def _profile_for(profile_id: str, org_id: str) -> DeviceProfile:
    profile = device_profile(profile_id, write=False)
    if profile.org_id != org_id:
        raise NotFoundError(f"no device profile {profile_id}")
    return profile


def _root_keys(mac_version: str, app_key: str | None, nwk_key: str | None) -> dict[str, str]:
    if mac_version.startswith("1.1") and (app_key is None or nwk_key is None):
        raise BadRequestError("a LoRaWAN 1.1 device needs nwk_key as well as app_key")
    keys = {}
    if app_key:
        keys["app_key"] = AES128Key.parse(app_key).hex()
    if nwk_key:
        keys["nwk_key"] = AES128Key.parse(nwk_key).hex()
    return keys


@router.post("/devices")
def create_device(body: DeviceCreate) -> tuple[dict[str, Any], int]:
    app = application(body.application_id, Resource.DEVICES, write=True)
    profile = _profile_for(body.device_profile_id, app.org_id)
    dev_eui = str(EUI64.parse(body.dev_eui))
    keys = _root_keys(profile.mac_version, body.app_key, body.nwk_key)
    if profile.supports_otaa and not keys:
        raise BadRequestError("an OTAA device needs app_key (and nwk_key for 1.1)")
    item = Device(
        dev_eui,
        join_eui=str(EUI64.parse(body.join_eui)),
        application_id=app.application_id,
        org_id=app.org_id,
        device_profile_id=profile.profile_id,
        name=body.name,
        name_lower=body.name.lower(),
        description=body.description,
        enabled=body.enabled,
        mac_version=profile.mac_version,
        region=profile.region,
        supports_class_c=bool(profile.supports_class_c),
        mac_settings=mac_settings.desired(profile, get_region(profile.region)),
        flush_queue_on_activate=bool(profile.flush_queue_on_activate),
        root_keys=envelope.seal(keys, context=dev_eui) if keys else None,
    )
    try:
        item.save(condition=Device.dev_eui.does_not_exist())
    except Exception as exc:  # PutError: the condition failed, or DynamoDB said no
        if "ConditionalCheckFailed" in str(getattr(exc, "cause_response_code", "")):
            return {"message": f"device {dev_eui} already exists"}, 409
        raise
    return device_out(item, None), 201  # new: no session yet


@router.get("/devices")
def list_devices() -> dict[str, Any]:
    query = router.current_event.get_query_string_value
    application_id = query("application_id")
    if not application_id:
        raise BadRequestError("application_id is required")
    application(application_id, Resource.DEVICES, write=False)
    search = search_condition(Device, query("search"))
    return page(
        lambda **kw: Device.by_application.query(application_id, filter_condition=search, **kw),
        render_all=_devices_out,
        limit=query("limit"),
        cursor=query("cursor"),
    )


def _devices_out(devices: list[Device]) -> list[dict[str, Any]]:
    """A page of devices with their sessions read in one batch, not one read each."""
    sessions = network_server().sessions([d.dev_eui for d in devices])
    return [device_out(d, sessions.get(d.dev_eui)) for d in devices]


@router.get("/devices/<dev_eui>")
def get_device(dev_eui: DevEui) -> dict[str, Any]:
    return device_out(device(dev_eui, write=False))


@router.put("/devices/<dev_eui>")
def update_device(dev_eui: DevEui, body: DeviceFields) -> dict[str, Any]:
    item = device(dev_eui, write=True)
    profile = _profile_for(body.device_profile_id, item.org_id)
    if (profile.region, profile.mac_version) != (item.region, item.mac_version):
        raise BadRequestError("the new profile must have the device's region and LoRaWAN version")
    new_profile = profile.profile_id != item.device_profile_id
    item.update(
        actions=[
            Device.name.set(body.name),
            Device.name_lower.set(body.name.lower()),
            Device.description.set(body.description),
            Device.enabled.set(body.enabled),
            Device.device_profile_id.set(profile.profile_id),
            Device.supports_class_c.set(bool(profile.supports_class_c)),
        ]
    )
    network_server().set_disabled(item.dev_eui, not body.enabled)  # the network reads only its session
    if new_profile:
        mac_settings.apply_profile(profile, [item], get_region(item.region))
    return device_out(item)


@router.delete("/devices/<dev_eui>")
def delete_device(dev_eui: DevEui) -> tuple[dict[str, Any], int]:
    item = device(dev_eui, write=True)
    queue.flush(item.dev_eui)
    network_server().remove_session(item.dev_eui)
    item.delete()
    return {}, 204


# -- keys and activation ----------------------------------------------------------------------------


class RootKeys(BaseModel):
    app_key: str = Field(pattern=KEY)
    nwk_key: str | None = Field(default=None, pattern=KEY)


@router.get("/devices/<dev_eui>/keys")
def get_keys(dev_eui: DevEui) -> dict[str, Any]:
    """Only those who may change a device see its root keys (ChirpStack shows them to device admins)."""
    item = device(dev_eui, write=True)
    if item.root_keys is None:
        raise NotFoundError("the device has no root keys (ABP)")
    keys = envelope.open_sealed(item.root_keys, context=item.dev_eui)
    return {"app_key": keys.get("app_key"), "nwk_key": keys.get("nwk_key")}


@router.put("/devices/<dev_eui>/keys")
def put_keys(dev_eui: DevEui, body: RootKeys) -> tuple[dict[str, Any], int]:
    item = device(dev_eui, write=True)
    keys = _root_keys(item.mac_version, body.app_key, body.nwk_key)
    item.update(actions=[Device.root_keys.set(envelope.seal(keys, context=item.dev_eui))])
    return {}, 204


class Activation(BaseModel):
    dev_addr: str = Field(pattern=r"^[0-9a-fA-F]{8}$")
    app_s_key: str = Field(pattern=KEY)
    nwk_s_key: str | None = Field(default=None, pattern=KEY, description="LoRaWAN 1.0")
    f_nwk_s_int_key: str | None = Field(default=None, pattern=KEY, description="LoRaWAN 1.1")
    s_nwk_s_int_key: str | None = Field(default=None, pattern=KEY, description="LoRaWAN 1.1")
    nwk_s_enc_key: str | None = Field(default=None, pattern=KEY, description="LoRaWAN 1.1")
    f_cnt_up: int = Field(default=0, ge=0, le=0xFFFFFFFF)
    n_f_cnt_down: int = Field(default=0, ge=0, le=0xFFFFFFFF)
    a_f_cnt_down: int = Field(default=0, ge=0, le=0xFFFFFFFF)


@router.post("/devices/<dev_eui>/activate")
def activate(dev_eui: DevEui, body: Activation) -> tuple[dict[str, Any], int]:
    """ABP: the session keys and counters the device was programmed with."""
    item = device(dev_eui, write=True)
    if item.mac_version.startswith("1.1"):
        parts = (body.f_nwk_s_int_key, body.s_nwk_s_int_key, body.nwk_s_enc_key)
        if None in parts:
            raise BadRequestError(
                "a LoRaWAN 1.1 device needs f_nwk_s_int_key, s_nwk_s_int_key, nwk_s_enc_key"
            )
        f_int, s_int, enc = (str(p) for p in parts)
    else:
        if body.nwk_s_key is None:
            raise BadRequestError("a LoRaWAN 1.0 device needs nwk_s_key")
        f_int = s_int = enc = body.nwk_s_key
    profile = _profile_for(item.device_profile_id, item.org_id)
    region = get_region(item.region)
    network_server().activate_abp(
        AbpActivation(
            dev_eui=item.dev_eui,
            dev_addr=str(DevAddr.parse(body.dev_addr)),
            mac_version=item.mac_version,
            region=region.name,
            f_nwk_s_int_key=AES128Key.parse(f_int).hex(),
            s_nwk_s_int_key=AES128Key.parse(s_int).hex(),
            nwk_s_enc_key=AES128Key.parse(enc).hex(),
            app_s_key=AES128Key.parse(body.app_s_key).hex(),
            f_cnt_up=body.f_cnt_up,
            n_f_cnt_down=body.n_f_cnt_down,
            a_f_cnt_down=body.a_f_cnt_down,
            rx1_delay=int(profile.rx1_delay or region.timing.receive_delay1),
            rx2_dr=int(profile.rx2_dr) if profile.rx2_dr is not None else region.rx2.dr,
            rx2_frequency=int(profile.rx2_frequency or region.rx2.frequency),
            adr=bool(profile.adr_enabled),
            device_class="C" if profile.supports_class_c else "A",
            disabled=not item.enabled,
            mac_settings=mac_settings.desired(profile, region),
        )
    )
    if profile.flush_queue_on_activate:
        queue.flush(item.dev_eui)
    sealed = envelope.seal({"app_s_key": AES128Key.parse(body.app_s_key).hex()}, context=item.dev_eui)
    item.update(actions=[Device.app_s_key.set(sealed)])
    return {}, 204


# -- MAC settings -----------------------------------------------------------------------------------


class MacRequest(BaseModel):
    dev_status: bool = Field(default=False, description="DevStatusReq (battery, margin) at the next uplink")


@router.get("/devices/<dev_eui>/mac")
def get_mac(dev_eui: DevEui) -> dict[str, Any]:
    """What the network wants the device to use, what the device has acknowledged, what is on its way."""
    return mac_settings.view(device(dev_eui, write=False))


@router.post("/devices/<dev_eui>/mac/requests")
def request_mac(dev_eui: DevEui, body: MacRequest) -> tuple[dict[str, Any], int]:
    """One-shot MAC requests, sent with the device's next downlink."""
    item = device(dev_eui, write=True)
    if not mac_settings.request_now(item.dev_eui, dev_status=body.dev_status):
        return {"message": "the device is not activated: requests go out after its next uplink"}, 409
    return {"requested": [name for name, wanted in (("DevStatusReq", body.dev_status),) if wanted]}, 202


# -- downlink queue ---------------------------------------------------------------------------------


class QueueItemCreate(BaseModel):
    id: UUID | None = Field(default=None, description="the queue item id acks and txacks carry; new if unset")
    f_port: int | None = Field(default=None, ge=1, le=223)
    data: str | None = Field(default=None, description="base64", max_length=400)
    object: dict[str, Any] | None = Field(default=None, description="encoded by the profile's codec")
    confirmed: bool = False
    expires_at: datetime | None = Field(default=None, description="dropped unsent after this time")


def encode_with_profile(item: Device, f_port: int | None, obj: dict[str, Any]) -> tuple[int, bytes]:
    """An object payload through the device profile's codec (`encodeDownlink`)."""
    from functions.appserver.codecs import Codec, CodecError, encode_downlink

    profile = _profile_for(item.device_profile_id, item.org_id)
    codec = Codec.of_profile(profile.codec_kind, profile.codec_script, profile.profile_id)
    if codec is None:
        raise BadRequestError("the device profile has no codec to encode an object; send data instead")
    try:
        port, payload = encode_downlink(
            codec,
            f_port=f_port,
            obj=obj,
        )
    except CodecError as exc:
        raise BadRequestError(f"the codec could not encode the object: {exc}") from exc
    if port is None:
        raise BadRequestError("f_port is required (the codec did not choose one)")
    return port, payload


@router.post("/devices/<dev_eui>/queue")
def enqueue_downlink(dev_eui: DevEui, body: QueueItemCreate) -> tuple[dict[str, Any], int]:
    item = device(dev_eui, write=True)
    if (body.data is None) == (body.object is None):
        raise BadRequestError("give either data (base64) or object")
    if body.object is not None:
        f_port, payload = encode_with_profile(item, body.f_port, body.object)
    else:
        if body.f_port is None:
            raise BadRequestError("f_port is required")
        try:
            payload = base64.b64decode(body.data or "", validate=True)
        except binascii.Error as exc:
            raise BadRequestError(f"data is not base64: {exc}") from exc
        f_port = body.f_port
    try:
        expires = body.expires_at.astimezone(UTC) if body.expires_at else None
        item_id = queue.enqueue(
            item.dev_eui, f_port, payload, confirmed=body.confirmed, expires_at=expires,
            item_id=str(body.id) if body.id else None,
        )  # fmt: skip
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    logged = {"queue_id": item_id, "f_port": f_port, "confirmed": body.confirmed, "size": len(payload)}
    eventlog.record(eventlog.device_subject(item.dev_eui), "downlink", logged)
    return {"id": item_id}, 201


@router.get("/devices/<dev_eui>/queue")
def list_queue(dev_eui: DevEui) -> dict[str, Any]:
    item = device(dev_eui, write=False)
    items = queue.pending(item.dev_eui, limit=100)
    return {
        "items": [
            {
                "id": i.queue_item_id,
                "f_port": i.f_port,
                "data": base64.b64encode(i.payload).decode(),
                "confirmed": i.confirmed,
                "sent_with_f_cnt": i.f_cnt,
            }
            for i in items
        ],
        "next_cursor": None,
    }


@router.delete("/devices/<dev_eui>/queue")
def flush_queue(dev_eui: DevEui) -> tuple[dict[str, Any], int]:
    queue.flush(device(dev_eui, write=True).dev_eui)
    return {}, 204


@router.get("/devices/<dev_eui>/events")
def device_events(dev_eui: DevEui) -> dict[str, Any]:
    """Reading them is watching the device: its uplinks' events are logged for the next minute
    (`watch_device`, as `/frames`), which is what a client polling with `since=` streams."""
    item = device(dev_eui, write=False)
    watch_device(item.dev_eui)
    query = router.current_event.get_query_string_value
    events = eventlog.recent(
        eventlog.device_subject(item.dev_eui), since=query("since"), limit=limit_of(query("limit"))
    )
    return {"items": events, "next_cursor": None}
