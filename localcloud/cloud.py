"""The whole Loraless system on one machine, wired from the synthesized CDK template.

IoT Core is Mosquitto with mutual TLS; its rules engine and data plane are `rules_engine` and
`aws_api`; Lambda is `lambda_runtime`; DynamoDB is moto's backend behind `dynamodb_server` (or
LocalStack, when the user points us at it); API Gateway and CloudFront are `api_gateway`. Nothing
here knows what a function does: the template says which handler runs for which topic or route, with
which environment.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from localcloud.api_gateway import ApiGateway
from localcloud.aws_api import AwsApi
from localcloud.certificates import CertificateAuthority
from localcloud.dynamodb import LocalDynamoDB, free_port
from localcloud.invocation_journal import InvocationJournal
from localcloud.lambda_runtime import LambdaService
from localcloud.mqtt import BrokerAccess, ServiceSession
from localcloud.policies import CLOUD_RULES, rules_from_template
from localcloud.rules_engine import RulesEngine
from localcloud.sigv4 import LocalCredentials
from localcloud.template import LOCAL_REGION, LocalTemplate, load
from localcloud.template_cache import synthesized

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("loraless.local")


class Broker(Protocol):
    """What the cloud needs from the MQTT broker in IoT Core's role."""

    ca: CertificateAuthority  # issues application certificates (IoT CreateCertificateFromCsr)

    def access_for(self, identity: str) -> BrokerAccess:
        """Broker address and a client certificate whose common name is `identity`."""
        ...

    def use_rules(self, rules: list[str]) -> None:
        """Enforce these publish/receive rules (policies.rules_from_template) from now on."""
        ...


UPLINK_HANDLER = "functions.network.handlers.uplink.handler"


@dataclass(frozen=True)
class CloudSettings:
    """Ports (0 picks a free one), where state lives, and what to start."""

    data_dir: Path = ROOT / ".local"
    api_port: int = 8090
    aws_port: int = 0
    dynamodb_endpoint: str | None = None  # e.g. http://localhost:4566 to use LocalStack instead of moto
    dynamodb_port: int = 0
    reset: bool = False
    concurrency: int = 4
    # The uplink function holds its environment through the de-duplication window (200 ms) of every
    # call, about 320 ms a call in all: 8 environments cap it near 25 uplinks/s, 16 near 50/s, the goal
    # rate (issue 16). Each working environment is ~30 MiB PSS since the models share one DynamoDB
    # client (bench/README.md, "Throughput of the local stack"); idle ones stop after 2 minutes.
    uplink_concurrency: int = 16
    context: dict[str, Any] = field(default_factory=dict)
    # Webhooks to loopback and private addresses are refused as on Lambda, unless the operator allows it.
    allow_private_webhooks: bool = False
    station_uris: tuple[str, str] | None = None  # Basics Station LNS and CUPS URIs the API hands out


def local_master_key(data_dir: Path) -> str:
    """The local stand-in for the KMS key: 32 random bytes, created once, readable by this user only."""
    path = data_dir / "master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def local_admin_api_key(data_dir: Path) -> str:
    """The local administrator API key: created once, kept readable by this user only."""
    from functions.appserver.auth import new_admin_key

    return _local_secret(data_dir / "admin-api-key", lambda: new_admin_key()[0])


ADMIN_EMAIL = "admin@localhost"


def local_admin_password(data_dir: Path) -> str:
    """The password of the local administrator (ADMIN_EMAIL), made at the first start."""
    return _local_secret(data_dir / "admin-password", lambda: secrets.token_urlsafe(12))


def local_aws_credentials(data_dir: Path) -> LocalCredentials:
    """The credentials the local AWS endpoints accept (and the functions sign with): made once."""
    key_id = _local_secret(data_dir / "aws-access-key-id", lambda: "LLOCAL" + secrets.token_hex(7).upper())
    secret = _local_secret(data_dir / "aws-secret-access-key", lambda: secrets.token_urlsafe(30))
    return LocalCredentials(key_id, secret)


def local_jwt_secret(data_dir: Path) -> str:
    """The local stand-in for the Secrets Manager secret that signs login sessions."""
    return _local_secret(data_dir / "jwt.secret", lambda: secrets.token_hex(32))


def _local_secret(path: Path, make: Callable[[], str]) -> str:
    """A value created once and kept readable by this user only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def private_directory(path: Path) -> None:
    """The data directory holds password hashes, sealed keys, a master key and decrypted payloads in
    dead letters: created 0700, and everything made in it from now on 0600 (umask 077 for this process
    and its children: functions, Mosquitto, the bridge)."""
    os.umask(0o077)
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)


class LocalCloud:
    """Starts every part in dependency order and stops them in reverse; `with LocalCloud(...)` works."""

    def __init__(
        self, broker: Broker, settings: CloudSettings | None = None, *, template: dict[str, Any] | None = None
    ) -> None:
        self.broker = broker
        self.settings = settings or CloudSettings()
        self._raw_template = template  # tests pass their own; otherwise the stack is synthesized
        self.template: LocalTemplate | None = None
        self.dynamodb: LocalDynamoDB | None = None
        self.lambdas: LambdaService | None = None
        self.aws_api: AwsApi | None = None
        self.rules: RulesEngine | None = None
        self.session: ServiceSession | None = None
        self.api: ApiGateway | None = None

    @property
    def snapshot(self) -> Path:
        return self.settings.data_dir / "dynamodb.json"

    @property
    def journal(self) -> Path:
        return self.settings.data_dir / "dynamodb.journal"

    @property
    def invocation_journal(self) -> Path:
        return self.settings.data_dir / "lambda-async.journal"

    def function_environment(self, dynamodb_url: str, aws_url: str) -> dict[str, str]:
        """What every function process sees besides the template's own variables."""
        access = self.broker.access_for("loraless-cloud")
        credentials = local_aws_credentials(self.settings.data_dir)
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "HOME": os.environ.get("HOME", str(ROOT)),
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_LAMBDA": aws_url,
            "AWS_ENDPOINT_URL_IOT_DATA": aws_url,
            "AWS_ENDPOINT_URL_IOT": aws_url,
            "LORALESS_MQTT_ENDPOINT": f"{access.host}:{access.port}",
            "LORALESS_MQTT_CA_FILE": str(access.ca_path),
            "LORALESS_LOCAL_MASTER_KEY": local_master_key(self.settings.data_dir),
            "LORALESS_ADMIN_API_KEY_SHA256": hashlib.sha256(
                local_admin_api_key(self.settings.data_dir).encode()
            ).hexdigest(),
            "LORALESS_JWT_SECRET": local_jwt_secret(self.settings.data_dir),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_FUNCTION_NAME": "local",
            "PYTHONUNBUFFERED": "1",
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true" if self.settings.allow_private_webhooks else "false",
            **({"VIRTUAL_ENV": sys.prefix} if sys.prefix != sys.base_prefix else {}),
            **self._station_environment(),
        }

    def _station_environment(self) -> dict[str, str]:
        if self.settings.station_uris is None:
            return {}
        lns, cups = self.settings.station_uris
        trust = self.broker.ca.ca_path
        return {"STATION_LNS_URI": lns, "STATION_CUPS_URI": cups, "STATION_TRUST_FILE": str(trust)}

    def bridge_environment(self) -> dict[str, str]:
        """What the bridge process needs for Basics Station: the station credentials table (to check
        tokens and record versions) and the key that opens sealed tokens for CUPS, as on AWS."""
        assert self.dynamodb is not None and self.template is not None
        tables = {
            name: value
            for function in self.template.functions.values()
            for name, value in function.environment.items()
            if name == "STATION_CREDENTIALS_TABLE"
        }
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_REGION": LOCAL_REGION,
            "AWS_ENDPOINT_URL_DYNAMODB": str(self.dynamodb.endpoint_url),
            "LORALESS_LOCAL_MASTER_KEY": local_master_key(self.settings.data_dir),
            **tables,
            **self.template.bridge_environment,  # what the deployed container publishes (Basic Ingest)
        }

    def start(self) -> LocalCloud:
        settings = self.settings
        private_directory(settings.data_dir)
        aws_port = settings.aws_port or free_port()
        aws_url = f"http://127.0.0.1:{aws_port}"
        raw = self._raw_template
        if raw is None:
            raw, kept = synthesized(settings.context, cache=settings.data_dir / "template.json")
            log.info("CDK template %s", "unchanged since the last start: kept" if kept else "synthesized")
        template = load(raw, iot_data_endpoint=f"127.0.0.1:{aws_port}")
        self.template = template
        rules = rules_from_template(raw)
        if rules != list(CLOUD_RULES):  # a template with IoT policies: the broker enforces exactly those
            self.broker.use_rules(rules)

        self.dynamodb = LocalDynamoDB(template.tables.values(), endpoint_url=settings.dynamodb_endpoint)
        if settings.reset:
            self.snapshot.unlink(missing_ok=True)
            self.journal.unlink(missing_ok=True)
            self.invocation_journal.unlink(missing_ok=True)
        if settings.dynamodb_endpoint is None:
            self.dynamodb.start_moto(port=settings.dynamodb_port, journal=self.journal)
        if settings.reset:
            self.dynamodb.drop_tables()
        self.dynamodb.create_tables()
        restored, replayed = self.dynamodb.recover(self.snapshot)
        log.info(
            "DynamoDB at %s: %d items restored, %d journaled writes replayed",
            self.dynamodb.endpoint_url, restored, replayed,
        )  # fmt: skip
        self.dynamodb.keep(self.snapshot)

        environment = self.function_environment(str(self.dynamodb.endpoint_url), aws_url)
        for function in template.functions.values():
            function.environment["IOT_DATA_ENDPOINT"] = aws_url  # plain HTTP locally
        self.lambdas = LambdaService(
            template.functions,
            environment,
            dead_letters=settings.data_dir / "dead-letters.jsonl",
            concurrency=settings.concurrency,
            journal=InvocationJournal(self.invocation_journal),
            concurrency_of={
                name: settings.uplink_concurrency
                for name, function in template.functions.items()
                if function.handler == UPLINK_HANDLER
            },
        )
        self.rules = RulesEngine(template.rules, self.lambdas.invoke_async)
        # A persistent session: while it reconnects, the broker keeps the QoS 1 messages of its
        # subscriptions (IoT Core's rules engine is no MQTT client and never misses one); a message is
        # acknowledged once the invocations it started are journaled, so a kill loses none of them.
        self.session = ServiceSession(
            self.broker.access_for("loraless-cloud"), "loraless-cloud",
            on_message_acknowledged=self.rules.on_message, persistent=True,
        ).start()  # fmt: skip
        self.session.subscribe(self.rules.topic_filters)
        self.aws_api = AwsApi(
            self.lambdas,
            self.session.publish,
            port=aws_port,
            sign_csr=self.broker.ca.sign_request,
            credentials=local_aws_credentials(settings.data_dir),
        ).start()
        self.lambdas.resume()  # what a kill interrupted, now that the endpoints the functions call are up
        if template.api_function is not None:
            self._bootstrap_admin(template.functions[template.api_function].environment | environment)
            web_root = ROOT / "web" / "dist"  # the web interface's build (make web)
            self.api = ApiGateway(
                self.lambdas,
                template.api_function,
                web_root=web_root if web_root.is_dir() else None,
                port=settings.api_port,
            ).start()
        return self

    def _bootstrap_admin(self, environment: dict[str, str]) -> None:
        """The first global administrator (ADMIN_EMAIL, password in the data directory), made with the
        same command an operator runs once on AWS, in the API function's environment."""
        if "USERS_TABLE" not in environment:
            return  # a template without accounts (tests of the local cloud itself)
        password = local_admin_password(self.settings.data_dir)
        result = subprocess.run(
            [sys.executable, "-m", "functions.appserver.bootstrap", "--email", ADMIN_EMAIL,
             "--password-file", str(self.settings.data_dir / "admin-password")],
            env=environment, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"creating the local administrator failed: {result.stderr.strip()[-500:]}")
        assert password  # made above, before the command reads it
        log.info(result.stdout.strip())

    def stop(self) -> None:
        """No new events in, in-flight invocations finished, then the APIs and DynamoDB go."""
        if self.session is not None:
            self.session.stop()
        if self.lambdas is not None:
            self.lambdas.close()
        for part in (self.api, self.aws_api):
            if part is not None:
                part.stop()
        if self.dynamodb is not None:
            try:
                self.dynamodb.save(self.snapshot)
            finally:
                self.dynamodb.stop()

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
