"""THE storage layer: every DynamoDB table of Loraless as a PynamoDB model.

Each model's table name comes from the environment variable in its `Meta.table_env` (the CDK stack sets
it from the table it creates out of this very model, see infra/storage.py), so code and template cannot
disagree. Keys are stored sealed (functions/shared/envelope.py), never in clear.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.shared.settings import SETTINGS


def _meta(env: str, default: str) -> type:
    class Meta:
        table_env = env
        table_name = os.environ.get(env, default)
        region = SETTINGS.aws_region
        host = SETTINGS.dynamodb_endpoint
        billing_mode = "PAY_PER_REQUEST"

    return Meta


class OrganizationIndex(GlobalSecondaryIndex[Any]):
    """The items of one organization (tenant), for listing; sparse where `org_id` may be unset."""

    class Meta:
        index_name = "organization"
        projection = AllProjection()

    org_id = UnicodeAttribute(hash_key=True)


class ApplicationIndex(GlobalSecondaryIndex["Device"]):
    """An application's devices, for listing."""

    class Meta:
        index_name = "application"
        projection = AllProjection()

    application_id = UnicodeAttribute(hash_key=True)


class Device(Model):
    """A device as provisioned (application server) and its join-server state: sealed root keys, the
    DevNonces it used (1.0: never again; 1.1: strictly increasing), the JoinNonce counter, and the
    AppSKey of its current session (sealed) for payload decryption."""

    Meta = _meta("DEVICES_TABLE", "loraless-devices")
    dev_eui = UnicodeAttribute(hash_key=True)
    join_eui = UnicodeAttribute(default="0000000000000000")
    application_id = UnicodeAttribute(null=True)  # an index key: unset rather than empty
    by_application = ApplicationIndex()
    org_id = UnicodeAttribute(default="")  # the application's, copied so every check is one read
    device_profile_id = UnicodeAttribute(default="")
    name = UnicodeAttribute(default="")
    name_lower = UnicodeAttribute(default="")  # for case-insensitive filtering
    description = UnicodeAttribute(default="")
    last_seen_at = NumberAttribute(null=True)
    mac_version = UnicodeAttribute(default="1.0.3")
    region = UnicodeAttribute(default="EU868")
    supports_class_c = BooleanAttribute(default=False)
    enabled = BooleanAttribute(default=True)
    root_keys = BinaryAttribute(null=True, legacy_encoding=False)
    app_s_key = BinaryAttribute(null=True, legacy_encoding=False)
    dev_nonces = NumberSetAttribute(null=True)
    last_dev_nonce = NumberAttribute(null=True)
    join_nonce = NumberAttribute(default=0)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class DevAddrIndex(GlobalSecondaryIndex["DeviceSession"]):
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

    Meta = _meta("DEVICE_SESSIONS_TABLE", "loraless-device-sessions")
    dev_eui = UnicodeAttribute(hash_key=True)
    dev_addr = UnicodeAttribute()
    by_dev_addr = DevAddrIndex()
    mac_version = UnicodeAttribute(default="1.0.3")
    region = UnicodeAttribute(default="EU868")
    net_keys = BinaryAttribute(legacy_encoding=False)
    f_cnt_up = NumberAttribute(default=0)  # the next FCntUp expected
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
    mac_state = JSONAttribute(default=dict)  # network-server MAC bookkeeping (schedules, retries, rejoin)
    device_class = UnicodeAttribute(default="A")
    last_gateway_id = UnicodeAttribute(null=True)
    last_topic_prefix = UnicodeAttribute(null=True)
    battery = NumberAttribute(null=True)
    margin = NumberAttribute(null=True)
    disabled = BooleanAttribute(default=False)  # the device is disabled: its frames are dropped unread
    joined_at_ms = NumberAttribute(null=True)  # when the JoinRequest that made it reached IoT Core
    version = VersionAttribute()


class UplinkCollection(Model):
    """De-duplication of one frame heard by several gateways (see functions/network/dedup.py)."""

    Meta = _meta("UPLINK_COLLECTIONS_TABLE", "loraless-uplink-collections")
    collection_key = UnicodeAttribute(hash_key=True)
    receptions = MapAttribute[str, Any](default=dict)  # type: ignore[misc]
    created_at = NumberAttribute()
    claimed_by = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class Gateway(Model):
    """A gateway as the network server last heard it."""

    Meta = _meta("GATEWAYS_TABLE", "loraless-gateways")
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


class PendingDownlink(Model):
    """A downlink handed to a gateway, until its TX_ACK (or TTL) tells what happened."""

    Meta = _meta("PENDING_DOWNLINKS_TABLE", "loraless-pending-downlinks")
    downlink_id = NumberAttribute(hash_key=True)
    dev_eui = UnicodeAttribute()
    gateway_id = UnicodeAttribute()
    kind = UnicodeAttribute(default="data")
    f_cnt = NumberAttribute(null=True)
    expires_at = TTLAttribute()


class DeviceQueueItem(Model):
    """An application downlink waiting for its device (class A: for the next uplink). The payload is
    sealed until the network server encrypts it with the AppSKey for the frame counter it sends it with,
    as ChirpStack v4 does with the keys of one deployment. `f_cnt` is set once sent (confirmed ones wait
    for the device's ACK)."""

    Meta = _meta("DEVICE_QUEUE_TABLE", "loraless-device-queue")
    dev_eui = UnicodeAttribute(hash_key=True)
    item_id = UnicodeAttribute(range_key=True)  # time-ordered: the queue is read in order
    f_port = NumberAttribute()
    payload = BinaryAttribute(legacy_encoding=False)
    confirmed = BooleanAttribute(default=False)
    f_cnt = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class Organization(Model):
    """A tenant: everything else (applications, profiles, gateways, keys, members) belongs to one."""

    Meta = _meta("ORGANIZATIONS_TABLE", "loraless-organizations")
    org_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    name_lower = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    created_at = NumberAttribute(default=lambda: int(time.time()))


class EmailIndex(GlobalSecondaryIndex["User"]):
    class Meta:
        index_name = "email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class User(Model):
    """A person who logs in. The password is stored as a scrypt hash (functions/appserver/passwords.py);
    `email` is unique, guarded by a `Unique` item written in the same transaction."""

    Meta = _meta("USERS_TABLE", "loraless-users")
    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    by_email = EmailIndex()
    password_hash = UnicodeAttribute()
    is_admin = BooleanAttribute(default=False)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class Unique(Model):
    """Uniqueness guards (e.g. `email#ada@example.com`), written transactionally with what they guard."""

    Meta = _meta("UNIQUE_TABLE", "loraless-unique")
    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()


class UserIndex(GlobalSecondaryIndex["Membership"]):
    """A user's organizations."""

    class Meta:
        index_name = "user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute(range_key=True)


class Membership(Model):
    """A user's role in one organization: admin, device_admin, gateway_admin or viewer."""

    Meta = _meta("MEMBERSHIPS_TABLE", "loraless-memberships")
    org_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    by_user = UserIndex()
    role = UnicodeAttribute()
    email = UnicodeAttribute(default="")


class KeyOwnerIndex(GlobalSecondaryIndex["ApiKey"]):
    """A user's personal API keys (sparse: organization keys have no user)."""

    class Meta:
        index_name = "user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)


class ApiKey(Model):
    """An API key: `ll_<key_id>_<secret>` is shown once; only the secret's SHA-256 is kept. It belongs to
    an organization (acting as its admin, or viewer when read-only) or to a user (acting as that user)."""

    Meta = _meta("API_KEYS_TABLE", "loraless-api-keys")
    key_id = UnicodeAttribute(hash_key=True)
    secret_sha256 = UnicodeAttribute()
    org_id = UnicodeAttribute(null=True)
    by_org = OrganizationIndex()
    user_id = UnicodeAttribute(null=True)
    by_user = KeyOwnerIndex()
    name = UnicodeAttribute(default="")
    read_only = BooleanAttribute(default=False)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class Application(Model):
    """A group of devices of one organization with one integration setup. `http_integration` holds
    {url, headers, secret} where the secret is sealed (base64 of an envelope bound to the application)."""

    Meta = _meta("APPLICATIONS_TABLE", "loraless-applications")
    application_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    by_org = OrganizationIndex()
    name = UnicodeAttribute()
    name_lower = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    http_integration = JSONAttribute(default=dict)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class DeviceProfile(Model):
    """What a kind of device is: region, LoRaWAN version and RP revision, classes, ADR, RX windows, codec.
    Devices copy the fields the network server needs (functions/appserver/api/devices.py)."""

    Meta = _meta("DEVICE_PROFILES_TABLE", "loraless-device-profiles")
    profile_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    by_org = OrganizationIndex()
    name = UnicodeAttribute()
    name_lower = UnicodeAttribute(default="")
    region = UnicodeAttribute(default="EU868")
    mac_version = UnicodeAttribute(default="1.0.3")
    reg_params_revision = UnicodeAttribute(default="RP002-1.0.3")
    supports_otaa = BooleanAttribute(default=True)
    supports_class_b = BooleanAttribute(default=False)
    supports_class_c = BooleanAttribute(default=False)
    adr_enabled = BooleanAttribute(default=True)
    rx1_delay = NumberAttribute(null=True)
    rx2_dr = NumberAttribute(null=True)
    rx2_frequency = NumberAttribute(null=True)
    uplink_interval_s = NumberAttribute(default=3600)
    codec_kind = UnicodeAttribute(default="none")
    codec_script = UnicodeAttribute(default="")
    created_at = NumberAttribute(default=lambda: int(time.time()))


class EventLogItem(Model):
    """The recent events of a device (`device#<dev_eui>`) or gateway (`gateway#<id>`) for debugging; the
    range key is time-ordered so the newest are read first, and items expire after a week."""

    Meta = _meta("EVENT_LOG_TABLE", "loraless-event-log")
    subject = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute()
    body = JSONAttribute(default=dict)
    expires_at = TTLAttribute()


class GatewayStatsBucket(Model):
    """A gateway's packet counters per hour (from its `stats` messages), for charts over time."""

    Meta = _meta("GATEWAY_STATS_TABLE", "loraless-gateway-stats")
    gateway_id = UnicodeAttribute(hash_key=True)
    hour = NumberAttribute(range_key=True)  # epoch seconds at the start of the hour
    rx_received = NumberAttribute(default=0)
    rx_ok = NumberAttribute(default=0)
    tx_received = NumberAttribute(default=0)
    tx_emitted = NumberAttribute(default=0)
    expires_at = TTLAttribute()


from functions.shared.frame_log import FrameLogItem, MetricsBucket  # noqa: E402  (it uses _meta above)

FRAME_LOG_MODELS: tuple[type[Model], ...] = (FrameLogItem, MetricsBucket)
ALL_MODELS: tuple[type[Model], ...] = (
    Device,
    DeviceSession,
    UplinkCollection,
    Gateway,
    PendingDownlink,
    DeviceQueueItem,
    Organization,
    User,
    Unique,
    Membership,
    ApiKey,
    Application,
    DeviceProfile,
    EventLogItem,
    GatewayStatsBucket,
    *FRAME_LOG_MODELS,
)


def table_env(model: type[Model]) -> str:
    """The environment variable that names `model`'s table."""
    return str(model.Meta.table_env)  # type: ignore[attr-defined]
