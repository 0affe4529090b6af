"""Gateways of an organization: registration (claiming a gateway id), location, last seen, packet
statistics per hour and the recent event log."""

from __future__ import annotations

import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field
from pynamodb.exceptions import PutError, UpdateError

from functions.appserver import eventlog
from functions.appserver.api.common import EUI_PATTERN, UUID_PATTERN, iso_time, limit_of, owned
from functions.appserver.api.organizations import list_in_organization, organization
from functions.appserver.auth import Resource
from functions.shared.interface import network_server

# The network server's gateway table: the API writes a gateway's registration (organization, name,
# description, location); the network server its observed state (last seen, online, statistics).
Gateway = network_server().Gateway
GatewayStatsBucket = network_server().GatewayStatsBucket

router = APIGatewayRouter()
GatewayId = Annotated[str, Path(pattern=EUI_PATTERN)]


class GatewayFields(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    altitude: float | None = Field(default=None, ge=-1000, le=10000)


class GatewayCreate(GatewayFields):
    gateway_id: str = Field(pattern=EUI_PATTERN)
    organization_id: str = Field(pattern=UUID_PATTERN)


def gateway_out(item: Gateway) -> dict[str, Any]:
    return {
        "gateway_id": item.gateway_id,
        "organization_id": item.org_id,
        "name": item.name,
        "description": item.description,
        "latitude": item.latitude,
        "longitude": item.longitude,
        "altitude": item.altitude,
        "online": bool(item.online),
        "last_seen_at": iso_time(item.last_seen_at),
        "region": item.topic_prefix,
    }


def gateway(gateway_id: str, *, write: bool) -> Gateway:
    """A gateway registered to an organization the caller may read (or write) gateways of."""
    return owned(Gateway, gateway_id.lower(), Resource.GATEWAYS, write=write, what="gateway")


@router.get("/gateways")
def list_gateways() -> dict[str, Any]:
    return list_in_organization(router, Gateway, Resource.GATEWAYS, gateway_out)


def _location_actions(body: GatewayFields) -> list[Any]:
    return [
        Gateway.name.set(body.name),
        Gateway.name_lower.set(body.name.lower()),
        Gateway.description.set(body.description),
        Gateway.latitude.set(body.latitude) if body.latitude is not None else Gateway.latitude.remove(),
        Gateway.longitude.set(body.longitude) if body.longitude is not None else Gateway.longitude.remove(),
        Gateway.altitude.set(body.altitude) if body.altitude is not None else Gateway.altitude.remove(),
    ]


@router.post("/gateways")
def register_gateway(body: GatewayCreate) -> tuple[dict[str, Any], int]:
    """Register a gateway id to an organization. The network server may already have heard it (then
    it exists without an owner and is claimed); one owned by any organization cannot be taken."""
    organization(body.organization_id, Resource.GATEWAYS, write=True)
    gateway_id = body.gateway_id.lower()
    item = Gateway(gateway_id)
    try:
        item.update(
            actions=[Gateway.org_id.set(body.organization_id), *_location_actions(body)],
            condition=Gateway.org_id.does_not_exist(),
        )
    except (UpdateError, PutError):
        return {"message": f"gateway {gateway_id} is already registered"}, 409
    return gateway_out(Gateway.get(gateway_id)), 201


@router.get("/gateways/<gateway_id>")
def get_gateway(gateway_id: GatewayId) -> dict[str, Any]:
    return gateway_out(gateway(gateway_id, write=False))


@router.put("/gateways/<gateway_id>")
def update_gateway(gateway_id: GatewayId, body: GatewayFields) -> dict[str, Any]:
    item = gateway(gateway_id, write=True)
    item.update(actions=_location_actions(body))
    return gateway_out(item)


@router.delete("/gateways/<gateway_id>")
def delete_gateway(gateway_id: GatewayId) -> tuple[dict[str, Any], int]:
    gateway(gateway_id, write=True).delete()
    return {}, 204


@router.get("/gateways/<gateway_id>/stats")
def gateway_stats(gateway_id: GatewayId) -> dict[str, Any]:
    item = gateway(gateway_id, write=False)
    raw = router.current_event.get_query_string_value("hours") or "24"
    if not raw.isdigit() or not 1 <= int(raw) <= 24 * 31:
        raise BadRequestError("hours must be between 1 and 744")
    now_hour = int(time.time()) // 3600 * 3600
    start = now_hour - (int(raw) - 1) * 3600
    buckets = {b.hour: b for b in GatewayStatsBucket.query(item.gateway_id, GatewayStatsBucket.hour >= start)}
    items = []
    for hour in range(start, now_hour + 1, 3600):
        bucket = buckets.get(hour)
        items.append({
            "time": iso_time(hour),
            "rx_received": int(bucket.rx_received) if bucket else 0,
            "rx_ok": int(bucket.rx_ok) if bucket else 0,
            "tx_received": int(bucket.tx_received) if bucket else 0,
            "tx_emitted": int(bucket.tx_emitted) if bucket else 0,
        })  # fmt: skip
    return {"items": items, "next_cursor": None}


@router.get("/gateways/<gateway_id>/events")
def gateway_events(gateway_id: GatewayId) -> dict[str, Any]:
    item = gateway(gateway_id, write=False)
    query = router.current_event.get_query_string_value
    events = eventlog.recent(
        eventlog.gateway_subject(item.gateway_id), since=query("since"), limit=limit_of(query("limit"))
    )
    return {"items": events, "next_cursor": None}
