"""The bridge itself: Semtech UDP from gateways in, ChirpStack Gateway Bridge JSON over MQTT out, and
downlink commands back as PULL_RESP to the address each gateway pulls from.

Behind a load balancer a gateway's PUSH_DATA and PULL_DATA may reach different bridge processes. So a
process subscribes to a gateway's command topic only while that gateway pulls from it: the broker
delivers the downlink to exactly the process that can send it (and, for a moment after a gateway moves,
to both; the one without a fresh pull address drops it). Uplinks need no such affinity.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.bridge import convert, semtech
from functions.bridge.metrics import Metrics
from functions.bridge.radio_counts import RadioCounts
from functions.bridge.registry import Address, Registry

log = logging.getLogger("loraless.bridge")

TX_ACK_TIMEOUT_S = 5.0
RATE_LIMIT_PER_S = 500.0  # datagrams per source address; a gateway sends a few per second


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None: ...
    def subscribe(self, topic_filter: str) -> None: ...
    def unsubscribe(self, topic_filter: str) -> None: ...


@dataclass
class DownlinkInFlight:
    """A downlink handed to a gateway, item by item (RX1, then RX2 after an error), until its TX_ACK."""

    gateway_id: str
    downlink_id: int
    items: list[dict[str, Any]]
    index: int
    statuses: list[str]
    sent_at: float = field(default_factory=time.monotonic)


class _RateLimitedLog:
    """At most one line per reason every `interval_s`, with how many were suppressed."""

    def __init__(self, interval_s: float = 10.0) -> None:
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, reason: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(reason, -1e9) >= self.interval_s:
            suppressed = self._suppressed.pop(reason, 0)
            suffix = f" ({suppressed} more since the last report)" if suppressed else ""
            log.warning(message + suffix, *args)
            self._last[reason] = now
        else:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1


class Bridge(asyncio.DatagramProtocol):
    def __init__(
        self, *, topic_prefix: str, publisher: Publisher, metrics: Metrics, registry: Registry,
        skip_crc_check: bool = False, clock: Callable[[], float] = time.monotonic,
        rate_limit_per_s: float = RATE_LIMIT_PER_S,
    ) -> None:  # fmt: skip
        self.prefix = topic_prefix
        self.publisher = publisher
        self.metrics = metrics
        self.registry = registry
        self.skip_crc_check = skip_crc_check
        self.clock = clock
        self.rate_limit_per_s = rate_limit_per_s  # 0 turns the per-address limit off
        self.bridge_id = ""  # set by the app: the MQTT client id, which names this process's state topic
        self._announce_due = False
        self.other_gateways: Callable[[], list[str]] = (
            list  # gateways served on another side (Basics Station)
        )
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[tuple[str, int], DownlinkInFlight] = {}
        self.counts: dict[str, RadioCounts] = {}  # per gateway, since its last `stat`
        self._buckets: dict[str, tuple[float, float]] = {}
        self._log = _RateLimitedLog()

    # -- topics ------------------------------------------------------------------------------

    def topic(self, gateway_id: str, kind: str, name: str) -> str:
        return f"{self.prefix}/gateway/{gateway_id}/{kind}/{name}"

    def _publish_json(self, topic: str, message: dict[str, Any], *, retain: bool = False) -> None:
        self.publisher.publish(topic, json.dumps(message, separators=(",", ":")).encode(), retain=retain)

    # -- UDP ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def _allowed(self, host: str) -> bool:
        """A token bucket per source host: a flood from one address cannot starve other gateways."""
        if not self.rate_limit_per_s:
            return True
        now = self.clock()
        burst = 2 * self.rate_limit_per_s
        tokens, at = self._buckets.get(host, (burst, now))
        tokens = min(burst, tokens + (now - at) * self.rate_limit_per_s)
        if tokens < 1:
            self._buckets[host] = (tokens, now)
            return False
        self._buckets[host] = (tokens - 1, now)
        return True

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.metrics.inc("udp_datagrams_in")
        if not self._allowed(addr[0]):
            self.metrics.inc("drop_rate_limited")
            self._log.warning("rate_limited", "datagrams from %s over the rate limit are dropped", addr[0])
            return
        try:
            packet = semtech.parse_gateway_datagram(data)
        except semtech.SemtechError as exc:
            self.metrics.inc(f"drop_{exc.reason}")
            self._log.warning(exc.reason, "dropped a datagram from %s: %s: %s", addr, exc.reason, exc)
            return
        try:
            if isinstance(packet, semtech.PushData):
                self._push_data(packet, addr)
            elif isinstance(packet, semtech.PullData):
                self._pull_data(packet, addr)
            else:
                self._tx_ack(packet)
        except semtech.SemtechError as exc:
            self.metrics.inc(f"drop_{exc.reason}")
            self._log.warning(exc.reason, "dropped part of a datagram from %s: %s", packet.gateway_id, exc)

    def _send(self, data: bytes, addr: Address) -> None:
        if self.transport is not None:
            self.transport.sendto(data, addr)
            self.metrics.inc("udp_datagrams_out")

    @property
    def bridge_topic(self) -> str:
        return f"{self.prefix}/bridge/{self.bridge_id}/state/conn"

    def bridge_state(self, online: bool) -> dict[str, Any]:
        """This process's state and the gateways it serves: what its last will revokes."""
        udp = [g.gateway_id for g in self.registry.gateways.values() if g.online]
        gateways = sorted({*udp, *self.other_gateways()}) if online else []
        return {
            "bridgeId": self.bridge_id,
            "state": "ONLINE" if online else "OFFLINE",
            "gatewayIds": gateways,
        }

    def announce(self) -> None:
        """(Re)publish this bridge's state, retained: on connection and whenever its gateways change."""
        if self.bridge_id:
            self._publish_json(self.bridge_topic, self.bridge_state(True), retain=True)

    def request_announce(self) -> None:
        """The bridge's gateway list changed: republished by the next tick."""
        self._announce_due = True

    def _came_online(self, gateway_id: str) -> None:
        self._publish_json(
            self.topic(gateway_id, "state", "conn"), convert.connection_state(gateway_id, True), retain=True
        )
        log.info("gateway %s online", gateway_id)
        self._announce_due = True  # published by tick(), at most once a second however many arrive

    def _push_data(self, packet: semtech.PushData, addr: Address) -> None:
        self._send(semtech.push_ack(packet.version, packet.token), addr)
        self.metrics.inc("push_data")
        _, came_online = self.registry.heard(packet.gateway_id, packet.version)
        if came_online:
            self._came_online(packet.gateway_id)
        rxpks = packet.rxpk
        if len(rxpks) > semtech.MAX_RXPK_PER_DATAGRAM:
            dropped = len(rxpks) - semtech.MAX_RXPK_PER_DATAGRAM
            self.metrics.inc("drop_rxpk_over_limit", dropped)
            self._log.warning(
                "rxpk_over_limit", "gateway %s: %d rxpk in one datagram, %d dropped (at most %d)",
                packet.gateway_id, len(rxpks), dropped, semtech.MAX_RXPK_PER_DATAGRAM,
            )  # fmt: skip
            rxpks = rxpks[: semtech.MAX_RXPK_PER_DATAGRAM]
        for rxpk in rxpks:
            if rxpk.get("stat", 1) != 1 and not self.skip_crc_check:
                self.metrics.inc("drop_crc")
                continue
            try:
                frames = convert.uplink_frames(packet.gateway_id, rxpk)
            except convert.ConversionError as exc:
                self.metrics.inc(f"drop_{exc.reason}")
                self._log.warning(exc.reason, "gateway %s: rxpk dropped: %s", packet.gateway_id, exc)
                continue
            if rxpk.get("size") != len(base64.b64decode(frames[0]["phyPayload"])):
                # The data is what counts (ChirpStack's bridge does the same); some clients put the
                # length of the base64 text here (lora-mote-emulator does).
                self.metrics.inc("rxpk_size_mismatch")
            for frame in frames:
                self._publish_json(self.topic(packet.gateway_id, "event", "up"), frame)
                self.metrics.inc("uplinks")
            self._counts(packet.gateway_id).uplink(frames[0]["txInfo"])
        if packet.stat is not None:
            stats = convert.gateway_stats(packet.gateway_id, packet.stat)
            stats |= self._counts(packet.gateway_id).take()
            self._publish_json(self.topic(packet.gateway_id, "event", "stats"), stats)
            self.metrics.inc("stats")

    def _counts(self, gateway_id: str) -> RadioCounts:
        return self.counts.setdefault(gateway_id, RadioCounts())

    def _pull_data(self, packet: semtech.PullData, addr: Address) -> None:
        self._send(semtech.pull_ack(packet.version, packet.token), addr)
        self.metrics.inc("pull_data")
        _, new, came_online = self.registry.pulled(packet.gateway_id, packet.version, addr)
        if new:
            self.publisher.subscribe(self.topic(packet.gateway_id, "command", "+"))
            log.info("gateway %s pulls from %s:%d", packet.gateway_id, *addr)
        if came_online:
            self._came_online(packet.gateway_id)

    # -- downlinks ---------------------------------------------------------------------------

    def on_command(self, topic: str, payload: bytes) -> None:
        """An MQTT command for a gateway (called on the event loop)."""
        parts = topic.split("/")
        if len(parts) != 5 or parts[1] != "gateway" or parts[3] != "command":
            self.metrics.inc("drop_command_topic")
            return
        gateway_id, command = parts[2], parts[4]
        if command != "down":
            self.metrics.inc(f"command_{command}_ignored")
            self._log.warning(
                "command", "gateway %s: command %r is not supported over Semtech UDP", gateway_id, command
            )
            return
        try:
            frame = json.loads(payload)
            if not isinstance(frame, dict):
                raise semtech.InvalidJSON("DownlinkFrame must be an object")
            downlink_id, items = convert.downlink_items(frame)
        except (ValueError, semtech.SemtechError) as exc:
            self.metrics.inc("drop_downlink_invalid")
            self._log.warning(
                "downlink", "gateway %s: malformed downlink command dropped: %s", gateway_id, exc
            )
            return
        pending = DownlinkInFlight(gateway_id, downlink_id, items, 0, [])
        self._try_item(pending)

    def _try_item(self, pending: DownlinkInFlight) -> None:
        address = self.registry.pull_address(pending.gateway_id)
        item = pending.items[pending.index]
        if address is None:
            self.metrics.inc("downlink_no_pull_address")
            self._log.warning(
                "no_pull", "gateway %s has no fresh PULL_DATA here: downlink dropped", pending.gateway_id
            )
            self._finish(pending, "INTERNAL_ERROR")
            return
        try:
            txpk = convert.txpk(item)
        except convert.ConversionError as exc:
            self.metrics.inc("drop_downlink_invalid")
            self._log.warning(
                "downlink", "gateway %s: downlink item not convertible: %s", pending.gateway_id, exc
            )
            self._finish(pending, "INTERNAL_ERROR")
            return
        version = self.registry.gateways[pending.gateway_id].version
        token = secrets.randbits(16)
        self._send(semtech.pull_resp(version, token, txpk), address)
        self.metrics.inc("downlinks")
        self._counts(pending.gateway_id).downlink(item.get("txInfo", {}))
        if version < 2:
            self._finish(pending, "OK")
            return
        pending.sent_at = self.clock()
        self.pending[(pending.gateway_id, token)] = pending

    def _tx_ack(self, packet: semtech.TxAck) -> None:
        self.registry.heard(packet.gateway_id, packet.version)
        pending = self.pending.pop((packet.gateway_id, packet.token), None)
        if pending is None:
            self.metrics.inc("tx_ack_unknown_token")
            return
        status = convert.tx_ack_status(packet.error)
        self.metrics.inc(f"tx_ack_{status.lower()}")
        if status != "OK" and pending.index + 1 < len(pending.items):
            pending.statuses.append(status)  # e.g. TOO_LATE for RX1: try RX2, as ChirpStack's bridge does
            pending.index += 1
            self._try_item(pending)
            return
        self._finish(pending, status)

    def _finish(self, pending: DownlinkInFlight, status: str) -> None:
        statuses = [*pending.statuses, status]
        for tried in statuses:
            self._counts(pending.gateway_id).status(tried)
        statuses += ["IGNORED"] * (len(pending.items) - len(statuses))
        message = convert.downlink_tx_ack(pending.gateway_id, pending.downlink_id, statuses)
        self._publish_json(self.topic(pending.gateway_id, "event", "ack"), message)

    # -- housekeeping ------------------------------------------------------------------------

    def tick(self) -> None:
        """Expire pull addresses, mark silent gateways offline, time out unanswered PULL_RESPs."""
        unpulled, offline = self.registry.expire()
        for gateway_id in unpulled:
            self.publisher.unsubscribe(self.topic(gateway_id, "command", "+"))
        for gateway_id in offline:
            self.counts.pop(gateway_id, None)
            self._publish_json(
                self.topic(gateway_id, "state", "conn"),
                convert.connection_state(gateway_id, False),
                retain=True,
            )
            log.info("gateway %s offline (silent for %.0f s)", gateway_id, self.registry.offline_after_s)
        if offline or self._announce_due:
            self._announce_due = False
            self.announce()
        now = self.clock()
        for key, pending in list(self.pending.items()):
            if now - pending.sent_at > TX_ACK_TIMEOUT_S:
                del self.pending[key]
                self.metrics.inc("tx_ack_timeout")

    def shutdown(self) -> None:
        """Tell the broker every gateway of this process is offline, then that the bridge is."""
        for state in self.registry.gateways.values():
            if state.online:
                state.online = False
                self._publish_json(
                    self.topic(state.gateway_id, "state", "conn"),
                    convert.connection_state(state.gateway_id, False),
                    retain=True,
                )
        if self.bridge_id:
            self._publish_json(self.bridge_topic, self.bridge_state(False), retain=True)
