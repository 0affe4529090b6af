"""Gateways of an organization: registration (claiming a gateway id), location, last seen, packet
statistics per hour and the recent event log."""

from __future__ import annotations

import os
import time
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field
from pynamodb.exceptions import PutError, UpdateError

from functions.appserver import eventlog
from functions.appserver.api.common import EUI_PATTERN, UUID_PATTERN, iso_time, limit_of, owned
from functions.appserver.api.organizations import list_in_organization, organization
from functions.appserver.auth import Resource
from functions.appserver.mqtt_credentials import AMAZON_ROOT_CA
from functions.shared import envelope, frame_log, station_credentials
from functions.shared.interface import network_server
from functions.shared.station_credentials import StationCredentials

if TYPE_CHECKING:  # for annotations only, as interface.py names it; the class comes from network_server()
    from functions.network.models import Gateway as GatewayTable

# The network server's gateway table: the API writes a gateway's registration (organization, name,
# description, location); the network server its observed state (last seen, online, statistics).
Gateway: type[GatewayTable] = network_server().Gateway

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


def station_out(gateway_id: str) -> dict[str, Any] | None:
    """A Basics Station gateway's credentials state and what it last said of itself (`version`)."""
    try:
        item = StationCredentials.get(gateway_id)
    except StationCredentials.DoesNotExist:
        return None
    said = item.station or {}
    return {
        "credentials_issued_at": iso_time(item.issued_at),
        "version": said.get("station"),
        "firmware": said.get("firmware"),
        "package": said.get("package"),
        "model": said.get("model"),
        "protocol": said.get("protocol"),
        "features": said.get("features"),
        "connected_at": iso_time(said.get("connected_at")),
    }


def gateway_out(item: GatewayTable, *, station: bool = False) -> dict[str, Any]:
    """A gateway; with `station`, its Basics Station state (one more read, so single gateways only)."""
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
        **({"basic_station": station_out(item.gateway_id)} if station else {}),
    }


def gateway(gateway_id: str, *, write: bool) -> GatewayTable:
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
    return gateway_out(gateway(gateway_id, write=False), station=True)


@router.put("/gateways/<gateway_id>")
def update_gateway(gateway_id: GatewayId, body: GatewayFields) -> dict[str, Any]:
    item = gateway(gateway_id, write=True)
    item.update(actions=_location_actions(body))
    return gateway_out(item)


@router.delete("/gateways/<gateway_id>")
def delete_gateway(gateway_id: GatewayId) -> tuple[dict[str, Any], int]:
    item = gateway(gateway_id, write=True)
    StationCredentials(item.gateway_id).delete()  # its Basics Station token stops working with it
    item.delete()
    return {}, 204


STATS = ("rx_received", "rx_ok", "tx_received", "tx_emitted")  # the totals of its stats reports


@router.get("/gateways/<gateway_id>/stats")
def gateway_stats(gateway_id: GatewayId) -> dict[str, Any]:
    item = gateway(gateway_id, write=False)
    raw = router.current_event.get_query_string_value("hours") or "24"
    if not raw.isdigit() or not 1 <= int(raw) <= 24 * 31:
        raise BadRequestError("hours must be between 1 and 744")
    now_hour = frame_log.hour_of(time.time())
    start = now_hour - (int(raw) - 1) * frame_log.HOUR
    buckets = frame_log.buckets(frame_log.gateway_subject(item.gateway_id), start, now_hour)
    items = []
    for hour in range(start, now_hour + 1, frame_log.HOUR):
        counters = buckets.get(hour, {})
        items.append({"time": iso_time(hour)} | {name: int(counters.get(name, 0)) for name in STATS})
    return {"items": items, "next_cursor": None}


@router.get("/gateways/<gateway_id>/events")
def gateway_events(gateway_id: GatewayId) -> dict[str, Any]:
    item = gateway(gateway_id, write=False)
    query = router.current_event.get_query_string_value
    events = eventlog.recent(
        eventlog.gateway_subject(item.gateway_id), since=query("since"), limit=limit_of(query("limit"))
    )
    return {"items": events, "next_cursor": None}


@router.post("/gateways/<gateway_id>/station-credentials")
def issue_station_credentials(gateway_id: GatewayId) -> tuple[dict[str, Any], int]:
    """Issue (or rotate) the gateway's Basics Station token. The token is shown once: the table keeps its
    hash and a sealed copy for CUPS. The old token stops working on the LNS at once; CUPS still accepts
    it, so a gateway polling CUPS picks up the new one by itself."""
    item = gateway(gateway_id, write=True)
    token = station_credentials.new_token()
    sealed = envelope.seal({"token": token}, context=station_credentials.sealing_context(item.gateway_id))
    now = int(time.time())
    try:
        previous = StationCredentials.get(item.gateway_id)
    except StationCredentials.DoesNotExist:
        previous = None
    StationCredentials(
        item.gateway_id,
        org_id=item.org_id,
        token_sha256=station_credentials.token_hash(token),
        token_sealed=sealed,
        previous_token_sha256=previous.token_sha256 if previous else None,
        issued_at=now,
        station=previous.station if previous else None,
    ).save()
    trust_file = os.environ.get("STATION_TRUST_FILE")
    trust = os.environ.get("STATION_TRUST_PEM") or (FilePath(trust_file).read_text() if trust_file else None)
    return {
        "gateway_id": item.gateway_id,
        "token": token,
        "tc_key": station_credentials.tc_key(token),
        "lns_uri": os.environ.get("STATION_LNS_URI"),
        "cups_uri": os.environ.get("STATION_CUPS_URI"),
        "trust_pem": trust,
        "trust_url": None if trust else AMAZON_ROOT_CA,
        "issued_at": iso_time(now),
    }, 201
