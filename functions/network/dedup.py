"""De-duplication of one frame heard by several gateways, for Lambdas that each see one reception.

State machine of an `UplinkCollection` item (key = SHA-256 of region prefix and PHYPayload):

1. The first reception creates the item (conditional put); its invocation is the *creator*.
2. Later receptions add themselves to the item's map, keyed by gateway and uplink id (so a retried
   invocation adds nothing twice), on condition that nobody has claimed the item yet; if it has been
   claimed they are *late*: counted and dropped.
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


@dataclass(frozen=True)
class Outcome:
    status: Literal["process", "duplicate", "late"]
    receptions: tuple[Reception, ...] = ()
    deduplication_id: str = ""


def collection_key(reception: Reception) -> str:
    digest = hashlib.sha256(reception.topic_prefix.encode() + b"|" + reception.phy_payload).hexdigest()
    return digest


def _conditional_failure(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def collect(
    reception: Reception,
    *,
    window_s: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Add this reception; return `process` with every reception to exactly one invocation."""
    key = collection_key(reception)
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
            return Outcome("late")
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
    return Outcome("process", tuple(sorted(receptions, key=lambda r: (-r.snr, -r.rssi))), token)
