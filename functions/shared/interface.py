"""The interface between the network server and the application server (and its join server): the only
module both import.

Join: messages shaped like LoRaWAN Backend Interfaces 1.0 §6 (JoinReq / JoinAns), so a separate join
server could answer them. Events: what the network server tells the application server, one JSON object
per event (`type` = up, join, ack, txack, status, log); the FRMPayload stays encrypted with AppSKey.
Anyone can build their own application server on these.

Tables: each has one owner, the only server that writes it (`functions/network/models.py`,
`functions/appserver/models.py`). What one server needs of the other's tables it asks through the
other's offer below (`NetworkServer`, `ApplicationServer`), bound at first use by `network_server()`
and `application_server()` so neither server imports the other; a deployment that runs them apart would
put an invocation behind the same Protocol, as the join server already is.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from functions.lorawan.types import AES128Key
    from functions.network.models import Gateway as GatewayTable

PROTOCOL_VERSION = "1.0"


@dataclass(frozen=True)
class JoinReq:
    """Backend Interfaces JoinReq: the JoinRequest PHYPayload and what the network decided for the session."""

    sender_id: str  # NetID of the network server
    receiver_id: str  # JoinEUI
    transaction_id: int
    mac_version: str
    phy_payload: str  # hex
    dev_eui: str
    dev_addr: str
    dl_settings: int
    rx_delay: int
    cf_list: str | None = None  # hex
    message_type: str = "JoinReq"  # "RejoinReq" (same fields, Backend Interfaces §6.2) for RejoinRequests

    def to_dict(self) -> dict[str, Any]:
        return {
            "ProtocolVersion": PROTOCOL_VERSION,
            "SenderID": self.sender_id,
            "ReceiverID": self.receiver_id,
            "TransactionID": self.transaction_id,
            "MessageType": self.message_type,
            "MACVersion": self.mac_version,
            "PHYPayload": self.phy_payload,
            "DevEUI": self.dev_eui,
            "DevAddr": self.dev_addr,
            "DLSettings": f"{self.dl_settings:02x}",
            "RxDelay": self.rx_delay,
            "CFList": self.cf_list,
        }

    @classmethod
    def from_dict(cls, message: dict[str, Any]) -> JoinReq:
        if message.get("MessageType") not in ("JoinReq", "RejoinReq"):
            raise ValueError("not a JoinReq or RejoinReq")
        return cls(
            sender_id=str(message["SenderID"]),
            receiver_id=str(message["ReceiverID"]),
            transaction_id=int(message["TransactionID"]),
            mac_version=str(message["MACVersion"]),
            phy_payload=str(message["PHYPayload"]),
            dev_eui=str(message["DevEUI"]),
            dev_addr=str(message["DevAddr"]),
            dl_settings=int(str(message["DLSettings"]), 16),
            rx_delay=int(message["RxDelay"]),
            cf_list=message.get("CFList"),
            message_type=str(message["MessageType"]),
        )


@dataclass(frozen=True)
class JoinAns:
    """Backend Interfaces JoinAns. Keys travel as KeyEnvelopes without a KEK (`KEKLabel` empty): the
    invocation is private to the account (IAM) and encrypted in transit; a roaming deployment would add a
    KEK (functions.lorawan.keys.wrap_key) here."""

    transaction_id: int
    result_code: str  # "Success", "MICFailed", "UnknownDevEUI", "JoinReqFailed", ...
    description: str = ""
    phy_payload: str | None = None  # the encrypted JoinAccept, hex
    network_keys: dict[str, str] = field(default_factory=dict, repr=False)  # never in a repr or a log line
    lifetime_s: int = 0
    # The AppSKey (Backend Interfaces JoinAns `AppSKey`): the network server of this deployment encrypts
    # queued payloads with it, so it keeps it sealed in the session instead of reading the join server's
    # table (as ChirpStack v4 keeps it in the device session).
    app_s_key: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "ProtocolVersion": PROTOCOL_VERSION,
            "TransactionID": self.transaction_id,
            "MessageType": "JoinAns",
            "Result": {"ResultCode": self.result_code, "Description": self.description},
            "PHYPayload": self.phy_payload,
            "Lifetime": self.lifetime_s,
        }
        for name, value in self.network_keys.items():
            message[name] = {"KEKLabel": "", "AESKey": value}
        if self.app_s_key is not None:
            message["AppSKey"] = {"KEKLabel": "", "AESKey": self.app_s_key}
        return message

    @classmethod
    def from_dict(cls, message: dict[str, Any]) -> JoinAns:
        keys = {
            name: str(message[name]["AESKey"])
            for name in ("NwkSKey", "FNwkSIntKey", "SNwkSIntKey", "NwkSEncKey")
            if isinstance(message.get(name), dict)
        }
        result = message.get("Result") or {}
        return cls(
            transaction_id=int(message.get("TransactionID", 0)),
            result_code=str(result.get("ResultCode", "")),
            description=str(result.get("Description", "")),
            phy_payload=message.get("PHYPayload"),
            network_keys=keys,
            lifetime_s=int(message.get("Lifetime") or 0),
            app_s_key=str(message["AppSKey"]["AESKey"]) if isinstance(message.get("AppSKey"), dict) else None,
        )


@dataclass(frozen=True)
class NetworkEvent:
    """One event for the application server. `rx_info` are the gateways' receptions (ChirpStack gw JSON)."""

    type: str  # up, join, ack, txack, status, log
    dev_eui: str
    time: str
    dev_addr: str | None = None
    f_cnt: int | None = None
    f_port: int | None = None
    frm_payload: str | None = None  # hex, still encrypted with AppSKey
    confirmed: bool = False
    adr: bool = False
    dr: int | None = None
    rx_info: list[dict[str, Any]] = field(default_factory=list)
    tx_info: dict[str, Any] = field(default_factory=dict)
    deduplication_id: str | None = None
    # ack: acknowledged, fCntDown, queueItemId; txack: downlinkId, gatewayId, status (gw.TxAckStatus name),
    # fCntDown, queueItemId; status: battery (raw DevStatusAns byte), margin; log: level, code, description,
    # context
    details: dict[str, Any] = field(default_factory=dict)
    # Whether someone watches the device (the API reads its frames or events, functions/shared/frame_log.py):
    # only then does the application server keep the event in the device's event log. Data uplinks say
    # so (their session's `watch_until`); other events are always kept.
    watched: bool = True

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, [], {})}
        if self.watched:
            del out["watched"]  # the default: events of before the field read the same
        return out

    @classmethod
    def from_dict(cls, message: dict[str, Any]) -> NetworkEvent:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in message.items() if k in known})


# -- What each server offers the other ---------------------------------------------------------------


@dataclass(frozen=True)
class QueuedDownlink:
    """The head of a device's queue as the network server takes it: the payload in clear (it encrypts it
    with the AppSKey for the counter it sends it with); `f_cnt` is set once sent (confirmed: until ACK)."""

    item_id: str  # the queue's range key: time-ordered, ends with the queue item id
    f_port: int
    payload: bytes = field(repr=False)
    confirmed: bool
    f_cnt: int | None

    @property
    def queue_item_id(self) -> str:
        """The id applications know (ChirpStack's `queueItemId`, the DownlinkCommand's `id`)."""
        return queue_item_id(self.item_id)


def queue_item_id(item_id: str) -> str:
    return item_id.split("-", 1)[1] if "-" in item_id else item_id


@dataclass
class QueueHead:
    """The queue as one downlink opportunity finds it (`ApplicationServer.queue_head`)."""

    items: list[QueuedDownlink] = field(default_factory=list)  # up to two sendable items, in order
    acknowledged: QueuedDownlink | None = None  # the confirmed item this uplink's ACK acknowledges
    unacknowledged: list[QueuedDownlink] = field(default_factory=list)  # confirmed, never acknowledged
    expired: list[QueuedDownlink] = field(default_factory=list)  # dropped unsent (ChirpStack EXPIRED)
    waiting: QueuedDownlink | None = None  # a class C item sent and not yet answered: nothing goes now

    @property
    def f_pending(self) -> bool:
        """More than the first item waits (LoRaWAN 1.0.4 §4.3.1.6 FPending)."""
        return len(self.items) > 1


@dataclass(frozen=True)
class AbpActivation:
    """An ABP device's session as it was programmed (keys hex), with the radio settings of its profile."""

    dev_eui: str
    dev_addr: str
    mac_version: str
    region: str
    f_nwk_s_int_key: str = field(repr=False)
    s_nwk_s_int_key: str = field(repr=False)
    nwk_s_enc_key: str = field(repr=False)
    app_s_key: str = field(repr=False)
    f_cnt_up: int
    n_f_cnt_down: int
    a_f_cnt_down: int
    rx1_delay: int
    rx2_dr: int
    rx2_frequency: int
    adr: bool
    device_class: str
    disabled: bool
    mac_settings: dict[str, Any] = field(default_factory=dict)  # the profile's, for the network to converge


@dataclass
class HourCounters:
    """A subject's counters of one hour kept outside its bucket (a device's, in its session) until they are
    flushed to it; `token` names the flush, so the bucket takes it once (functions/shared/frame_log.py
    `flush`)."""

    hour: int  # epoch s at the start of the hour
    token: int = field(default_factory=lambda: secrets.randbits(32))
    counters: dict[str, float] = field(default_factory=dict)

    def add(self, counters: Mapping[str, float]) -> None:
        """Sums kept to hundredths (SNRs come in tenths or quarters of a dB), as the session packs them."""
        for name, value in counters.items():
            self.counters[name] = round(self.counters.get(name, 0) + value, 2)


@dataclass(frozen=True)
class SessionView:
    """What the API shows of a device's session."""

    dev_addr: str
    f_cnt_up: int
    dr: int
    battery: int | None
    margin: int | None
    last_seen_at: int | None = None  # epoch s of the last frame the network accepted (uplink or join)


class NetworkServer(Protocol):
    """The network server's offer (`functions/network/service.py`): its sessions, and its gateway table,
    whose registration attributes (`org_id`, name, description, location) the API writes."""

    Gateway: type[GatewayTable]

    def activate_abp(self, activation: AbpActivation) -> None:
        """Store (replace) the session an ABP device was programmed with."""

    def set_disabled(self, dev_eui: str, disabled: bool) -> None:
        """A disabled device's frames are dropped unread; no-op without a session."""

    def remove_session(self, dev_eui: str) -> None:
        """The device is deleted: its session goes; no-op without one."""

    def sessions(self, dev_euis: list[str]) -> dict[str, SessionView]:
        """The sessions of these devices that have one."""

    def validate_mac(self, desired: dict[str, Any], region: str) -> None:
        """Raises ValueError for MAC settings the network would refuse in the region."""

    def request_mac(self, dev_eui: str, desired: dict[str, Any]) -> bool:
        """Bring an activated device to these MAC settings at its next uplinks; False without a session."""

    def mac_view(self, dev_eui: str) -> dict[str, Any] | None:
        """Wanted, acknowledged, pending and refused MAC settings of the device; None without a session."""

    def watch_device(self, dev_eui: str, *, now: float, seconds: float) -> bool:
        """Log the device's frames and events for `seconds` from `now` (a flag on its session, which each
        uplink reads); a flag that still holds more than half of that is left as it is. False without a
        session."""

    def device_hours(self, dev_eui: str) -> list[HourCounters]:
        """The device's counters its session carries outside the hour buckets: this hour's, and the hour its
        last save closed until that flush is sure. None without a session."""


class ApplicationServer(Protocol):
    """The application server's offer to the uplink and downlink functions (`functions/appserver/service.py`):
    the queue and what the network needs of a provisioned device. The TX ack and gateway-events functions
    get narrower offers (`queue_requeue()`, `gateway_event_log()`), so they reach only their tables."""

    def queue_head(
        self, dev_eui: str, *, ack: bool | None, now: float | None = None, answer_after_s: float = 0.0
    ) -> QueueHead:
        """What earlier downlinks left resolved (acknowledged, given up, expired: removed, for the caller
        to report) and what can go now; `ack` is the uplink's ACK bit, None for class C; an item sent
        less than `answer_after_s` ago is not given up by an uplink without the ACK."""

    def mark_sent(self, dev_eui: str, item_id: str, f_cnt: int) -> bool:
        """A downlink goes out with `f_cnt`; it stays queued until the gateway's TX ack (confirmed: until
        the device's ACK). False: the item was marked already (another invocation sends it) or is gone."""

    def transmitted(self, dev_eui: str, queue_item_id: str) -> QueuedDownlink | None:
        """The gateway sent it: unconfirmed, it leaves the queue; confirmed, it waits for the ACK."""

    def not_transmitted(self, dev_eui: str, queue_item_id: str) -> bool:
        """The gateway did not send it: back to not sent, first in line."""

    def flush_queue(self, dev_eui: str) -> int:
        """Empty the device's queue; how many items went."""

    def mac_settings(self, dev_eui: str) -> dict[str, Any]:
        """The MAC settings of the device's profile (`mac_requests.FIELDS`), which a new session wants."""

    def flush_queue_on_activate(self, dev_eui: str) -> bool:
        """Whether the device's profile empties its queue when it (re)joins (ChirpStack's setting)."""

    def mac_version(self, dev_eui: str) -> str | None:
        """The LoRaWAN version the device was provisioned with; None for an unknown device."""

    def supports_class_c(self, dev_eui: str) -> bool | None:
        """Whether the device's profile declares class C; None for an unknown device."""

    def app_s_key(self, dev_eui: str) -> AES128Key | None:
        """The join server's AppSKey of the device: only for sessions stored before JoinAns carried it."""


class QueueRequeue(Protocol):
    """What the TX ack handler needs of the queue (`functions/appserver/requeue.py`)."""

    def transmitted(self, dev_eui: str, item_id: str) -> object:
        """The gateway sent the item: unconfirmed, it is done; confirmed, it waits for the ACK."""

    def not_transmitted(self, dev_eui: str, item_id: str) -> bool:
        """The gateway did not send the item: back to not sent, first in line."""

    def requeue(self, dev_eui: str, f_cnt: int) -> bool:
        """The confirmed downlink sent with `f_cnt` was not transmitted: back to not sent."""


class QueueNotice(Protocol):
    """What the queue's writers need of the network server (`functions/network/queue_state.py`), and
    nothing more: the API, the MQTT downlink and the TX ack functions reach the session table for it
    only, not its keys."""

    def queue_filled(self, dev_eui: str) -> None:
        """An item was written to the device's queue (or put back as not sent): its next uplink queries
        the queue, even if the session knew it empty. Call it after the item is written."""


class EventDelivery(Protocol):
    """What the uplink function needs to deliver its own events (`functions/appserver/delivery.py`)."""

    def deliver_event(self, event: NetworkEvent) -> None:
        """The event to the application: decrypted, decoded, published on its MQTT topic, handed to the
        application's webhook (`functions/appserver/integration.py`), in the caller's invocation."""


class GatewayEventLog(Protocol):
    """What the gateway-events handler needs: the event log (`functions/appserver/eventlog.py`)."""

    def record_gateway_event(self, gateway_id: str, kind: str, body: dict[str, Any]) -> None:
        """A line in the gateway's event log, which the API shows."""


def network_server() -> NetworkServer:
    from functions.network import service

    return service


def application_server() -> ApplicationServer:
    from functions.appserver import service

    return service


def event_delivery() -> EventDelivery:
    """Bound on the first event, so a cold uplink function sends its downlink before it loads the
    integration and the codecs."""
    from functions.appserver import delivery

    return delivery


def queue_requeue() -> QueueRequeue:
    from functions.appserver import requeue

    return requeue


def queue_notice() -> QueueNotice:
    from functions.network import queue_state

    return queue_state


def gateway_event_log() -> GatewayEventLog:
    from functions.appserver import eventlog

    return eventlog
