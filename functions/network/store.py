"""The network server's data access: its sessions (keys sealed) and the downlinks handed to gateways.
What it needs of the application server's tables (a device's LoRaWAN version, an old session's AppSKey)
it asks through `functions.shared.interface.application_server()`.

Every write to a network table goes through a function here or through the model's conditional save in
the pipeline; the application server reaches these tables only through `functions/network/service.py`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute
from pynamodb.exceptions import PutError
from pynamodb.expressions.operand import Path

from functions.lorawan.types import AES128Key, DevAddr
from functions.network.models import DeviceSession, PendingDownlink
from functions.network.session_keys import seal_network_keys
from functions.shared.interface import JoinAns, application_server

PENDING_DOWNLINK_TTL = timedelta(minutes=10)


class StaleJoin(Exception):
    """A JoinRequest older than the one that made the device's current session: under a backlog the
    platform can run an older join after a newer one whose JoinAccept the device already took, and
    letting it replace the session would cut the device off (it found by the local-cloud load bench)."""


def sessions_of(dev_addr: DevAddr) -> Any:
    """The sessions sharing a DevAddr (GSI `dev_addr`): several devices may (1.1 §6.1.1)."""
    return DeviceSession.by_dev_addr.query(str(dev_addr))


def session_of(dev_eui: str, *, consistent: bool = False) -> DeviceSession | None:
    try:
        return DeviceSession.get(dev_eui, consistent_read=consistent)
    except DeviceSession.DoesNotExist:
        return None


def store_session(
    answer: JoinAns,
    *,
    dev_eui: str,
    fields: dict[str, Any],
    joined_at_ms: int,
    newer_only: bool = False,
) -> DeviceSession:
    """A new session from the join server's keys (sealed, the AppSKey with them when the JoinAns carries
    it) and `fields`; it replaces the device's previous one. With `newer_only`, only a session made from
    an earlier (or no) JoinRequest: see `StaleJoin`."""
    keys = answer.network_keys
    nwk = keys.get("NwkSKey")
    values = {
        "f_nwk_s_int_key": keys.get("FNwkSIntKey", nwk or ""),
        "s_nwk_s_int_key": keys.get("SNwkSIntKey", nwk or ""),
        "nwk_s_enc_key": keys.get("NwkSEncKey", nwk or ""),
    }
    if answer.app_s_key is not None:
        values["app_s_key"] = answer.app_s_key
    sealed = seal_network_keys(values, dev_eui=dev_eui)
    session = DeviceSession(
        dev_eui, net_keys=sealed, joined_at_ms=joined_at_ms, last_seen_at=int(time.time()), **fields
    )
    condition = None
    if newer_only:  # on the stored item's `joined_at_ms`, under its short name or the long one of old items
        joined, legacy = DeviceSession.joined_at_ms, Path(NumberAttribute(attr_name="joined_at_ms"))
        condition = (
            (joined.does_not_exist() & legacy.does_not_exist())
            | (joined <= joined_at_ms)
            | (legacy <= joined_at_ms)
        )
    try:
        session.save(condition=condition, add_version_condition=False)  # a join replaces the session
    except PutError as exc:
        if newer_only and "ConditionalCheckFailed" in str(getattr(exc, "cause_response_code", "")):
            raise StaleJoin(dev_eui) from exc
        raise
    return session


def record_downlink(
    downlink_id: int, *, dev_eui: str, gateway_id: str, kind: str, f_cnt: int | None,
    queue_item_id: str | None = None, first_window: int = 1,
) -> None:  # fmt: skip
    """A downlink handed to a gateway, so its TX ack finds the device and the queue item it carries
    (`transmissions.py`), and which window its first item is for."""
    PendingDownlink(
        downlink_id,
        dev_eui=dev_eui,
        gateway_id=gateway_id,
        kind=kind,
        f_cnt=f_cnt,
        queue_item_id=queue_item_id,
        first_window=first_window if first_window != 1 else None,
        expires_at=datetime.now(UTC) + PENDING_DOWNLINK_TTL,
    ).save()


def app_s_key_of(session: DeviceSession, keys: dict[str, AES128Key]) -> AES128Key | None:
    """The AppSKey to encrypt a queued payload with at send time (one deployment shares device keys, as
    ChirpStack v4 does): sealed in the session since the JoinAns (or the ABP activation) carried it; for
    sessions stored before, the application server's copy."""
    return keys.get("app_s_key") or application_server().app_s_key(session.dev_eui)
