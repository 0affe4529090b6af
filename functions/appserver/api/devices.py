"""Devices: provision (with OTAA root keys, stored sealed and never returned), list, read, delete."""

from __future__ import annotations

import base64
import binascii
import contextlib
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field, field_validator
from pynamodb.exceptions import PutError

from functions.lorawan.errors import LoRaWANError
from functions.lorawan.regions import get_region
from functions.lorawan.types import EUI64, AES128Key
from functions.shared import envelope, queue
from functions.shared.models import Device, DeviceSession

router = APIGatewayRouter()
HEX_EUI = r"^[0-9a-fA-F]{16}$"


class DeviceCreate(BaseModel):
    dev_eui: str = Field(pattern=HEX_EUI)
    join_eui: str = Field(default="0000000000000000", pattern=HEX_EUI)
    name: str = Field(default="", max_length=100)
    application_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    mac_version: Literal["1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.1.0"] = "1.0.3"
    region: str = "EU868"
    app_key: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    nwk_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")
    supports_class_c: bool = False

    @field_validator("region")
    @classmethod
    def known_region(cls, value: str) -> str:
        try:
            return get_region(value).name
        except LoRaWANError as exc:
            raise ValueError(str(exc)) from exc


class DeviceOut(BaseModel):
    dev_eui: str
    join_eui: str
    name: str
    application_id: str
    mac_version: str
    region: str
    enabled: bool
    activated: bool
    dev_addr: str | None = None
    f_cnt_up: int | None = None
    battery: int | None = None
    margin: int | None = None


def _out(device: Device) -> DeviceOut:
    session: DeviceSession | None
    try:
        session = DeviceSession.get(device.dev_eui)
    except DeviceSession.DoesNotExist:
        session = None
    return DeviceOut(
        dev_eui=device.dev_eui,
        join_eui=device.join_eui,
        name=device.name,
        application_id=device.application_id,
        mac_version=device.mac_version,
        region=device.region,
        enabled=device.enabled,
        activated=session is not None,
        dev_addr=session.dev_addr if session else None,
        f_cnt_up=int(session.f_cnt_up) if session else None,
        battery=int(session.battery) if session and session.battery is not None else None,
        margin=int(session.margin) if session and session.margin is not None else None,
    )


@router.post("/devices")
def create_device(device: DeviceCreate) -> tuple[dict[str, Any], int]:
    dev_eui = str(EUI64.parse(device.dev_eui))
    if device.mac_version == "1.1.0" and device.nwk_key is None:
        raise BadRequestError("a LoRaWAN 1.1 device needs nwk_key as well as app_key")
    keys = {"app_key": AES128Key.parse(device.app_key).hex()}
    if device.nwk_key:
        keys["nwk_key"] = AES128Key.parse(device.nwk_key).hex()
    item = Device(
        dev_eui,
        join_eui=str(EUI64.parse(device.join_eui)),
        name=device.name,
        application_id=device.application_id,
        mac_version=device.mac_version,
        region=device.region,
        root_keys=envelope.seal(keys, context=dev_eui),
        supports_class_c=device.supports_class_c,
    )
    try:
        item.save(condition=Device.dev_eui.does_not_exist())
    except PutError as exc:
        if getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException":
            return {"message": f"device {dev_eui} already exists"}, 409
        raise
    return _out(item).model_dump(), 201


@router.get("/devices")
def list_devices() -> dict[str, Any]:
    application = router.current_event.get_query_string_value("application_id")
    devices = [d for d in Device.scan() if application is None or d.application_id == application]
    return {"devices": [_out(d).model_dump() for d in sorted(devices, key=lambda d: d.dev_eui)]}


def _device(dev_eui: str) -> Device:
    try:
        return Device.get(str(EUI64.parse(dev_eui)))
    except (Device.DoesNotExist, LoRaWANError) as exc:
        raise NotFoundError(f"no device {dev_eui}") from exc


@router.get("/devices/<dev_eui>")
def get_device(dev_eui: Annotated[str, Path(pattern=HEX_EUI)]) -> dict[str, Any]:
    return _out(_device(dev_eui)).model_dump()


@router.delete("/devices/<dev_eui>")
def delete_device(dev_eui: Annotated[str, Path(pattern=HEX_EUI)]) -> tuple[dict[str, Any], int]:
    device = _device(dev_eui)
    with contextlib.suppress(DeviceSession.DoesNotExist):
        DeviceSession.get(device.dev_eui).delete()
    device.delete()
    return {}, 204


class QueueItemCreate(BaseModel):
    f_port: int = Field(ge=1, le=223)
    data: str = Field(description="base64", max_length=400)
    confirmed: bool = False


@router.post("/devices/<dev_eui>/queue")
def enqueue_downlink(
    dev_eui: Annotated[str, Path(pattern=HEX_EUI)], item: QueueItemCreate
) -> tuple[dict[str, Any], int]:
    device = _device(dev_eui)
    try:
        payload = base64.b64decode(item.data, validate=True)
        item_id = queue.enqueue(device.dev_eui, item.f_port, payload, confirmed=item.confirmed)
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(str(exc)) from exc
    return {"id": item_id}, 201


@router.get("/devices/<dev_eui>/queue")
def list_queue(dev_eui: Annotated[str, Path(pattern=HEX_EUI)]) -> dict[str, Any]:
    device = _device(dev_eui)
    items = queue.pending(device.dev_eui, limit=100)
    return {
        "items": [
            {
                "id": i.item_id,
                "f_port": i.f_port,
                "data": base64.b64encode(i.payload).decode(),
                "confirmed": i.confirmed,
                "sent_with_f_cnt": i.f_cnt,
            }
            for i in items
        ]
    }


@router.delete("/devices/<dev_eui>/queue")
def flush_queue(dev_eui: Annotated[str, Path(pattern=HEX_EUI)]) -> tuple[dict[str, Any], int]:
    queue.flush(_device(dev_eui).dev_eui)
    return {}, 204
