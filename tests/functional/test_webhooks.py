"""HTTP webhooks against a real HTTP server: signed deliveries, the Webhook Lambda in the local Lambda
runtime (two retries, then the dead-letter file), and the application's secret never in the logs."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.appserver import webhooks
from functions.appserver.models import Application
from functions.shared.settings import SETTINGS
from localcloud.lambda_runtime import LambdaService
from localcloud.template import FunctionDef

SECRET = "whsec-6f1d2c0a9b8e4f3d"  # looked for in the logs below
EVENT = {
    "deduplicationId": "3a1c6a3e-0b7f-4f4e-9d57-4c1e1d3c2b10",
    "time": "2026-11-24T12:00:00Z",
    "deviceInfo": {"applicationId": "app-1", "devEui": "0102030405060708", "deviceName": "soil-1"},
    "fPort": 1,
    "data": "AWcBEA==",
    "object": {"temperatureSensor": {"1": 27.2}},
}


@dataclass
class Receiver:
    """A real HTTP server on loopback: answers with `statuses` in turn (then 200), records each request."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            time.sleep(state.delay_s)
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            state.received.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/loraless?tenant=acme"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def receivers_on_loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """These receivers listen on 127.0.0.1: the operator setting a development machine turns on."""
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")


def _application(url: str, *, secret: str = SECRET, headers: dict[str, str] | None = None) -> None:
    integration = {"url": url, "headers": headers or {}, "secret": webhooks.seal_secret("app-1", secret)}
    Application(application_id="app-1", org_id="org-1", name="Soil", http_integration=integration).save()


# --- deliver() and the signature --------------------------------------------------------------------------


def test_delivery_is_signed_with_the_event_in_the_query_and_the_configured_headers(
    receiver: Receiver,
) -> None:
    body = json.dumps(EVENT).encode()
    status = webhooks.deliver(
        receiver.url, {"Authorization": "Bearer abc", "X-Loraless-Signature": "forged"}, SECRET, "up", body
    )
    assert status == 200
    (request,) = receiver.requests
    assert request["path"] == "/hooks/loraless?tenant=acme&event=up"
    assert request["body"] == body
    headers = request["headers"]
    assert headers["Authorization"] == "Bearer abc"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Loraless-Signature"] != "forged"  # configured headers cannot replace ours
    assert webhooks.verify(SECRET, headers, request["body"])
    # What a receiver checks by hand, from the scheme in the module docstring:
    import hashlib
    import hmac

    signed = headers["X-Loraless-Timestamp"].encode() + b"." + body
    assert (
        headers["X-Loraless-Signature"]
        == "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    )


def test_verify_rejects_tampering_another_secret_replays_and_missing_headers() -> None:
    body = b'{"fCnt":1}'
    headers = webhooks.signature_headers(SECRET, body, now=1_000_000)
    assert webhooks.verify(SECRET, headers, body, now=1_000_000 + 299)
    assert webhooks.verify(SECRET, {k.lower(): v for k, v in headers.items()}, body, now=1_000_000)
    assert not webhooks.verify(SECRET, headers, b'{"fCnt":2}', now=1_000_000)
    assert not webhooks.verify("another", headers, body, now=1_000_000)
    assert not webhooks.verify(SECRET, headers, body, now=1_000_000 + 301)  # a replay, later
    moved = {**headers, "X-Loraless-Timestamp": str(1_000_000 + 200)}  # a fresh timestamp, old signature
    assert not webhooks.verify(SECRET, moved, body, now=1_000_000 + 200)
    assert not webhooks.verify(SECRET, {}, body, now=1_000_000)
    assert not webhooks.verify(SECRET, {**headers, "X-Loraless-Timestamp": "soon"}, body, now=1_000_000)


@pytest.mark.parametrize("status", [500, 404, 302])
def test_non_2xx_answers_are_delivery_errors(receiver: Receiver, status: int) -> None:
    receiver.statuses = [status]
    with pytest.raises(webhooks.DeliveryError, match=f"answered {status}") as caught:
        webhooks.deliver(receiver.url, {}, SECRET, "up", b"{}")
    assert caught.value.status == status
    assert len(receiver.requests) == 1  # a redirect is not followed


def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    receiver.delay_s = 1.0
    started = time.monotonic()
    with pytest.raises(webhooks.DeliveryError, match="timed out"):
        webhooks.deliver(receiver.url, {}, SECRET, "up", b"{}", timeout=0.2)
    assert time.monotonic() - started < 0.9


def test_unreachable_receivers_and_other_schemes_are_delivery_errors(receiver: Receiver) -> None:
    with pytest.raises(webhooks.DeliveryError, match=r"POST to 127\.0\.0\.1 failed"):
        webhooks.deliver("http://127.0.0.1:1/", {}, SECRET, "up", b"{}")
    for url in ("file:///etc/passwd", "ftp://example.com/x", "http:///no-host"):
        with pytest.raises(webhooks.DeliveryError, match="must be http or https"):
            webhooks.deliver(url, {}, SECRET, "up", b"{}")


def test_private_addresses_are_refused_unless_allowed(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    for url in (
        receiver.url,
        "http://localhost:9001/2018-06-01/runtime/invocation/next",
        "http://169.254.169.254/",
    ):
        with pytest.raises(webhooks.DeliveryError, match="non-public address; refused"):
            webhooks.deliver(url, {}, SECRET, "up", b"{}", allow_private=False)
    assert receiver.requests == []
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS")  # the default, on Lambda and locally alike
    with pytest.raises(webhooks.DeliveryError, match="refused"):
        webhooks.deliver(receiver.url, {}, SECRET, "up", b"{}")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")  # unless the operator says otherwise
    assert webhooks.deliver(receiver.url, {}, SECRET, "up", b"{}") == 200


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1 (RFC 6052)
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of the instance metadata service
        "[::7f00:1]",  # IPv4-compatible ::127.0.0.1
        "[::a9fe:a9fe]",  # IPv4-compatible ::169.254.169.254
        "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
        "[::1]",
        "[::ffff:10.0.0.1]",
        "169.254.169.254",
        "127.0.0.1",
    ],
)
def test_ipv4_inside_ipv6_is_judged_by_the_ipv4_address(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS")
    with pytest.raises(webhooks.DeliveryError, match="non-public address; refused"):
        webhooks.deliver(f"http://{host}:8080/", {}, SECRET, "up", b"{}")


def test_an_nat64_address_of_a_public_host_stays_allowed() -> None:
    assert webhooks._public("64:ff9b::808:808") and webhooks._public("2001:4860:4860::8888")


def test_a_host_header_of_the_application_is_never_sent(receiver: Receiver) -> None:
    webhooks.deliver(receiver.url, {"Host": "metadata.internal", "X-Ok": "1"}, SECRET, "up", b"{}")
    (request,) = receiver.requests
    assert request["headers"]["Host"].startswith("127.0.0.1:") and request["headers"]["X-Ok"] == "1"


def test_dispatch_reads_the_integration_and_opens_the_sealed_secret(
    receiver: Receiver, dynamodb: str
) -> None:
    _application(receiver.url, headers={"X-Api-Key": "k1"})
    assert webhooks.dispatch("app-1", "join", EVENT) == 200
    (request,) = receiver.requests
    assert request["path"].endswith("&event=join")
    assert request["headers"]["X-Api-Key"] == "k1"
    assert json.loads(request["body"]) == EVENT
    assert webhooks.verify(SECRET, request["headers"], request["body"])
    assert SECRET not in repr(webhooks.load_integration("app-1"))


def test_applications_without_a_webhook_send_nothing(receiver: Receiver, dynamodb: str) -> None:
    assert webhooks.dispatch("no-such-app", "up", EVENT) is None
    Application(application_id="app-1", org_id="org-1", name="Quiet").save()
    assert webhooks.dispatch("app-1", "up", EVENT) is None
    assert receiver.requests == []


# --- the Webhook Lambda in the local Lambda runtime ---------------------------------------------------------


@pytest.fixture
def lambdas(dynamodb: str, tmp_path: Path) -> Iterator[tuple[LambdaService, list[str]]]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "AWS_REGION": SETTINGS.aws_region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        "LORALESS_LOCAL_MASTER_KEY": os.environ["LORALESS_LOCAL_MASTER_KEY"],
        "POWERTOOLS_SERVICE_NAME": "appserver",
        "POWERTOOLS_METRICS_NAMESPACE": "Loraless",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",  # the most talkative level still must not show the secret
        "APPLICATIONS_TABLE": Application.Meta.table_name,  # type: ignore[attr-defined]
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver is on loopback
    }
    if sys.prefix != sys.base_prefix:
        environment["VIRTUAL_ENV"] = sys.prefix
    function = FunctionDef(
        name="Webhook",
        handler="functions.appserver.handlers.webhook.handler",
        environment={},
        timeout_s=15,
        memory_mb=512,
    )
    logs: list[str] = []
    service = LambdaService(
        {"Webhook": function},
        environment,
        dead_letters=tmp_path / "dead-letters.jsonl",
        concurrency=1,
        retry_delays_s=(0.1, 0.2),
        log_sink=lambda name, line: logs.append(line),
    )
    yield service, logs
    service.close()


def _metric_counts(logs: list[str], name: str) -> int:
    total = 0
    for line in logs:
        if line.startswith("{") and '"_aws"' in line:
            value = json.loads(line).get(name, 0)
            total += int(sum(value) if isinstance(value, list) else value)
    return total


def _logged(logs: list[str], name: str, count: int) -> int:
    """The metric's count once it reaches `count` (a worker's log lines travel on their own pipe, so they
    may arrive just after the invocation's result), or what it is after 5 s."""
    deadline = time.monotonic() + 5
    while _metric_counts(logs, name) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return _metric_counts(logs, name)


def _dead_letters(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "dead-letters.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_the_lambda_delivers_an_event_signed(
    lambdas: tuple[LambdaService, list[str]], receiver: Receiver, tmp_path: Path
) -> None:
    service, logs = lambdas
    _application(receiver.url)
    result = service.invoke("Webhook", {"application_id": "app-1", "event_type": "up", "body": EVENT})
    assert result.ok, result.error
    assert result.payload == {"status": 200}
    (request,) = receiver.requests
    assert json.loads(request["body"]) == EVENT
    assert webhooks.verify(SECRET, request["headers"], request["body"])
    assert _logged(logs, "WebhookDelivered", 1) == 1
    assert not any(SECRET in line for line in logs)


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(
    lambdas: tuple[LambdaService, list[str]], receiver: Receiver, tmp_path: Path
) -> None:
    service, logs = lambdas
    _application(receiver.url)
    receiver.statuses = [500, 500]
    event = {"application_id": "app-1", "event_type": "up", "body": EVENT}
    result = service.invoke_async("Webhook", event).result(timeout=60)
    assert result.ok, result.error
    assert len(receiver.requests) == 3
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1  # the same event each time, signed afresh
    assert all(webhooks.verify(SECRET, r["headers"], r["body"]) for r in receiver.requests)
    assert _dead_letters(tmp_path) == []
    assert _logged(logs, "WebhookFailed", 2) == 2
    assert _logged(logs, "WebhookDelivered", 1) == 1
    assert not any(SECRET in line for line in logs)


def test_a_receiver_that_always_fails_sends_the_event_to_the_dead_letters(
    lambdas: tuple[LambdaService, list[str]], receiver: Receiver, tmp_path: Path
) -> None:
    service, logs = lambdas
    _application(receiver.url, headers={"Authorization": "Bearer do-not-log-me"})
    receiver.statuses = [503] * 10
    event = {"application_id": "app-1", "event_type": "status", "body": json.dumps(EVENT)}
    result = service.invoke_async("Webhook", event).result(timeout=60)
    assert not result.ok
    assert result.error is not None and result.error["errorType"] == "DeliveryError"
    assert len(receiver.requests) == 3  # the first attempt and Lambda's two retries
    (letter,) = _dead_letters(tmp_path)
    assert letter["function"] == "Webhook" and letter["event"] == event
    assert _logged(logs, "WebhookFailed", 3) == 3
    joined = "\n".join(logs)
    assert "answered 503" in joined
    assert SECRET not in joined and "do-not-log-me" not in joined
    assert SECRET not in json.dumps(letter)


def test_malformed_requests_and_applications_without_webhooks_are_dropped(
    lambdas: tuple[LambdaService, list[str]], receiver: Receiver, tmp_path: Path
) -> None:
    service, _ = lambdas
    assert service.invoke("Webhook", {"event_type": "up"}).payload == {"status": None}
    assert service.invoke("Webhook", {"application_id": "nope", "event_type": "up", "body": {}}).payload == {
        "status": None
    }
    assert receiver.requests == []
