"""Whether a device's queue is known empty (`DeviceSession.queue_empty`), so that a data uplink spares
its queue query (one DynamoDB Query, 0.5 RRU and 1-3 ms of CPU, for the most frequent case of all: a
device nobody sends anything to). The uplink that finds the queue empty sets it in its own session save
(`uplink/downlink.py`, `read_queue`); every path that adds to the queue, or puts an item back in it,
clears it here through `functions.shared.interface.queue_notice()`."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from functions.network.models import DeviceSession


def queue_filled(dev_eui: str) -> None:
    """The device's queue holds an item now: the next uplink queries it. Called AFTER the item is
    written, and the update bumps `version` whatever the flag was, in one UpdateItem without a read.

    Why this order, and why always the bump: an uplink may have read the session (flag unset), queried
    the queue just before the item was written, found it empty, and be about to save "known empty". Its
    save is conditional on the `version` it read: if this update landed first, that save fails and the
    uplink runs again from a fresh read (`handle_data`), which sees the flag cleared and queries; if the
    save landed first, this update clears the flag it wrote. Either way the item is not stranded. (A
    flag-only condition would miss the first case: the flag is not set yet when this update runs.) A
    session read stale through the DevAddr index fails its save the same way. No session: nothing to do,
    the device has no uplink yet and a new session starts as "query"."""
    session = DeviceSession(dev_eui)
    session.version = 0  # not read: `update` then only adds 1 to the stored version (no version condition)
    try:
        session.update(
            actions=[DeviceSession.queue_empty.remove()],
            condition=DeviceSession.dev_eui.exists(),
            add_version_condition=False,
        )
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
            raise
