"""API Gateway (REST, Lambda proxy integration) locally: each HTTP request becomes the proxy event API
Gateway would send, the API function answers, and its response becomes the HTTP response. The stage
name leads the path as on AWS (`/v1/...`); other paths serve the web interface's static files.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from localcloud.lambda_runtime import LambdaService

log = logging.getLogger("loraless.local.api")
STAGE = "v1"
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


def proxy_event(
    method: str, raw_path: str, headers: dict[str, list[str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The REST API proxy event (payload format 1.0) for one request to `/{stage}/{path}`."""
    url = urlsplit(raw_path)
    path = "/" + url.path.split("/", 2)[2] if url.path.count("/") >= 2 else "/"
    query = parse_qs(url.query, keep_blank_values=True)
    text_body: str | None
    try:
        text_body, is_base64 = (body.decode() if body else None), False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode(), True
    now = time.time()
    return {
        "resource": "/{proxy+}",
        "path": unquote(path),
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": unquote(path.lstrip("/"))} if path != "/" else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{STAGE}{unquote(path)}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", [""])[-1]},
            "protocol": "HTTP/1.1",
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, headers: dict[str, list[str]], body: bytes) -> None:
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, message: str) -> None:
        self._send(status, {"Content-Type": ["application/json"]}, json.dumps({"message": message}).encode())

    def _handle(self) -> None:
        if not self.path.startswith(f"/{STAGE}/") and self.path != f"/{STAGE}":
            self._static()
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, "Request Too Long")
            return
        body = self.rfile.read(length)
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        event = proxy_event(self.command, self.path, headers, body, self.client_address[0])
        result = self.server.lambdas.invoke(self.server.function, event)
        if not result.ok or not isinstance(result.payload, dict) or "statusCode" not in result.payload:
            log.error("API function failed or answered malformed: %s", result.error or result.payload)
            self._json(502, "Internal server error")
            return
        self._send(*_http_response(result.payload))

    def _static(self) -> None:
        root = self.server.web_root
        if self.command not in ("GET", "HEAD") or root is None:
            self._json(404, "Not Found")
            return
        relative = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        if relative == "config.json":  # what CloudFront serves beside the bundle: where the API is
            host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
            config = {"apiUrl": f"http://{host}/{STAGE}"}
            self._send(200, {"Content-Type": ["application/json"]}, json.dumps(config).encode())
            return
        target = (root / relative).resolve()
        if not target.is_relative_to(root.resolve()) or not target.is_file():
            target = (
                root / "index.html"
            )  # the single-page app routes on the client, as CloudFront's 404 rule does
        if not target.is_file():
            self._json(404, "Not Found")
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(200, {"Content-Type": [kind]}, target.read_bytes())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle  # noqa: N815 - http.server names

    def _not_a_method(self) -> None:
        """Methods outside API Gateway's ANY (TRACE, QUERY, ...) never reach the function: 405, not 501."""
        self._json(405, "Method Not Allowed")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._not_a_method
        raise AttributeError(name)


def _http_response(payload: dict[str, Any]) -> tuple[int, dict[str, list[str]], bytes]:
    headers: dict[str, list[str]] = {k: [str(v)] for k, v in (payload.get("headers") or {}).items()}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers[name] = [str(v) for v in values]
    raw = payload.get("body") or ""
    body = base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
    return int(payload["statusCode"]), headers, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], lambdas: LambdaService, function: str, web_root: Path | None
    ):
        super().__init__(address, _Handler)
        self.lambdas = lambdas
        self.function = function
        self.web_root = web_root


class ApiGateway:
    """The REST API and the web interface on one local port."""

    def __init__(
        self,
        lambdas: LambdaService,
        function: str,
        *,
        web_root: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._server = _Server((host, port), lambdas, function, web_root)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="api-gateway"
        )

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}/{STAGE}"

    @property
    def web_url(self) -> str | None:
        """The web interface at the root (None when no build is served)."""
        if self._server.web_root is None:
            return None
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}/"

    def start(self) -> ApiGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
