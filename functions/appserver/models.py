"""The application server's tables: tenants and their members and keys, applications, device profiles,
devices with the join server's state, the downlink queue and the event log. Only the application
server writes them; the network server reaches them through `functions/shared/interface.py`
(`ApplicationServer`). Keys are stored sealed (`functions/shared/envelope.py`), secrets hashed.
"""

from __future__ import annotations

import time

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.shared.station_credentials import StationCredentials
from functions.shared.tables import OrganizationIndex, SharedClientModel, table_meta


class ApplicationIndex(GlobalSecondaryIndex["Device"]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    """An application's devices, for listing."""

    class Meta:
        index_name = "application"
        projection = AllProjection()

    application_id = UnicodeAttribute(hash_key=True)


class Device(SharedClientModel):
    """A device as provisioned (application server) and its join-server state: sealed root keys, the
    DevNonces it used (1.0: never again; 1.1: strictly increasing), the JoinNonce counter, and the
    AppSKey of its current session (sealed) for payload decryption."""

    Meta = table_meta("DEVICES_TABLE", "loraless-devices")
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
    mac_settings = JSONAttribute(default=dict)  # the profile's MAC settings (mac_requests.FIELDS), copied
    flush_queue_on_activate = BooleanAttribute(default=False)  # the profile's, copied
    root_keys = BinaryAttribute(null=True, legacy_encoding=False)
    app_s_key = BinaryAttribute(null=True, legacy_encoding=False)
    dev_nonces = NumberSetAttribute(null=True)
    last_dev_nonce = NumberAttribute(null=True)
    join_nonce = NumberAttribute(default=0)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class DeviceQueueItem(SharedClientModel):
    """An application downlink waiting for its device (class A: for the next uplink). The payload is
    sealed until the network server encrypts it with the AppSKey for the frame counter it sends it with,
    as ChirpStack v4 does with the keys of one deployment. `f_cnt` is set once sent (confirmed ones wait
    for the device's ACK)."""

    Meta = table_meta("DEVICE_QUEUE_TABLE", "loraless-device-queue")
    dev_eui = UnicodeAttribute(hash_key=True)
    item_id = UnicodeAttribute(range_key=True)  # time-ordered: the queue is read in order
    f_port = NumberAttribute()
    payload = BinaryAttribute(legacy_encoding=False)
    confirmed = BooleanAttribute(default=False)
    f_cnt = NumberAttribute(null=True)
    sent_at = NumberAttribute(null=True)  # epoch seconds it went out (class C answer timeout)
    expires_at = TTLAttribute(null=True)


class Organization(SharedClientModel):
    """A tenant: everything else (applications, profiles, gateways, keys, members) belongs to one."""

    Meta = table_meta("ORGANIZATIONS_TABLE", "loraless-organizations")
    org_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    name_lower = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    created_at = NumberAttribute(default=lambda: int(time.time()))


class EmailIndex(GlobalSecondaryIndex["User"]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    class Meta:
        index_name = "email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class User(SharedClientModel):
    """A person who logs in. The password is stored as a scrypt hash (functions/appserver/passwords.py);
    `email` is unique, guarded by a `Unique` item written in the same transaction."""

    Meta = table_meta("USERS_TABLE", "loraless-users")
    user_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    by_email = EmailIndex()
    password_hash = UnicodeAttribute()
    session_version = NumberAttribute(default=0)  # bumped on a password change: older login tokens end
    is_admin = BooleanAttribute(default=False)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class Unique(SharedClientModel):
    """Uniqueness guards (e.g. `email#ada@example.com`), written transactionally with what they guard."""

    Meta = table_meta("UNIQUE_TABLE", "loraless-unique")
    key = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()


class UserIndex(GlobalSecondaryIndex["Membership"]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    """A user's organizations."""

    class Meta:
        index_name = "user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute(range_key=True)


class Membership(SharedClientModel):
    """A user's role in one organization: admin, device_admin, gateway_admin or viewer."""

    Meta = table_meta("MEMBERSHIPS_TABLE", "loraless-memberships")
    org_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    by_user = UserIndex()
    role = UnicodeAttribute()
    email = UnicodeAttribute(default="")


class KeyOwnerIndex(GlobalSecondaryIndex["ApiKey"]):  # type: ignore[no-untyped-call]  # pynamodb leaves __init_subclass__ untyped
    """A user's personal API keys (sparse: organization keys have no user)."""

    class Meta:
        index_name = "user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)


class ApiKey(SharedClientModel):
    """An API key: `ll_<key_id>_<secret>` is shown once; only the secret's SHA-256 is kept. It belongs to
    an organization (acting as its admin, or viewer when read-only) or to a user (acting as that user)."""

    Meta = table_meta("API_KEYS_TABLE", "loraless-api-keys")
    key_id = UnicodeAttribute(hash_key=True)
    secret_sha256 = UnicodeAttribute()
    org_id = UnicodeAttribute(null=True)
    by_org = OrganizationIndex()
    user_id = UnicodeAttribute(null=True)
    by_user = KeyOwnerIndex()
    name = UnicodeAttribute(default="")
    read_only = BooleanAttribute(default=False)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class Application(SharedClientModel):
    """A group of devices of one organization with one integration setup. `http_integration` holds
    {url, headers, secret} where the secret is sealed (base64 of an envelope bound to the application)."""

    Meta = table_meta("APPLICATIONS_TABLE", "loraless-applications")
    application_id = UnicodeAttribute(hash_key=True)
    org_id = UnicodeAttribute()
    by_org = OrganizationIndex()
    name = UnicodeAttribute()
    name_lower = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    http_integration = JSONAttribute(default=dict)
    created_at = NumberAttribute(default=lambda: int(time.time()))


class DeviceProfile(SharedClientModel):
    """What a kind of device is: region, LoRaWAN version and RP revision, classes, ADR, RX windows, codec.
    Devices copy the fields the network server needs (functions/appserver/api/devices.py)."""

    Meta = table_meta("DEVICE_PROFILES_TABLE", "loraless-device-profiles")
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
    mac_settings = JSONAttribute(default=dict)  # functions/appserver/mac_settings.py MacSettings
    flush_queue_on_activate = BooleanAttribute(default=False)  # ChirpStack's: a (re)join empties the queue
    codec_kind = UnicodeAttribute(default="none")
    codec_script = UnicodeAttribute(default="")
    created_at = NumberAttribute(default=lambda: int(time.time()))


class EventLogItem(SharedClientModel):
    """The recent events of a device (`device#<dev_eui>`) or gateway (`gateway#<id>`) for debugging; the
    range key is time-ordered so the newest are read first, and items expire after a week."""

    Meta = table_meta("EVENT_LOG_TABLE", "loraless-event-log")
    subject = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    type = UnicodeAttribute()
    body = JSONAttribute(default=dict)
    expires_at = TTLAttribute()


APPLICATION_TABLES: tuple[type[Model], ...] = (
    StationCredentials,  # shared with the bridge (functions/shared/station_credentials.py)
    Device,
    DeviceQueueItem,
    Organization,
    User,
    Unique,
    Membership,
    ApiKey,
    Application,
    DeviceProfile,
    EventLogItem,
)
