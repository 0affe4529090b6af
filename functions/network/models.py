"""The network server's tables: sessions, de-duplication, gateways and downlinks handed to gateways.
Only the network server writes them; the application server reaches them through
`functions/shared/interface.py` (`NetworkServer`). Keys are stored sealed (`functions/shared/envelope.py`).
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.network import uplink_history
from functions.network.hour_counters import HourCountersAttribute
from functions.network.mac.state import MacState, MacStateAttribute
from functions.network.uplink_history import UplinkHistoryAttribute
from functions.shared.frame_tables import FRAME_LOG_TABLES
from functions.shared.tables import OrganizationIndex, SharedClientModel, table_meta


class DevAddrIndex(GlobalSecondaryIndex["DeviceSession"]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    """Several devices may share a DevAddr (1.1 §6.1.1): the MIC decides which session a frame is for."""

    class Meta:
        index_name = "dev_addr"
        projection = AllProjection()

    dev_addr = UnicodeAttribute(hash_key=True)


class CompactJSONAttribute(JSONAttribute):
    """JSON without the spaces `json.dumps` puts after separators (read the same either way)."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))


class DeviceSession(SharedClientModel):
    """The network server's view of an activated device: sealed network session keys, frame counters,
    radio parameters, ADR history and MAC-command state. `version` makes every save conditional, so two
    invocations can never both apply an uplink to the same session state.

    The item is written on every uplink and DynamoDB bills a write per started KB of it, names included:
    attributes are stored under short names (`attr_name`), a value equal to its default is not written (it
    reads back as the default), the ADR history is packed (`uplink_history.py`), JSON is compact and the
    keys sealed compactly (`session_keys.seal_network_keys`); `tests/unit/test_session_item_size.py` holds a
    realistic session under 1 KB. Items stored before under the long names read as they are
    (`_upgraded`) and are written in the new shape at their next save. `dev_eui`, `dev_addr` (the index's
    key) and `version` (the save condition) keep their names."""

    Meta = table_meta("DEVICE_SESSIONS_TABLE", "loraless-device-sessions")
    dev_eui = UnicodeAttribute(hash_key=True)
    dev_addr = UnicodeAttribute()
    by_dev_addr = DevAddrIndex()
    mac_version = UnicodeAttribute(attr_name="mv", default="1.0.3")
    region = UnicodeAttribute(attr_name="rg", default="EU868")
    net_keys = BinaryAttribute(attr_name="nk", legacy_encoding=False)
    last_seen_at = NumberAttribute(attr_name="ls", null=True)  # epoch s of the last accepted frame (API)
    f_cnt_up = NumberAttribute(attr_name="fu", default=0)  # the next FCntUp expected
    # Which of the 64 counters below f_cnt_up were accepted (bit i: f_cnt_up - 1 - i), so a frame overtaken
    # by a newer one is accepted once, late (functions/lorawan/fcnt.py, accept_f_cnt). Unset: all of them.
    f_cnt_up_seen = NumberAttribute(attr_name="fs", null=True)
    n_f_cnt_down = NumberAttribute(attr_name="nd", default=0)  # 1.1 network counter; 1.0 uses a_f_cnt_down
    a_f_cnt_down = NumberAttribute(attr_name="ad", default=0)
    dr = NumberAttribute(default=0)
    tx_power_index = NumberAttribute(attr_name="tp", default=0)
    nb_trans = NumberAttribute(attr_name="nt", default=1)
    rx1_delay = NumberAttribute(attr_name="r1", default=1)
    rx1_dr_offset = NumberAttribute(attr_name="ro", default=0)
    rx2_dr = NumberAttribute(attr_name="r2", default=0)
    rx2_frequency = NumberAttribute(attr_name="rf", default=0)
    adr = BooleanAttribute(default=True)
    uplink_history = UplinkHistoryAttribute(attr_name="uh", default=list)
    pending_mac = CompactJSONAttribute(attr_name="pm", default=dict)  # requests awaiting answers, by name
    mac_state = MacStateAttribute(attr_name="ms", default=MacState)  # typed MAC state, compact JSON
    device_class = UnicodeAttribute(attr_name="dc", default="A")
    last_gateway_id = UnicodeAttribute(attr_name="gw", null=True)
    last_topic_prefix = UnicodeAttribute(attr_name="gp", null=True)
    battery = NumberAttribute(attr_name="bt", null=True)
    margin = NumberAttribute(attr_name="mg", null=True)
    disabled = BooleanAttribute(attr_name="di", default=False)  # a disabled device's frames are dropped
    # The last uplink that read the device's queue found nothing in it, and nothing was added since: the
    # next uplink spares the queue query (`functions/network/queue_state.py`). False, the default (and what
    # sessions stored before read as), means "not known: query".
    queue_empty = BooleanAttribute(attr_name="qe", default=False)
    joined_at_ms = NumberAttribute(attr_name="jm", null=True)  # when its JoinRequest reached IoT Core
    # the deduplication id of the last frame applied: a retried invocation finds its frame applied
    last_deduplication_id = UnicodeAttribute(null=True, attr_name="dd")
    # This hour's counters of the device (uplinks, RSSI/SNR sums, data rate, frequency, downlinks), carried
    # by the save instead of a bucket update per uplink; the hour the last save closed, until its flush to
    # the bucket is sure (dropped at the next save): functions/network/uplink/hour.py
    hour_counters = HourCountersAttribute(attr_name="hc", null=True)
    closed_hour = HourCountersAttribute(attr_name="hx", null=True)
    # Someone reads the device's frames or events until then, epoch s (`service.watch_device`): its
    # uplinks' frames go to the frame log and their events to the event log meanwhile.
    watch_until = NumberAttribute(attr_name="wu", null=True)
    version = VersionAttribute()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        """The item as written: values equal to their attribute's default left out."""
        values = super().serialize(null_check=null_check)
        for name, attr in self.get_attributes().items():
            if attr.default is None or attr.is_hash_key or isinstance(attr, VersionAttribute):
                continue
            default = attr.default() if callable(attr.default) else attr.default
            if getattr(self, name) == default:
                values.pop(attr.attr_name, None)
        return values

    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> DeviceSession:
        return super().from_raw_data(_upgraded(data))

    def deserialize(self, attribute_values: dict[str, dict[str, Any]]) -> None:
        super().deserialize(_upgraded(attribute_values))


def _upgraded(item: dict[str, Any]) -> dict[str, Any]:
    """An item in the shape the model reads: attributes stored under their long names (sessions written
    before the short names) moved to the short ones, unless the short one is there too (an update since
    wrote it: it is newer); the ADR history packed from its list of maps."""
    if not _LONG_NAMES.keys() & item.keys():
        return item
    item = dict(item)
    for old, new in _LONG_NAMES.items():
        value = item.pop(old, None)
        if value is None or new in item:
            continue
        item[new] = uplink_history.from_legacy(value) if old == "uplink_history" else value
    return item


def carried_over(old: DeviceSession | None) -> dict[str, Any]:
    """What a session that replaces `old` (a join, an ABP activation) keeps of it: the hour's counters it
    had not flushed yet and its watch flag, so neither is lost with it."""
    if old is None:
        return {}
    names = ("hour_counters", "closed_hour", "watch_until")
    return {name: getattr(old, name) for name in names}


# {long name stored before: short name}, for `_upgraded`
_LONG_NAMES = {name: a.attr_name for name, a in DeviceSession.get_attributes().items() if a.attr_name != name}


class UplinkCollection(SharedClientModel):
    """De-duplication of one frame heard by several gateways (see functions/network/dedup.py): besides
    these, one attribute per reception (`rx:<gateway>:<uplink id>`), written and read by dedup.py."""

    Meta = table_meta("UPLINK_COLLECTIONS_TABLE", "loraless-uplink-collections")
    collection_key = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute()
    claimed_by = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class Gateway(SharedClientModel):
    """A gateway as the network server last heard it."""

    Meta = table_meta("GATEWAYS_TABLE", "loraless-gateways")
    gateway_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute(null=True)  # set when registered through the API; unset: heard, not owned
    by_org = OrganizationIndex()
    name = UnicodeAttribute(default="")
    name_lower = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    topic_prefix = UnicodeAttribute(default="eu868")
    last_seen_at = NumberAttribute(default=0)
    online = BooleanAttribute(default=False)
    bridge_id = UnicodeAttribute(null=True)  # the bridge process that serves it, whose last will revokes it
    latitude = NumberAttribute(null=True)
    longitude = NumberAttribute(null=True)
    altitude = NumberAttribute(null=True)
    stats = JSONAttribute(default=dict)
    # Someone reads the gateway's frames (the API's `/gateways/{id}/frames`) until then, epoch s: the uplink
    # function logs its frames meanwhile. Read with the registration (functions/network/gateway_registry.py).
    watch_until = NumberAttribute(null=True)


class PendingDownlink(SharedClientModel):
    """A downlink handed to a gateway, until its TX_ACK (or TTL) tells what happened."""

    Meta = table_meta("PENDING_DOWNLINKS_TABLE", "loraless-pending-downlinks")
    downlink_id = NumberAttribute(hash_key=True)
    dev_eui = UnicodeAttribute()
    gateway_id = UnicodeAttribute()
    kind = UnicodeAttribute(default="data")
    f_cnt = NumberAttribute(null=True)
    queue_item_id = UnicodeAttribute(null=True)  # the application downlink it carries, for txack events
    first_window = NumberAttribute(null=True)  # 2 when RX1 was missed and only the RX2 item went (None: 1)
    expires_at = TTLAttribute()


NETWORK_TABLES: tuple[type[Model], ...] = (
    DeviceSession,
    UplinkCollection,
    Gateway,
    PendingDownlink,
    *FRAME_LOG_TABLES,  # written by the network server; the API reads them and sets the watch flag
)
