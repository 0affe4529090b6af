"""The local Lambda Invoke and IoT Publish APIs, driven by real boto3 clients over HTTP, and the local
API Gateway driven by real HTTP requests into a Powertools resolver."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.api_gateway import ApiGateway
from localcloud.aws_api import AwsApi
from localcloud.certificates import CertificateAuthority
from localcloud.lambda_runtime import LambdaService
from localcloud.sigv4 import LocalCredentials
from localcloud.template import FunctionDef

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


def _function(name: str, handler: str) -> FunctionDef:
    return FunctionDef(name, f"tests.support.local_handlers.{handler}", {}, timeout_s=5, memory_mb=128)


_CA: list[CertificateAuthority] = []


def _sign(csr: bytes) -> tuple[str, bytes]:
    return _CA[0].sign_request(csr)


@pytest.fixture(autouse=True)
def authority(tmp_path: Path) -> None:
    _CA[:] = [CertificateAuthority(tmp_path / "ca")]


@pytest.fixture
def published() -> list[tuple[str, bytes, int, bool]]:
    return []


@pytest.fixture
def cloud(
    tmp_path: Path, published: list[tuple[str, bytes, int, bool]]
) -> Iterator[tuple[AwsApi, ApiGateway]]:
    functions = {n: _function(n, h) for n, h in [("Echo", "echo"), ("Fail", "fail"), ("Caller", "call_other"),
                                                   ("Api", "api"), ("Exits", "exits")]}  # fmt: skip
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)} | CREDENTIALS
    lambdas = LambdaService(
        functions,
        environment,
        dead_letters=tmp_path / "dlq.jsonl",
        retry_delays_s=(0, 0),
        log_sink=lambda *_: None,
    )

    def publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
        if topic == "broken/broker":
            raise ConnectionError("broker unreachable")
        published.append((topic, payload, qos, retain))

    aws = AwsApi(lambdas, publish, credentials=LocalCredentials("local", "local"), sign_csr=_sign).start()
    for pool in lambdas.pools.values():
        pool.environment["AWS_ENDPOINT_URL_LAMBDA"] = aws.url
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<h1>Loraless</h1>")
    (web / "app.js").write_text("console.log(1)")
    api = ApiGateway(lambdas, "Api", web_root=web).start()
    yield aws, api
    api.stop()
    aws.stop()
    lambdas.close()


def _client(service: str, url: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="eu-west-1", aws_access_key_id="local",
                        aws_secret_access_key="local")  # fmt: skip


def test_boto3_invoke_request_response_and_function_error(cloud: Any, tmp_path: Path) -> None:
    aws, _ = cloud
    client = _client("lambda", aws.url)
    ok = client.invoke(FunctionName="Echo", Payload=b'{"a": 1}')
    assert ok["StatusCode"] == 200 and "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["event"] == {"a": 1}
    failed = client.invoke(FunctionName="Fail", Payload=json.dumps({"marker": str(tmp_path / "m")}).encode())
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "RuntimeError"


def test_boto3_invoke_event_is_accepted_and_runs(cloud: Any, tmp_path: Path) -> None:
    aws, _ = cloud
    marker = tmp_path / "event"
    response = _client("lambda", aws.url).invoke(
        FunctionName="Fail",
        InvocationType="Event",
        Payload=json.dumps({"marker": str(marker), "succeed_after": 0}),
    )
    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 10
    while not marker.exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_unknown_function_is_resource_not_found(cloud: Any) -> None:
    aws, _ = cloud
    client = _client("lambda", aws.url)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="Nobody", Payload=b"{}")


def test_a_function_calls_another_through_boto3(cloud: Any) -> None:
    aws, _ = cloud
    result = _client("lambda", aws.url).invoke(
        FunctionName="Caller", Payload=json.dumps({"target": "Echo", "payload": {"x": 2}}).encode()
    )
    body = json.loads(result["Payload"].read())
    assert body["status"] == 200 and body["payload"]["event"] == {"x": 2}


def test_boto3_iot_data_publish_reaches_the_broker_side(cloud: Any, published: list[Any]) -> None:
    aws, _ = cloud
    client = _client("iot-data", aws.url)
    client.publish(topic="eu868/gateway/0102030405060708/command/down", qos=1, payload=b'{"a":1}')
    client.publish(topic="application/1/device/01/event/up", qos=0, retain=True, payload=b"x")
    assert published == [
        ("eu868/gateway/0102030405060708/command/down", b'{"a":1}', 1, False),
        ("application/1/device/01/event/up", b"x", 0, True),
    ]


def test_iot_data_publish_when_the_broker_is_down_is_a_retryable_error(cloud: Any) -> None:
    aws, _ = cloud
    client = _client("iot-data", aws.url)
    client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(client.exceptions.ClientError) as error:
        client.publish(topic="broken/broker", qos=1, payload=b"x")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def _request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_api_gateway_proxy_events_work_with_the_powertools_resolver(cloud: Any) -> None:
    _, api = cloud
    status, headers, body = _request(f"{api.url}/things/42?q=hello")
    assert status == 200 and json.loads(body) == {"id": "42", "q": "hello"}
    assert headers["Content-Type"].startswith("application/json")
    status, _, body = _request(f"{api.url}/things", "POST", b'{"name": "sensor"}')
    assert status == 201 and json.loads(body) == {"created": {"name": "sensor"}}
    status, _, body = _request(f"{api.url}/things/missing")
    assert status == 404 and json.loads(body)["message"] == "no such thing"


def test_the_web_interface_is_served_beside_the_api_with_client_side_routes(cloud: Any) -> None:
    _, api = cloud
    root = api.url.rsplit("/", 1)[0]
    assert _request(f"{root}/app.js")[2] == b"console.log(1)"
    assert _request(f"{root}/devices/0102")[2] == b"<h1>Loraless</h1>"
    assert _request(f"{root}/../../etc/passwd")[2] == b"<h1>Loraless</h1>"
    # config.json tells the bundle where the API is, as the one CloudFront serves beside it does
    assert json.loads(_request(f"{root}/config.json")[2]) == {"apiUrl": api.url}
    assert api.web_url == f"{root}/"


def test_a_crashing_api_function_gives_502_not_a_hang(cloud: Any, tmp_path: Path) -> None:
    _, api = cloud
    api._server.function = "Exits"
    status, _, body = _request(f"{api.url}/anything")
    assert status == 502 and json.loads(body) == {"message": "Internal server error"}


# -- credentials (issue 15: the local endpoint invoked any function and signed any CSR for anyone) --------


def test_unsigned_and_wrongly_signed_requests_are_refused(cloud: Any, tmp_path: Path) -> None:
    aws, _ = cloud
    marker = tmp_path / "ran"
    status, _, body = _request(f"{aws.url}/2015-03-31/functions/Fail/invocations", "POST",
                               json.dumps({"marker": str(marker), "succeed_after": 0}).encode())  # fmt: skip
    assert status == 403 and json.loads(body)["__type"] == "UnrecognizedClientException"
    stranger = boto3.client("lambda", endpoint_url=aws.url, region_name="eu-west-1",
                            aws_access_key_id="local", aws_secret_access_key="a guess")  # fmt: skip
    with pytest.raises(stranger.exceptions.ClientError) as refused:
        stranger.invoke(FunctionName="Fail", Payload=json.dumps({"marker": str(marker), "succeed_after": 0}))
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    other_key = boto3.client("iot-data", endpoint_url=aws.url, region_name="eu-west-1",
                             aws_access_key_id="someone", aws_secret_access_key="local")  # fmt: skip
    with pytest.raises(other_key.exceptions.ClientError):
        other_key.publish(topic="eu868/gateway/0102030405060708/command/down", qos=1, payload=b"{}")
    time.sleep(0.3)
    assert not marker.exists()


def _csr(common_name: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("identity", ["loraless-cloud", "loraless-bridge-local", "Loraless-Cloud", "broker"])
def test_a_csr_naming_an_identity_of_the_cloud_itself_is_not_signed(cloud: Any, identity: str) -> None:
    aws, _ = cloud
    iot = _client("iot", aws.url)
    with pytest.raises(iot.exceptions.ClientError) as refused:
        iot.create_certificate_from_csr(certificateSigningRequest=_csr(identity), setAsActive=True)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_csr_for_an_application_is_signed(cloud: Any) -> None:
    aws, _ = cloud
    created = _client("iot", aws.url).create_certificate_from_csr(
        certificateSigningRequest=_csr("0123456789abcdef0123456789abcdef"), setAsActive=True
    )
    assert "BEGIN CERTIFICATE" in created["certificatePem"]
