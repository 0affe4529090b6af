"""Metrics of a device or gateway over a time range (ChirpStack's dashboards): per hour or day, the
uplinks and downlinks, the mean RSSI and SNR (of the best gateway, for a device), and over the range the
use of each data rate and frequency and the errors by reason. A gateway's figures are its own `stats`
reports' (received, received OK, to transmit, transmitted, per frequency and data rate when it reports
them, transmissions by status), as ChirpStack's gateway dashboard shows them; the network writes nothing
per frame a gateway hears (functions/network/gateways.py)."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler.exceptions import BadRequestError
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.appserver.api.common import iso_time
from functions.appserver.api.devices import DevEui, device
from functions.appserver.api.gateways import GatewayId, gateway
from functions.shared import frame_log
from functions.shared.frame_log import HOUR, device_subject, gateway_subject, hour_of
from functions.shared.interface import network_server

router = APIGatewayRouter()
DAY = 24 * HOUR
MAX_RANGE_S = 31 * DAY
SERIES = ("up", "join", "down", "tx_ok")
DISTRIBUTIONS = {"dr": "dr_", "frequency": "f_", "tx_dr": "txdr_", "tx_frequency": "txf_", "errors": "err_"}
GATEWAY_STATS = ("rx_received", "rx_ok", "tx_received", "tx_emitted")


def _time(raw: str | None, default: float, name: str) -> float:
    if not raw:
        return default
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise BadRequestError(f"{name} must be an ISO 8601 time") from exc


def time_range() -> tuple[int, int, int]:
    """start, end (hours) and the step, from `start`, `end` (ISO 8601, default the last 24 hours) and
    `aggregation` (hour or day)."""
    query = router.current_event.get_query_string_value
    now = time.time()
    end = _time(query("end"), now, "end")
    start = _time(query("start"), end - DAY + HOUR, "start")
    if not 0 <= end - start <= MAX_RANGE_S:
        raise BadRequestError("start must be before end, at most 31 days apart")
    aggregation = query("aggregation") or "hour"
    if aggregation not in ("hour", "day"):
        raise BadRequestError("aggregation is hour or day")
    step = HOUR if aggregation == "hour" else DAY
    return int(start) // step * step, hour_of(end), step


def summarize(hours: dict[int, dict[str, float]], start: int, end: int, step: int) -> dict[str, Any]:
    """Series per step (counts, mean RSSI/SNR) and distributions over the whole range."""
    items = []
    totals: dict[str, dict[str, float]] = {name: defaultdict(float) for name in DISTRIBUTIONS}
    for slot in range(start, end + 1, step):
        merged: dict[str, float] = defaultdict(float)
        for hour in range(slot, slot + step, HOUR):
            for name, value in hours.get(hour, {}).items():
                merged[name] += value
        heard = merged.get("up", 0) + merged.get("join", 0)
        row: dict[str, Any] = {"time": iso_time(slot)}
        row |= {name: int(merged.get(name, 0)) for name in (*SERIES, *GATEWAY_STATS) if name in merged}
        row |= {name: 0 for name in SERIES if name not in row}
        row["rssi"] = round(merged["rssi"] / heard, 1) if heard else None
        row["snr"] = round(merged["snr"] / heard, 1) if heard else None
        row["errors"] = int(sum(v for k, v in merged.items() if k.startswith("err_")))
        items.append(row)
        for group, prefix in DISTRIBUTIONS.items():
            for name, value in merged.items():
                if name.startswith(prefix):
                    totals[group][name.removeprefix(prefix)] += value
    return {
        "aggregation": "hour" if step == HOUR else "day",
        "start": iso_time(start),
        "end": iso_time(end + HOUR),
        "items": items,
    } | {group: {k: int(v) for k, v in sorted(values.items())} for group, values in totals.items()}


@router.get("/devices/<dev_eui>/metrics")
def device_metrics(dev_eui: DevEui) -> dict[str, Any]:
    """The hour buckets plus what the device's session carries outside them: the hour in progress (its
    uplinks' counters ride on the session write, functions/network/uplink/hour.py)."""
    item = device(dev_eui, write=False)
    start, end, step = time_range()
    kept = network_server().device_hours(item.dev_eui)
    hours = frame_log.buckets(device_subject(item.dev_eui), start, end, kept=kept)
    return summarize(hours, start, end, step)


@router.get("/gateways/<gateway_id>/metrics")
def gateway_metrics(gateway_id: GatewayId) -> dict[str, Any]:
    """The gateway's packet counters from its stats reports, per hour or day."""
    item = gateway(gateway_id, write=False)
    start, end, step = time_range()
    return summarize(frame_log.buckets(gateway_subject(item.gateway_id), start, end), start, end, step)
