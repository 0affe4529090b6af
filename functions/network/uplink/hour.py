"""The device's counters of the current hour, carried by the session write every accepted data uplink
makes anyway (issue 16): no hour-bucket update per uplink. An uplink in a later hour closes the session's
hour; the save that closes it keeps it as `closed_hour`, and it goes to its bucket right after that save
(`flush_closed_hour`, one UpdateItem an hour), so a device sending every 10 minutes makes one bucket write
an hour instead of six.

Exactly once: the closed hour is frozen by the conditional save that closed it (no invocation adds to it
afterwards: one that read the session before loses the save and re-runs on the new hour, one with an
earlier clock counts into the session's hour), and the bucket takes its flush once, by its token
(`frame_log.flush`). A retried invocation that died between that save and the flush finds its frame
applied and flushes it then (`data.RESUMED_STEPS`); the next save drops it. The API adds the hours the
session carries to the buckets' (`service.device_hours`), unless a bucket already took them."""

from __future__ import annotations

from functions.network.frame_recording import device_counters
from functions.network.observability import logger
from functions.network.uplink.context import DataUplink
from functions.shared import frame_log
from functions.shared.frame_log import device_subject, hour_of
from functions.shared.interface import HourCounters


def count_in_session(up: DataUplink) -> None:
    """Before `save_session`: the uplink's counters (and its downlink's, `build_frame` made one) into the
    session's hour, which a later hour closes first; a watch flag gone by is dropped (bytes per save)."""
    session = up.session
    current = session.hour_counters
    hour = max(hour_of(up.now), current.hour if current is not None else 0)
    session.closed_hour = None  # flushed after the save that closed it
    if current is None or current.hour != hour:
        session.closed_hour = current
        current = HourCounters(hour)
    current.add(device_counters(up.frame.receptions, downlink=up.built is not None))
    session.hour_counters = current
    if session.watch_until is not None and float(session.watch_until) <= up.now:
        session.watch_until = None


def flush_closed_hour(up: DataUplink) -> None:
    """After the save (and the downlink: never before RX1): the hour the save closed, to its bucket."""
    closed = up.session.closed_hour
    if closed is not None and not frame_log.flush(device_subject(up.session.dev_eui), closed):
        logger.info("closed hour already flushed", extra={"hour": closed.hour})


def watched(up: DataUplink) -> bool:
    """The session's flag, set through the API (`service.watch_device`)."""
    return up.session.watch_until is not None and float(up.session.watch_until) > up.now
