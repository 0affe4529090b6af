"""The tables of the frame logs and metrics (functions/shared/frame_log.py says how they are used): the
network server writes them, the API reads them and sets the watch flag."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.shared.tables import SharedClientModel, table_meta


class FrameLogItem(SharedClientModel):
    """One frame (or TX acknowledgement, or rejected frame) of a device or gateway, recorded while
    someone watches; `frame_id` is time-ordered so the newest are read first."""

    Meta = table_meta("FRAME_LOG_TABLE", "loraless-frame-log")
    subject = UnicodeAttribute(hash_key=True)
    frame_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # uplink, downlink, tx_ack, rejected
    body = JSONAttribute(default=dict)
    expires_at = TTLAttribute()


class MetricsBucket(SharedClientModel):
    """A subject's counters of one hour. Only the keys, the watch flag and the TTL are declared: the
    counters are top-level attributes named by what they count (see `add`)."""

    Meta = table_meta("METRICS_TABLE", "loraless-metrics")
    subject = UnicodeAttribute(hash_key=True)
    hour = NumberAttribute(range_key=True)  # epoch seconds at the start of the hour
    watch_until = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


FRAME_LOG_TABLES: tuple[type[Model], ...] = (FrameLogItem, MetricsBucket)
