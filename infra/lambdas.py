"""How every Loraless Lambda is made: python3.13 on arm64, shared code and dependency layer, JSON logs,
X-Ray tracing, Powertools settings, failed async invocations to the dead-letter queue."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.bundling import dependencies_code, function_code

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64


@dataclass(frozen=True)
class FunctionSpec:
    """One handler; `handler` is the dotted path Lambda imports (`functions.network.handlers.x.handler`)."""

    name: str
    handler: str
    description: str
    service: str
    memory_size: int = 512
    timeout: Duration = field(default_factory=lambda: Duration.seconds(10))
    environment: dict[str, str] = field(default_factory=dict)


class SharedCode(Construct):
    """One code asset and one dependency layer, uploaded once and used by every function."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.code = function_code()
        self.layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=dependencies_code(),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Loraless runtime dependencies from uv.lock",
        )


def make_function(
    scope: Construct,
    spec: FunctionSpec,
    *,
    shared: SharedCode,
    dead_letters: sqs.IQueue,
    environment: dict[str, str],
) -> lambda_.Function:
    """A function per spec; the environment is the stack-wide one plus the spec's own."""
    log_group = logs.LogGroup(scope, f"{spec.name}Logs", retention=logs.RetentionDays.ONE_MONTH)
    return lambda_.Function(
        scope,
        spec.name,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        code=shared.code,
        layers=[shared.layer],
        handler=spec.handler,
        description=spec.description,
        memory_size=spec.memory_size,
        timeout=spec.timeout,
        tracing=lambda_.Tracing.ACTIVE,
        logging_format=lambda_.LoggingFormat.JSON,
        log_group=log_group,
        dead_letter_queue=dead_letters,
        retry_attempts=2,
        environment={
            "POWERTOOLS_SERVICE_NAME": spec.service,
            "POWERTOOLS_METRICS_NAMESPACE": "Loraless",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **environment,
            **spec.environment,
        },
    )


class FunctionGroup(Construct):
    """The functions of one server (network or application), made from its SPECS."""

    SPECS: tuple[FunctionSpec, ...] = ()

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        shared: SharedCode,
        dead_letters: sqs.IQueue,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {
            spec.name: make_function(
                self, spec, shared=shared, dead_letters=dead_letters, environment=environment
            )
            for spec in self.SPECS
        }
