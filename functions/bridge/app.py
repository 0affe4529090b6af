"""Runs the bridge: UDP server, MQTT link, health endpoint and housekeeping on one asyncio loop."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
from typing import Any

from functions.bridge.config import BridgeConfig
from functions.bridge.health import serve_health
from functions.bridge.metrics import Metrics
from functions.bridge.mqtt import MqttLink
from functions.bridge.registry import Registry
from functions.bridge.server import Bridge

log = logging.getLogger("loraless.bridge")
TICK_S = 1.0
METRICS_LOG_S = 60.0
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024


class BridgeApp:
    """`await app.start()`, then `await app.stop()`; `run()` does both around SIGINT/SIGTERM."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.registry = Registry(pull_ttl_s=config.pull_ttl_s, offline_after_s=config.offline_after_s)
        self.loop: asyncio.AbstractEventLoop | None = None
        will_topic = f"{config.topic_prefix}/bridge/{config.client_id}/state/conn"
        will = json.dumps({"bridgeId": config.client_id, "state": "OFFLINE", "gatewayIds": []}).encode()
        self.mqtt = MqttLink(
            config, self.metrics, self._on_message, will=(will_topic, will), on_connected=self._announce
        )
        self.bridge = Bridge(
            topic_prefix=config.topic_prefix,
            publisher=self.mqtt,
            metrics=self.metrics,
            registry=self.registry,
            skip_crc_check=config.skip_crc_check,
            rate_limit_per_s=config.rate_limit_per_s,
        )  # fmt: skip
        self.bridge.bridge_id = config.client_id
        self._tasks: list[asyncio.Task[None]] = []
        self._health: asyncio.Server | None = None
        self.udp_address: tuple[str, int] | None = None

    def _announce(self) -> None:
        """MQTT thread -> event loop: publish the bridge's state after each (re)connection."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.bridge.announce)

    def _on_message(self, topic: str, payload: bytes) -> None:
        """MQTT thread -> event loop: the bridge's state is only touched on the loop."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.bridge.on_command, topic, payload)

    def status(self) -> tuple[bool, dict[str, Any]]:
        snapshot = self.metrics.snapshot()
        snapshot |= {"mqtt_connected": self.mqtt.connected, "gateways": len(self.registry.gateways)}
        return self.mqtt.connected, snapshot

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.mqtt.start()
        transport, _ = await self.loop.create_datagram_endpoint(
            lambda: self.bridge, local_addr=(self.config.udp_host, self.config.udp_port)
        )
        self.udp_address = transport.get_extra_info("sockname")[:2]
        sock = transport.get_extra_info("socket")
        if sock is not None:  # absorb bursts from many gateways while the loop is busy publishing
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        self._health = await serve_health(self.config.health_host, self.config.health_port, self.status)
        self._tasks = [asyncio.create_task(self._housekeeping()), asyncio.create_task(self._report())]
        log.info("bridge listening on UDP %s:%d, health on %d", *self.udp_address, self.config.health_port)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.bridge.tick()

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(METRICS_LOG_S)
            log.info("bridge counters: %s", self.metrics.snapshot())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.bridge.shutdown()
        if self.bridge.transport is not None:
            self.bridge.transport.close()
        if self._health is not None:
            self._health.close()
        await asyncio.get_running_loop().run_in_executor(None, self.mqtt.stop)

    async def run(self) -> None:
        await self.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        log.info("shutting down")
        await self.stop()
