"""The network server's tables: sessions, de-duplication, gateways and downlinks handed to gateways.
Only the network server writes them; the application server reaches them through
`functions/shared/interface.py` (`NetworkServer`). Keys are stored sealed (`functions/shared/envelope.py`).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.network.mac.state import MacState, MacStateAttribute
from functions.shared.frame_tables import FRAME_LOG_TABLES
from functions.shared.tables import OrganizationIndex, table_meta


class DevAddrIndex(GlobalSecondaryIndex["DeviceSession"]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    """Several devices may share a DevAddr (1.1 §6.1.1): the MIC decides which session a frame is for."""

    class Meta:
        index_name = "dev_addr"
        projection = AllProjection()

    dev_addr = UnicodeAttribute(hash_key=True)


class UplinkRecordMap(MapAttribute[str, Any]):
    f_cnt = NumberAttribute()
    max_snr = NumberAttribute()
    tx_power_index = NumberAttribute()
    gateway_count = NumberAttribute()


class DeviceSession(Model):
    """The network server's view of an activated device: sealed network session keys, frame counters,
    radio parameters, ADR history and MAC-command state. `version` makes every save conditional, so two
    invocations can never both apply an uplink to the same session state."""

    Meta = table_meta("DEVICE_SESSIONS_TABLE", "loraless-device-sessions")
    dev_eui = UnicodeAttribute(hash_key=True)
    dev_addr = UnicodeAttribute()
    by_dev_addr = DevAddrIndex()
    mac_version = UnicodeAttribute(default="1.0.3")
    region = UnicodeAttribute(default="EU868")
    net_keys = BinaryAttribute(legacy_encoding=False)
    last_seen_at = NumberAttribute(null=True)  # epoch s of the last accepted frame: the API shows it
    f_cnt_up = NumberAttribute(default=0)  # the next FCntUp expected
    # Which of the 64 counters below f_cnt_up were accepted (bit i: f_cnt_up - 1 - i), so a frame overtaken
    # by a newer one is accepted once, late (functions/lorawan/fcnt.py, accept_f_cnt). Unset: all of them.
    f_cnt_up_seen = NumberAttribute(null=True)
    n_f_cnt_down = NumberAttribute(default=0)  # 1.1 network counter; 1.0 uses a_f_cnt_down alone
    a_f_cnt_down = NumberAttribute(default=0)
    dr = NumberAttribute(default=0)
    tx_power_index = NumberAttribute(default=0)
    nb_trans = NumberAttribute(default=1)
    rx1_delay = NumberAttribute(default=1)
    rx1_dr_offset = NumberAttribute(default=0)
    rx2_dr = NumberAttribute(default=0)
    rx2_frequency = NumberAttribute(default=0)
    adr = BooleanAttribute(default=True)
    uplink_history = ListAttribute(of=UplinkRecordMap, default=list)
    pending_mac = JSONAttribute(default=dict)  # requests sent, awaiting answers, by command name
    mac_state = MacStateAttribute(default=MacState)  # typed MAC state, JSON as it always was
    device_class = UnicodeAttribute(default="A")
    last_gateway_id = UnicodeAttribute(null=True)
    last_topic_prefix = UnicodeAttribute(null=True)
    battery = NumberAttribute(null=True)
    margin = NumberAttribute(null=True)
    disabled = BooleanAttribute(default=False)  # the device is disabled: its frames are dropped unread
    joined_at_ms = NumberAttribute(null=True)  # when the JoinRequest that made it reached IoT Core
    # the deduplication id of the last frame applied: a retried invocation finds its frame applied
    last_deduplication_id = UnicodeAttribute(null=True, attr_name="dd")
    version = VersionAttribute()


class UplinkCollection(Model):
    """De-duplication of one frame heard by several gateways (see functions/network/dedup.py): besides
    these, one attribute per reception (`rx:<gateway>:<uplink id>`), written and read by dedup.py."""

    Meta = table_meta("UPLINK_COLLECTIONS_TABLE", "loraless-uplink-collections")
    collection_key = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute()
    claimed_by = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class Gateway(Model):
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


class PendingDownlink(Model):
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
