"""The health endpoint the load balancer and the container check: HTTP on a TCP port, 200 with the
counters while the broker is connected, 503 while it is not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any


async def serve_health(
    host: str, port: int, status: Callable[[], tuple[bool, dict[str, Any]]]
) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readline(), timeout=2)
        except (TimeoutError, ConnectionError):
            writer.close()
            return
        healthy, body = status()
        payload = json.dumps(body).encode()
        head = f"HTTP/1.1 {'200 OK' if healthy else '503 Service Unavailable'}\r\n"
        head += (
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        try:
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
