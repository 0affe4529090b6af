"""CUPS (`POST /update-info`): a gateway asks for its LNS URI and credentials and gets what changed
(Basics Station docs, The CUPS Protocol). The answer is binary: the CUPS URI and the LNS URI, each
after a 1-byte length; the CUPS and LNS credentials, each after a 2-byte little-endian length; the
update's signature and the update itself, each after a 4-byte length (both empty: no firmware updates
are offered). A credential set is the trust anchor (DER), then the client certificate (DER) or four
zero bytes for none, then the client key (DER) or, for token authentication, the HTTP header lines
Station sends (`Authorization: Bearer <token>\r\n`). A segment is sent only when the CRC-32 the gateway
reports for its copy differs, so a rotated token reaches the gateway on its next poll.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import zlib
from typing import Any, Protocol

from functions.bridge.basicstation.directory import CupsGateway, bearer_token, token_hash
from functions.bridge.basicstation.ids import InvalidIdentity, parse_eui
from functions.bridge.metrics import Metrics
from functions.shared.station_credentials import tc_key

log = logging.getLogger("loraless.bridge.cups")

MAX_REQUEST_BYTES = 8192


class CupsDirectory(Protocol):
    def cups_lookup(self, gateway_id: str) -> CupsGateway | None: ...


def credentials(trust_der: bytes, token: str) -> bytes:
    """A credential set for token authentication: trust, no client certificate, the header line."""
    return trust_der + b"\x00\x00\x00\x00" + tc_key(token).encode()


def crc(blob: bytes) -> int:
    return zlib.crc32(blob) & 0xFFFFFFFF


def update_info_response(
    *, cups_uri: str, tc_uri: str, request: dict[str, Any], cups_cred: bytes, tc_cred: bytes
) -> bytes:
    """The binary answer: only the segments that differ from what the gateway has."""
    send_cups_uri = cups_uri if request.get("cupsUri") != cups_uri else ""
    send_tc_uri = tc_uri if request.get("tcUri") != tc_uri else ""
    send_cups_cred = cups_cred if request.get("cupsCredCrc") != crc(cups_cred) else b""
    send_tc_cred = tc_cred if request.get("tcCredCrc") != crc(tc_cred) else b""
    return b"".join([
        struct.pack("<B", len(send_cups_uri.encode())), send_cups_uri.encode(),
        struct.pack("<B", len(send_tc_uri.encode())), send_tc_uri.encode(),
        struct.pack("<H", len(send_cups_cred)), send_cups_cred,
        struct.pack("<H", len(send_tc_cred)), send_tc_cred,
        struct.pack("<I", 0),  # no signature
        struct.pack("<I", 0),  # no update
    ])  # fmt: skip


class CupsServer:
    """HTTP/1.1 POST /update-info on its own port (Station's CUPS client speaks plain HTTP(S) requests,
    not WebSocket). One request per connection; bodies over 8 KiB are refused."""

    def __init__(
        self, *, directory: CupsDirectory, metrics: Metrics, cups_uri: str, tc_uri: str, trust_der: bytes,
        cups_trust_der: bytes | None = None,
    ) -> None:  # fmt: skip
        self.directory = directory
        self.metrics = metrics
        self.cups_uri = cups_uri
        self.tc_uri = tc_uri
        self.trust_der = trust_der
        self.cups_trust_der = cups_trust_der or trust_der
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int, ssl_context: Any = None) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, host, port, ssl=ssl_context)
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await asyncio.wait_for(self._exchange(reader), timeout=15)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            self.metrics.inc("cups_drop_malformed")
            status, body = "400 Bad Request", b""
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        try:
            writer.write(head.encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader) -> tuple[str, bytes]:
        request_line = (await reader.readline()).decode("latin-1").split()
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
            if len(headers) > 64:
                raise ValueError("too many headers")
        if (
            len(request_line) < 2
            or request_line[0] != "POST"
            or request_line[1].split("?")[0] != "/update-info"
        ):
            self.metrics.inc("cups_drop_path")
            return "404 Not Found", b""
        length = int(headers.get("content-length", "0"))
        if not 0 < length <= MAX_REQUEST_BYTES:
            raise ValueError(f"body of {length} bytes")
        request = json.loads(await reader.readexactly(length))
        return await self.answer(request, headers.get("authorization"))

    async def answer(self, request: Any, authorization: str | None) -> tuple[str, bytes]:
        try:
            gateway_id = parse_eui(request["router"])
        except (KeyError, TypeError, InvalidIdentity):
            self.metrics.inc("cups_drop_malformed")
            return "400 Bad Request", b""
        record = await asyncio.to_thread(self.directory.cups_lookup, gateway_id)
        token = bearer_token(authorization)
        if (
            record is None
            or token is None
            or token_hash(token) not in record.accepted_sha256
            or not record.token
        ):
            self.metrics.inc("cups_refused_unauthenticated")
            log.warning("CUPS request refused for %s: unknown gateway or bad token", gateway_id)
            return "401 Unauthorized", b""
        self.metrics.inc("cups_update_info")
        body = update_info_response(
            cups_uri=self.cups_uri, tc_uri=self.tc_uri, request=request,
            cups_cred=credentials(self.cups_trust_der, record.token),
            tc_cred=credentials(self.trust_der, record.token),
        )  # fmt: skip
        return "200 OK", body
