"""Frame logs and hourly metrics of devices and gateways (ChirpStack's "LoRaWAN frames" tab and
dashboards), shaped so that an uplink nobody watches costs no request of its own.

Cost model (figures in bench/README.md):
- A device's accepted data uplinks: their counters (uplinks, RSSI and SNR sums, data rate, frequency,
  downlinks) are carried by the session write the network makes anyway (`HourCounters`, packed in the
  session: functions/network/uplink/hour.py); when an uplink arrives in a later hour, the finished hour
  goes to its bucket with ONE UpdateItem (`flush`, ADD on top-level attributes such as `up`, `dr_5`,
  `f_868100000`; counters are created by the first ADD, so no read is ever needed), idempotent by the
  hour's token. A device sending every 10 minutes makes one bucket write an hour instead of six. Whether
  someone watches it is the session's `watch_until` too (set through `NetworkServer.watch_device` by the
  API when someone reads the device's `/frames` or `/events`: the web page polls them, see
  functions/appserver/api/watching.py): only while it lies in the future is the full frame written to the
  log, a write that expires after `KEEP_S`. So neither the counters nor the check cost a request.
- A device's other frames (rejections, joins, TX acks, class C downlinks) add their counters to the hour
  bucket with one UpdateItem each (`add`), whose answer (ALL_NEW) carries the bucket's `watch_until`: the
  flag of a device that has no session yet (its first join is logged while someone watches).
- A gateway: its hour bucket counts its own stats reports (received, received OK, to transmit,
  transmitted, per frequency, data rate and TX status: functions/network/gateways.py), one UpdateItem per
  report, as ChirpStack counts a gateway; the frames it hears add nothing, so an extra gateway copy of a
  frame costs no write here. Whether someone watches it is `Gateway.watch_until`, which each copy reads
  with the gateway's registration (functions/network/gateway_registry.py); while it does, its frames
  (rejected ones included) are written to its log as a device's are.
A subject is `device#<dev_eui>` or `gateway#<gateway_id>`.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.operand import Path

from functions.shared.frame_tables import FrameLogItem, MetricsBucket
from functions.shared.interface import HourCounters

KEEP_S = 3 * 86400  # frames: a bounded log for debugging
METRICS_KEEP_S = 31 * 86400  # hour buckets: a month of charts
WATCH_S = 60  # a watcher refreshes its flag at least every WATCH_S / 2 (the web page polls every 2 s)
HOUR = 3600
_COUNTER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def device_subject(dev_eui: str) -> str:
    return f"device#{dev_eui}"


def gateway_subject(gateway_id: str) -> str:
    return f"gateway#{gateway_id}"


def hour_of(at: float) -> int:
    return int(at) // HOUR * HOUR


def counter_name(*parts: object) -> str:
    """`dr_5`, `f_868100000`, `err_mic_failure`: lower case, digits and underscores only."""
    name = "_".join(re.sub(r"[^a-z0-9]+", "_", str(p).lower()).strip("_") for p in parts)
    if not _COUNTER.match(name):
        raise ValueError(f"not a counter name: {name!r}")
    return name


def add(subject: str, counters: Mapping[str, float], *, now: float | None = None) -> bool:
    """Add `counters` to the subject's bucket of this hour, in one UpdateItem; True while watched."""
    at = time.time() if now is None else now
    actions = _actions(counters)
    actions.append(MetricsBucket.expires_at.set(datetime.fromtimestamp(at + METRICS_KEEP_S, UTC)))
    hash_key, range_key = MetricsBucket._serialize_keys(subject, hour_of(at))
    answer = MetricsBucket._get_connection().update_item(
        hash_key, range_key, actions=actions, return_values="ALL_NEW"
    )
    watch = answer.get("Attributes", {}).get("watch_until", {}).get("N")
    return watch is not None and float(watch) > at


def _actions(counters: Mapping[str, float]) -> list[Any]:
    return [Path(NumberAttribute(attr_name=name)).add(value) for name, value in counters.items() if value]


def flush(subject: str, hour: HourCounters) -> bool:
    """Add an hour's counters kept elsewhere to its bucket, once: the bucket keeps each flush's token and
    refuses it again (a retried invocation flushing the same hour). False when it was flushed before."""
    actions = _actions(hour.counters)
    actions += [
        MetricsBucket.flushed.add({hour.token}),
        MetricsBucket.expires_at.set(datetime.fromtimestamp(hour.hour + HOUR + METRICS_KEEP_S, UTC)),
    ]
    once = ~MetricsBucket.flushed.contains(hour.token)
    try:
        MetricsBucket(subject, hour.hour).update(actions, condition=once)
    except UpdateError as exc:
        if "ConditionalCheckFailed" in str(getattr(exc, "cause_response_code", "")):
            return False
        raise
    return True


def watch(subject: str, *, now: float | None = None) -> None:
    """Someone watches `subject`, which has no session to carry the flag (a device not joined yet: the
    API sets a joined device's through `NetworkServer.watch_device`, functions/appserver/api/watching.py):
    frames are logged for the next WATCH_S seconds. The flag goes on this hour's bucket and the next one,
    so it holds across the hour, and its JoinRequest's counter update answers it; it is rewritten only
    when half used (the web page polls every 2 s)."""
    at = time.time() if now is None else now
    try:
        current = MetricsBucket.get(subject, hour_of(at))
        if current.watch_until is not None and float(current.watch_until) > at + WATCH_S / 2:
            return
    except MetricsBucket.DoesNotExist:
        pass
    for hour in (hour_of(at), hour_of(at) + HOUR):
        MetricsBucket(subject, hour).update(
            actions=[
                MetricsBucket.watch_until.set(int(at + WATCH_S)),
                MetricsBucket.expires_at.set(datetime.fromtimestamp(hour + METRICS_KEEP_S, UTC)),
            ]
        )


def record(subject: str, kind: str, body: dict[str, Any], *, now: float | None = None, order: int = 0) -> str:
    """Write one frame to the subject's log; returns its id: time-ordered, then by `order` (an uplink
    before the downlink that answers it, recorded in the same millisecond)."""
    at = time.time() if now is None else now
    frame_id = f"{int(at * 1000):013d}{order:02d}{secrets.token_hex(3)}"
    FrameLogItem(subject, frame_id, kind=kind, body=body, expires_at=timedelta(seconds=KEEP_S)).save()
    return frame_id


def frame_time(frame_id: str) -> str:
    return datetime.fromtimestamp(int(frame_id[:13]) / 1000, UTC).isoformat().replace("+00:00", "Z")


def buckets(
    subject: str, start: int, end: int, *, kept: Iterable[HourCounters] = ()
) -> dict[int, dict[str, float]]:
    """The counters of each hour in [start, end] that has any, by hour; with `kept`, the hours kept outside
    the buckets (a device's session: this hour, and the one its last save closed) added to theirs unless
    the bucket already took their flush."""
    out: dict[int, dict[str, float]] = {}
    flushed: set[int] = set()
    key: dict[str, Any] | None = None
    condition = MetricsBucket.hour.between(hour_of(start), hour_of(end))
    while True:
        page = MetricsBucket._get_connection().query(
            MetricsBucket._serialize_keys(subject)[0], range_key_condition=condition, exclusive_start_key=key
        )
        for item in page.get("Items", []):
            hour = int(item["hour"]["N"])
            out[hour] = {
                name: float(value["N"])
                for name, value in item.items()
                if "N" in value and name not in ("hour", "watch_until", "expires_at")
            }
            flushed.update(int(token) for token in item.get("fl", {}).get("NS", []))
        key = page.get("LastEvaluatedKey")
        if not key:
            break
    for held in kept:
        if held.token not in flushed and hour_of(start) <= held.hour <= hour_of(end):
            counters = out.setdefault(held.hour, {})
            for name, value in held.counters.items():
                counters[name] = counters.get(name, 0) + value
    return out
