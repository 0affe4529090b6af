"""De-duplication of one frame heard by several gateways, for Lambdas that each see one reception.

State machine of an `UplinkCollection` item (key = SHA-256 of region prefix and PHYPayload):

1. Every reception adds itself with ONE conditional UpdateItem: a top-level attribute per reception
   (`rx:<gateway>:<uplink id>`, so a retried invocation adds nothing twice), `created_at` set only if
   absent, on condition that nobody has claimed the item yet. The answer (`ALL_OLD`) tells the first
   reception, which found no item, that it created it: its invocation is the *creator*. Any other copy
   has its answer in the same request and returns (a *duplicate*): one billed write per extra gateway.
2. If the item has been claimed, the copy is *late*: counted and dropped; unless the same gateway
   already gave a reception of the frame under another uplink id: then the device sent it again
   (NbTrans, or a lost ACK), and the copies of that transmission are collected as the frame's next
   *attempt* (the same steps, key suffixed `#n`), processed once as a *retransmission* (the pipeline's
   counter check reports it).
3. The creator waits out the window, then *claims* the item (conditional update, `ALL_NEW`), reading
   every reception at once; only one claim can succeed, so the frame is processed exactly once. The
   claim names the claimer's reception (`claimed_by`), and the frame's deduplication id is derived
   from the item's key and that reception: the same for every attempt of the claiming invocation.
4. If the creator dies before claiming (its retry or any later copy finds, in the old item its update
   returns, an unclaimed item older than three windows), that invocation claims it instead, so nothing
   is lost.
5. If the claimer dies after claiming (a timeout, a crash), the platform retries it with the same event:
   the retry finds the item claimed by its own reception and *resumes* the frame under the same
   deduplication id (`Outcome.resumed`); the session remembers the last frame it applied, so a frame
   already applied is not applied twice, only its events are sent (`uplink/data.py`). Any other
   invocation that finds the item claimed is late.
Items expire through TTL after a minute. A reception's value is compact (functions/network/
reception_codec.py), so the item stays under 1 KB (one write unit per write) with up to 3 receptions.
Items written before the per-reception attributes (a map `receptions`), and values in the old JSON
form, are still read, for the minute a deployment takes to replace them.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.operand import Path

from functions.network.models import UplinkCollection
from functions.network.reception_codec import pack, unpack
from functions.network.receptions import Reception

TTL_S = 60
TAKEOVER_WINDOWS = 3
MAX_ATTEMPTS = 15  # NbTrans is at most 15 (LinkADRReq, LoRaWAN 1.0.4 §5.3)
DATA_UPLINKS = (2, 4)  # MType of Unconfirmed and Confirmed Data Up


@dataclass(frozen=True)
class Outcome:
    status: Literal["process", "duplicate", "late"]
    receptions: tuple[Reception, ...] = ()
    deduplication_id: str = ""
    retransmission: int = 0  # the device's n-th transmission of the frame again
    resumed: bool = False  # the claimer's own retry: the frame may already be (partly) processed


def collection_key(reception: Reception, attempt: int = 0) -> str:
    digest = hashlib.sha256(reception.topic_prefix.encode() + b"|" + reception.phy_payload).hexdigest()
    return f"{digest}#{attempt}" if attempt else digest


def _conditional_failure(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


RECEPTION_PREFIX = "rx:"


def _receptions(item: dict[str, Any]) -> dict[str, str]:
    """The receptions of a raw item, by reception key (`Reception.key`)."""
    found = {name[len(RECEPTION_PREFIX) :]: value["S"] for name, value in item.items()
             if name.startswith(RECEPTION_PREFIX) and "S" in value}  # fmt: skip
    for name, value in item.get("receptions", {}).get("M", {}).items():  # items of before the attributes
        found.setdefault(name, value.get("S", ""))
    return found


def deduplication_id(key: str, claimer: Reception) -> str:
    """The frame's id for events and logs: stable across retries of the claiming invocation (it is a
    function of the claim), different for every claim (a replayed PHYPayload comes with a new uplink id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"loraless:dedup:{key}|{claimer.key}"))


def _stored(item: dict[str, Any], own: Reception) -> tuple[Reception, ...]:
    """Every reception of the item, best first; `own` (this invocation's, of the same frame) gives the
    PHYPayload and topic prefix the compact form leaves out."""
    receptions = tuple(
        unpack(k, v, phy_payload=own.phy_payload, topic_prefix=own.topic_prefix)
        for k, v in _receptions(item).items()
        if v
    )
    return tuple(sorted(receptions, key=lambda r: (-r.snr, -r.rssi)))


def _keys(key: str) -> Any:
    return UplinkCollection._serialize_keys(key)[0]


def _late(
    key: str,
    reception: Reception,
    *,
    window_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    attempt: int,
) -> Outcome:
    """A copy after the claim: another gateway's slow copy, or the same gateway hearing the frame again
    (then it is collected as the next attempt)."""
    item = UplinkCollection._get_connection().get_item(_keys(key), consistent_read=True).get("Item")
    if item is None:
        return Outcome("late")
    if item.get("claimed_by", {}).get("S") == reception.key:  # the claimer's retry: resume its frame
        return Outcome(
            "process", _stored(item, reception), deduplication_id(key, reception), attempt, resumed=True
        )
    stored = _receptions(item)
    gateway = f"{reception.gateway_id}:"
    data_uplink = reception.phy_payload[0] >> 5 in DATA_UPLINKS  # a JoinRequest again is a DevNonce replay
    if (
        data_uplink
        and attempt < MAX_ATTEMPTS
        and any(k.startswith(gateway) and k != reception.key for k in stored)
    ):
        return collect(reception, window_s=window_s, clock=clock, sleep=sleep, attempt=attempt + 1)
    return Outcome("late")


def collect(
    reception: Reception,
    *,
    window_s: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    attempt: int = 0,
) -> Outcome:
    """Add this reception; return `process` with every reception to exactly one invocation."""
    key = collection_key(reception, attempt)
    now = clock()
    table = UplinkCollection._get_connection()
    created_at, expires_at = UplinkCollection.created_at, UplinkCollection.expires_at
    try:
        answer = table.update_item(
            _keys(key),
            actions=[
                Path(UnicodeAttribute(attr_name=RECEPTION_PREFIX + reception.key)).set(pack(reception)),
                created_at.set(created_at | int(now * 1000)),
                expires_at.set(expires_at | datetime.fromtimestamp(now + TTL_S, UTC)),
            ],
            condition=UplinkCollection.claimed_by.does_not_exist(),
            return_values="ALL_OLD",
        )
    except UpdateError as error:
        if not _conditional_failure(error):
            raise
        return _late(key, reception, window_s=window_s, clock=clock, sleep=sleep, attempt=attempt)
    old = answer.get("Attributes")
    if old is None:  # this reception created the item: the creator
        sleep(window_s)
    else:  # without created_at: moto applies an update in two steps, another copy is creating the item
        created_ms = int(old.get("created_at", {}).get("N", now * 1000))
        if now * 1000 - created_ms < TAKEOVER_WINDOWS * window_s * 1000:
            return Outcome("duplicate")
    try:
        claimed = table.update_item(
            _keys(key),
            actions=[UplinkCollection.claimed_by.set(reception.key)],
            condition=UplinkCollection.claimed_by.does_not_exist(),
            return_values="ALL_NEW",
        )
    except UpdateError as error:
        if not _conditional_failure(error):
            raise
        return Outcome("duplicate")
    return Outcome(
        "process",
        _stored(claimed.get("Attributes", {}), reception),
        deduplication_id(key, reception),
        attempt,
    )
