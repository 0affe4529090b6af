"""The interface between the network server and the application server (and its join server).

Join: messages shaped like LoRaWAN Backend Interfaces 1.0 §6 (JoinReq / JoinAns), so a separate join
server could answer them. Events: what the network server tells the application server, one JSON object
per event (`type` = up, join, ack, txack, status, log); the FRMPayload stays encrypted with AppSKey,
which only the application side holds. Anyone can build their own application server on these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {})}

    @classmethod
    def from_dict(cls, message: dict[str, Any]) -> NetworkEvent:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in message.items() if k in known})
