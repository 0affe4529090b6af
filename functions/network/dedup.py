"""De-duplication of one frame heard by several gateways, for Lambdas that each see one reception.

State machine of an `UplinkCollection` item (key = SHA-256 of region prefix and PHYPayload):

1. The first reception creates the item (conditional put); its invocation is the *creator*.
2. Later receptions add themselves to the item's map, keyed by gateway and uplink id (so a retried
   invocation adds nothing twice), on condition that nobody has claimed the item yet; if it has been
   claimed they are *late*: counted and dropped; unless the same gateway already gave a reception of
   the frame under another uplink id: then the device sent it again (NbTrans, or a lost ACK), and the
   copies of that transmission are collected as the frame's next *attempt* (the same steps, key
   suffixed `#n`), processed once as a *retransmission* (the pipeline's counter check reports it).
3. The creator waits out the window, then *claims* the item (conditional update), reading every
   reception at once; only one claim can succeed, so the frame is processed exactly once.
4. If the creator dies before claiming (its retry or any later copy notices an unclaimed item older than
   three windows), that invocation claims it instead, so nothing is lost.
Items expire through TTL after a minute.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from functions.network.models import UplinkCollection
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


def collection_key(reception: Reception, attempt: int = 0) -> str:
    digest = hashlib.sha256(reception.topic_prefix.encode() + b"|" + reception.phy_payload).hexdigest()
    return f"{digest}#{attempt}" if attempt else digest


def _conditional_failure(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


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
    try:
        item = UplinkCollection.get(key, consistent_read=True)
    except DoesNotExist:
        return Outcome("late")
    stored = item.receptions.as_dict() if item.receptions is not None else {}  # type: ignore[no-untyped-call, unused-ignore]
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
    value = json.dumps(reception.to_dict())
    try:
        UplinkCollection(
            key,
            receptions={reception.key: value},
            created_at=int(now * 1000),
            expires_at=datetime.fromtimestamp(now + TTL_S, UTC),
        ).save(condition=UplinkCollection.collection_key.does_not_exist())
        creator = True
    except PutError as error:
        if not _conditional_failure(error):
            raise
        creator = False
    if not creator:
        try:
            UplinkCollection(key).update(
                actions=[UplinkCollection.receptions[reception.key].set(value)],  # type: ignore[index, unused-ignore]
                condition=UplinkCollection.claimed_by.does_not_exist(),
            )
        except UpdateError as error:
            if not _conditional_failure(error):
                raise
            return _late(key, reception, window_s=window_s, clock=clock, sleep=sleep, attempt=attempt)
        try:
            item = UplinkCollection.get(key, consistent_read=True)
        except DoesNotExist:
            return Outcome("duplicate")
        if now * 1000 - item.created_at < TAKEOVER_WINDOWS * window_s * 1000:
            return Outcome("duplicate")
    else:
        sleep(window_s)
    token = str(uuid.uuid4())
    item = UplinkCollection(key)
    try:
        item.update(
            actions=[UplinkCollection.claimed_by.set(token)],
            condition=UplinkCollection.claimed_by.does_not_exist(),
        )
    except UpdateError as error:
        if not _conditional_failure(error):
            raise
        return Outcome("duplicate")
    stored = item.receptions.as_dict() if item.receptions is not None else {}  # type: ignore[no-untyped-call, unused-ignore]
    receptions = tuple(Reception.from_dict(json.loads(v)) for v in stored.values())
    ordered = tuple(sorted(receptions, key=lambda r: (-r.snr, -r.rssi)))
    return Outcome("process", ordered, token, retransmission=attempt)
