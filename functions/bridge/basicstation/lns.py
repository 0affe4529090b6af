"""The LNS side of Basics Station on one asyncio loop: discovery (`/router-info`) and one WebSocket per
gateway (`/router-<eui>`), authenticated by the gateway's token (`Authorization` header). Messages map
onto the same ChirpStack gateway topics as the UDP side (Basics Station docs, The LNS Protocol).

A gateway that connects again replaces its older connection (Station reconnects after a network loss
before the old TCP connection times out). The MQTT command topic is subscribed while a gateway is
connected here, so the broker hands its downlinks to this process only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from functions.bridge import convert
from functions.bridge.basicstation import downlink, uplink
from functions.bridge.basicstation.directory import Directory, bearer_token
from functions.bridge.basicstation.ids import InvalidIdentity, parse_eui, to_id6
from functions.bridge.basicstation.router_config import Filters, region_of_prefix, router_config
from functions.bridge.metrics import Metrics
from functions.bridge.radio_counts import RadioCounts
from functions.bridge.server import Publisher, _RateLimitedLog

log = logging.getLogger("loraless.bridge.station")

DNTXED_TIMEOUT_S = 30.0  # RX2 of a join answer is 6 s after the uplink; class C may wait longer
STATS_INTERVAL_S = 30.0
MAX_MESSAGE_BYTES = 64 * 1024
GPS_UNIX_OFFSET_S = 315_964_800 - 18  # GPS epoch in Unix time, and the 18 leap seconds since


@dataclass
class Pending:
    planned: downlink.PlannedDownlink
    items: int
    sent_at: float


@dataclass
class Session:
    gateway_id: str
    connection: ServerConnection
    last_rctx: int = 0
    uplinks: int = 0
    downlinks: int = 0
    emitted: int = 0
    counts: RadioCounts = field(default_factory=RadioCounts)  # per frequency, modulation, TX status
    pending: dict[int, Pending] = field(default_factory=dict)


class StationLNS:
    def __init__(
        self, *, topic_prefix: str, publisher: Publisher, metrics: Metrics, directory: Directory,
        filters: Filters | None = None, public_uri: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.prefix = topic_prefix
        self.region, _ = region_of_prefix(topic_prefix)
        self.publisher = publisher
        self.metrics = metrics
        self.directory = directory
        self.filters = filters or Filters()
        self.public_uri = public_uri
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.on_change: Callable[[], None] = lambda: None  # the bridge's state topic lists our gateways
        self._log = _RateLimitedLog()
        self._server: Server | None = None
        self._stats_at = clock()

    # -- serving -----------------------------------------------------------------------------

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> tuple[str, int]:
        self._server = await serve(
            self._handle, host, port, ssl=ssl_context, process_request=self._admit,
            max_size=MAX_MESSAGE_BYTES, ping_interval=30, ping_timeout=30, server_header=None,
        )  # fmt: skip
        sockname = next(iter(self._server.sockets)).getsockname()
        return sockname[0], sockname[1]

    async def stop(self) -> None:
        for session in list(self.sessions.values()):
            await session.connection.close(1001, "bridge shutting down")
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, reason: str, who: str) -> Response:
        self.metrics.inc(f"station_refused_{reason}")
        self._log.warning(f"refused_{reason}", "Basics Station connection refused (%s): %s", reason, who)
        return connection.respond(status, f"{status.phrase}\n")

    async def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """Before the WebSocket handshake: the path names a known gateway whose token matches."""
        path = request.path.split("?", 1)[0]
        if path == "/router-info":
            return None  # the identity comes in the first message; checked there
        if not path.startswith("/router-"):
            return self._refuse(connection, HTTPStatus.NOT_FOUND, "path", path[:64])
        try:
            gateway_id = parse_eui(path.removeprefix("/router-"))
        except InvalidIdentity:
            return self._refuse(connection, HTTPStatus.NOT_FOUND, "path", path[:64])
        if not await self._authenticated(gateway_id, request.headers.get("Authorization")):
            return self._refuse(connection, HTTPStatus.UNAUTHORIZED, "unauthenticated", gateway_id)
        return None

    async def _authenticated(self, gateway_id: str, authorization: str | None) -> bool:
        record = await asyncio.to_thread(self.directory.lookup, gateway_id)
        return record is not None and record.accepts(bearer_token(authorization))

    def _muxs_uri(self, connection: ServerConnection, gateway_id: str) -> str:
        if self.public_uri:
            base = self.public_uri.rstrip("/")
        else:
            scheme = "wss" if connection.transport.get_extra_info("sslcontext") else "ws"
            host = connection.request.headers.get("Host", "localhost") if connection.request else "localhost"
            base = f"{scheme}://{host}"
        return f"{base}/router-{to_id6(gateway_id)}"

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        if connection.request.path.split("?", 1)[0] == "/router-info":
            await self._router_info(connection)
            return
        gateway_id = parse_eui(connection.request.path.split("?", 1)[0].removeprefix("/router-"))
        await self._session(connection, gateway_id)

    async def _router_info(self, connection: ServerConnection) -> None:
        """Discovery: one request naming the gateway, one answer with its muxs URI, then close."""
        self.metrics.inc("station_router_info")
        try:
            request = json.loads(await asyncio.wait_for(connection.recv(), timeout=10))
            gateway_id = parse_eui(request["router"])
        except (TimeoutError, ConnectionClosed):
            return
        except (ValueError, KeyError, TypeError, InvalidIdentity):
            self.metrics.inc("station_drop_router_info")
            await connection.send(json.dumps({"error": "malformed router-info request"}))
            return
        answer: dict[str, Any] = {"router": to_id6(gateway_id), "muxs": "0:0:0:0"}
        authorization = connection.request.headers.get("Authorization") if connection.request else None
        if await self._authenticated(gateway_id, authorization):
            answer["uri"] = self._muxs_uri(connection, gateway_id)
        else:
            self.metrics.inc("station_refused_unauthenticated")
            self._log.warning("refused_info", "router-info refused for %s: unknown or bad token", gateway_id)
            answer["error"] = "unknown gateway or invalid credentials"
        await connection.send(json.dumps(answer))

    # -- one gateway's session ---------------------------------------------------------------

    def topic(self, gateway_id: str, kind: str, name: str) -> str:
        return f"{self.prefix}/gateway/{gateway_id}/{kind}/{name}"

    def _publish(self, topic: str, message: dict[str, Any], *, retain: bool = False) -> None:
        self.publisher.publish(topic, json.dumps(message, separators=(",", ":")).encode(), retain=retain)

    async def _session(self, connection: ServerConnection, gateway_id: str) -> None:
        old = self.sessions.get(gateway_id)
        session = Session(gateway_id, connection)
        self.sessions[gateway_id] = session
        if old is not None:
            self.metrics.inc("station_replaced_connections")
            await old.connection.close(1000, "replaced by a newer connection")
        else:
            self.publisher.subscribe(self.topic(gateway_id, "command", "+"))
        self.metrics.inc("station_connections")
        self._publish(
            self.topic(gateway_id, "state", "conn"), convert.connection_state(gateway_id, True), retain=True
        )
        self.on_change()
        log.info("Basics Station %s connected", gateway_id)
        try:
            async for text in connection:
                self._message(session, text)
        except ConnectionClosed:
            pass
        finally:
            if self.sessions.get(gateway_id) is session:
                del self.sessions[gateway_id]
                self.publisher.unsubscribe(self.topic(gateway_id, "command", "+"))
                self._publish(
                    self.topic(gateway_id, "state", "conn"),
                    convert.connection_state(gateway_id, False),
                    retain=True,
                )
                self.on_change()
                log.info("Basics Station %s disconnected", gateway_id)

    def _message(self, session: Session, text: str | bytes) -> None:
        self.metrics.inc("station_messages_in")
        try:
            message = json.loads(text)
            if not isinstance(message, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            self.metrics.inc("station_drop_invalid_json")
            self._log.warning("station_json", "gateway %s: message dropped: %s", session.gateway_id, exc)
            return
        kind = message.get("msgtype")
        try:
            if kind in uplink.UPLINK_TYPES:
                self._uplink(session, message)
            elif kind == "version":
                self._version(session, message)
            elif kind == "dntxed":
                self._dntxed(session, message)
            elif kind == "timesync":
                self._timesync(session, message)
            else:
                self.metrics.inc("station_ignored_msgtype")
        except (uplink.InvalidUplink, ValueError, TypeError) as exc:
            self.metrics.inc("station_drop_invalid_field")
            self._log.warning("station_field", "gateway %s: %s dropped: %s", session.gateway_id, kind, exc)

    def _uplink(self, session: Session, message: dict[str, Any]) -> None:
        frame = uplink.uplink_frame(session.gateway_id, message, self.region)
        info = message["upinfo"]
        session.last_rctx = int(info.get("rctx", 0))
        session.uplinks += 1
        session.counts.uplink(frame["txInfo"])
        self._publish(self.topic(session.gateway_id, "event", "up"), frame)
        self.metrics.inc("station_uplinks")

    def _version(self, session: Session, message: dict[str, Any]) -> None:
        """Station says what it is; the answer is its channel plan (router_config)."""
        details = {
            k: message.get(k) for k in ("station", "firmware", "package", "model", "protocol", "features")
        }
        details["connected_at"] = int(time.time())
        self.metrics.inc("station_versions")
        config = router_config(self.prefix, self.filters, now=time.time())
        asyncio.get_running_loop().create_task(self._send(session, config))
        asyncio.get_running_loop().run_in_executor(
            None, self.directory.record_station, session.gateway_id, details
        )
        stats = {
            "gatewayId": session.gateway_id,
            "metadata": {k: str(v) for k, v in details.items() if v is not None},
        }
        self._publish(self.topic(session.gateway_id, "event", "stats"), stats)

    def _timesync(self, session: Session, message: dict[str, Any]) -> None:
        """Answer with the GPS time now (µs) so Station can relate its clock to GPS time."""
        reply = {"msgtype": "timesync", "txtime": message.get("txtime"),
                 "gpstime": int((time.time() - GPS_UNIX_OFFSET_S) * 1_000_000)}  # fmt: skip
        asyncio.get_running_loop().create_task(self._send(session, reply))

    def _dntxed(self, session: Session, message: dict[str, Any]) -> None:
        diid = message.get("diid", message.get("seqno"))
        pending = session.pending.pop(diid, None) if isinstance(diid, int) else None
        if pending is None:
            self.metrics.inc("station_dntxed_unknown")
            return
        session.emitted += 1
        session.counts.status("OK")
        ack = downlink.tx_ack(session.gateway_id, pending.planned, message, pending.items)
        self._publish(self.topic(session.gateway_id, "event", "ack"), ack)
        self.metrics.inc("station_dntxed")

    async def _send(self, session: Session, message: dict[str, Any]) -> None:
        try:
            await session.connection.send(json.dumps(message, separators=(",", ":")))
        except ConnectionClosed:
            self.metrics.inc("station_send_closed")

    # -- downlinks from MQTT -----------------------------------------------------------------

    def serves(self, gateway_id: str) -> bool:
        return gateway_id in self.sessions

    def on_command(self, gateway_id: str, command: str, payload: bytes) -> None:
        """A gateway command from MQTT (on the event loop): `down` becomes a `dnmsg`."""
        session = self.sessions.get(gateway_id)
        if session is None:
            self.metrics.inc("station_downlink_not_connected")
            return
        if command != "down":
            self.metrics.inc(f"command_{command}_ignored")
            return
        try:
            frame = json.loads(payload)
            if not isinstance(frame, dict):
                raise downlink.InvalidDownlink("DownlinkFrame must be an object")
            planned = downlink.dnmsg(self.region, frame, last_rctx=session.last_rctx)
        except (ValueError, downlink.InvalidDownlink) as exc:
            self.metrics.inc("station_drop_downlink_invalid")
            self._log.warning("station_down", "gateway %s: downlink dropped: %s", gateway_id, exc)
            return
        session.pending[planned.diid] = Pending(planned, len(frame["items"]), self.clock())
        session.downlinks += 1
        self.metrics.inc("station_downlinks")
        asyncio.get_running_loop().create_task(self._send(session, planned.message))

    # -- housekeeping ------------------------------------------------------------------------

    def tick(self) -> None:
        """Forget downlinks Station never confirmed; publish each gateway's counters now and then
        (Station sends no statistics of its own, so the bridge counts them, as ChirpStack's does)."""
        now = self.clock()
        for session in self.sessions.values():
            for diid, pending in list(session.pending.items()):
                if now - pending.sent_at > DNTXED_TIMEOUT_S:
                    del session.pending[diid]
                    self.metrics.inc("station_dntxed_timeout")
        if now - self._stats_at < STATS_INTERVAL_S:
            return
        self._stats_at = now
        for session in self.sessions.values():
            stats = {"gatewayId": session.gateway_id, "rxPacketsReceived": session.uplinks,
                     "rxPacketsReceivedOk": session.uplinks, "txPacketsReceived": session.downlinks,
                     "txPacketsEmitted": session.emitted} | session.counts.take()  # fmt: skip
            session.uplinks = session.downlinks = session.emitted = 0
            self._publish(self.topic(session.gateway_id, "event", "stats"), stats)
