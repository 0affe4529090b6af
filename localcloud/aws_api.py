"""The AWS APIs our functions call, served over HTTP so boto3 reaches them unchanged: Lambda `Invoke`
(`POST /2015-03-31/functions/{name}/invocations`), IoT `Publish` (`POST /topics/{topic}?qos=N`), and the
four IoT calls that issue an application's MQTT certificate (CreateCertificateFromCsr signed by the local
CA, CreateThing, AttachThingPrincipal, AttachPolicy: the broker's ACL binds topics to the certificate's
common name, so the last three have nothing to record). Point `AWS_ENDPOINT_URL_LAMBDA`,
`AWS_ENDPOINT_URL_IOT` and `IOT_DATA_ENDPOINT` here. Every request must be SigV4-signed with the local
cloud's own credentials (sigv4.py), as AWS requires; an unsigned or wrongly signed one gets 403.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from localcloud import sigv4
from localcloud.lambda_runtime import LambdaService

log = logging.getLogger("loraless.local.aws_api")

Publisher = Callable[[str, bytes, int, bool], None]
SignCsr = Callable[[bytes], tuple[str, bytes]]  # CSR PEM -> (certificate id, certificate PEM)
_INVOKE_PREFIX = "/2015-03-31/functions/"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, kind: str, message: str) -> None:
        body = json.dumps({"__type": kind, "message": message, "Message": message}).encode()
        self._reply(status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": kind})

    def _authorized(self, body: bytes) -> bool:
        try:
            sigv4.verify(self.server.credentials, self.command, self.path, dict(self.headers.items()), body)
        except sigv4.Unauthorized as exc:
            log.warning("refused %s %s: %s", self.command, urlsplit(self.path).path, exc)
            self._error(403, "UnrecognizedClientException", f"The security token is not valid: {exc}")
            return False
        return True

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._authorized(body):
            return
        if url.path.startswith(_INVOKE_PREFIX) and url.path.endswith("/invocations"):
            name = unquote(url.path[len(_INVOKE_PREFIX) : -len("/invocations")])
            self._invoke(name, body)
        elif url.path == "/certificates" and self.server.sign_csr is not None:
            self._certificate(body)
        elif url.path.startswith("/things/"):
            name = unquote(url.path[len("/things/") :])
            self._json({"thingName": name, "thingArn": f"arn:aws:iot:local:000000000000:thing/{name}"})
        elif url.path.startswith("/topics/"):
            query = parse_qs(url.query)
            qos = int(query.get("qos", ["0"])[0])
            retain = query.get("retain", ["false"])[0].lower() == "true"
            self._publish(unquote(url.path[len("/topics/") :]), body, qos, retain)
        else:
            self._error(404, "UnknownOperationException", f"no local stand-in for POST {url.path}")

    def do_PUT(self) -> None:
        """AttachThingPrincipal and AttachPolicy: accepted (see the module docstring)."""
        url = urlsplit(self.path)
        if not self._authorized(self.rfile.read(int(self.headers.get("Content-Length") or 0))):
            return
        if url.path.startswith(("/things/", "/target-policies/")) and self.server.sign_csr is not None:
            self._json({})
        else:
            self._error(404, "UnknownOperationException", f"no local stand-in for PUT {url.path}")

    def _json(self, answer: dict[str, Any]) -> None:
        self._reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

    def _certificate(self, body: bytes) -> None:
        assert self.server.sign_csr is not None
        try:
            certificate_id, pem = self.server.sign_csr(json.loads(body)["certificateSigningRequest"].encode())
        except PermissionError as exc:
            self._error(403, "UnauthorizedException", str(exc))
            return
        except (ValueError, KeyError) as exc:
            self._error(400, "InvalidRequestException", f"not a valid certificate signing request: {exc}")
            return
        arn = f"arn:aws:iot:local:000000000000:cert/{certificate_id}"
        self._json({"certificateArn": arn, "certificateId": certificate_id, "certificatePem": pem.decode()})

    def _invoke(self, name: str, body: bytes) -> None:
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            self._error(400, "InvalidRequestContentException", "Could not parse request body into json")
            return
        try:
            pool = self.server.lambdas.pool(name)
        except KeyError:
            self._error(404, "ResourceNotFoundException", f"Function not found: {name}")
            return
        kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind == "DryRun":
            self._reply(204)
        elif kind == "Event":  # 202 once the invocation is journaled, as Lambda answers once it is queued
            accepted = threading.Event()
            self.server.lambdas.invoke_async(pool.function.name, event, accepted.set)
            if not accepted.wait(30):
                self._error(503, "ServiceException", "the invocation could not be stored in time")
                return
            self._reply(202)
        else:
            result = pool.invoke(event)
            headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
            if result.ok:
                self._reply(200, json.dumps(result.payload).encode(), headers)
            else:
                self._reply(
                    200, json.dumps(result.error).encode(), headers | {"X-Amz-Function-Error": "Unhandled"}
                )

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        if not topic or "+" in topic or "#" in topic or qos not in (0, 1):
            self._error(400, "InvalidRequestException", f"cannot publish to {topic!r} with QoS {qos}")
            return
        try:
            self.server.publish(topic, payload, qos, retain)
        except Exception as exc:  # the broker is down: IoT answers 503, the caller retries
            log.warning("publish to %s failed: %s", topic, exc)
            self._error(503, "ServiceUnavailableException", str(exc))
            return
        self._reply(200, b"{}", {"Content-Type": "application/json"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        lambdas: LambdaService,
        publish: Publisher,
        sign_csr: SignCsr | None,
        credentials: sigv4.LocalCredentials,
    ) -> None:
        super().__init__(address, _Handler)
        self.credentials = credentials
        self.lambdas = lambdas
        self.publish = publish
        self.sign_csr = sign_csr


class AwsApi:
    """Serves Invoke and Publish on `host:port` (port 0 picks a free one) in a background thread."""

    def __init__(
        self,
        lambdas: LambdaService,
        publish: Publisher,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: sigv4.LocalCredentials,
        sign_csr: SignCsr | None = None,
    ) -> None:
        self._server = _Server((host, port), lambdas, publish, sign_csr, credentials)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="aws-api"
        )

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> AwsApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
