"""How every Loraless Lambda is made: python3.13 on arm64, shared code and dependency layer, JSON logs
filtered by level, X-Ray tracing as configured, Powertools settings, failed async invocations to the
dead-letter queue."""

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
class Observability:
    """Deploy-time log and trace settings shared by every function (`cdk.json`: `log_level`, `tracing`).

    Logs are JSON so Lambda filters them by level before CloudWatch ingests them ($0.50/GB): at `WARN`
    (the default) neither Lambda's own `platform.start`/`platform.report` lines nor the functions' INFO
    lines are sent, only warnings and errors (rejected frames, failed deliveries, exceptions). Lambda
    counts a line without a `level` (Powertools' EMF metrics) as INFO, so the network server's custom
    metrics (the dashboard's first graph) need `INFO` too; Lambda's own metrics (invocations, errors,
    duration, throttles) and every alarm do not depend on logs. `tracing`: `PassThrough` (default) traces
    only a call whose caller sampled it (IoT rules never do), `Active` lets Lambda sample (1 request/s and
    5 % of the rest per function, X-Ray's default rule, which Lambda applies: $5 per million traces).
    """

    log_level: str = "WARN"
    tracing: str = "PassThrough"

    @property
    def system_log_level(self) -> lambda_.SystemLogLevel:
        return {"DEBUG": lambda_.SystemLogLevel.DEBUG, "INFO": lambda_.SystemLogLevel.INFO}.get(
            self.log_level, lambda_.SystemLogLevel.WARN
        )

    @property
    def application_log_level(self) -> lambda_.ApplicationLogLevel:
        return lambda_.ApplicationLogLevel[{"WARNING": "WARN"}.get(self.log_level, self.log_level)]

    @property
    def tracing_mode(self) -> lambda_.Tracing:
        return lambda_.Tracing.ACTIVE if self.tracing.lower() == "active" else lambda_.Tracing.PASS_THROUGH

    def tracer_env(self, spec: FunctionSpec) -> dict[str, str]:
        """With `PassThrough`, a function whose callers never sample (IoT rules, the uplink function's
        invokes) records no trace, yet Powertools' tracer would patch botocore and build an unsampled
        subsegment around every AWS request: ~0.17 ms of CPU each (bench/README.md), 8 requests per
        uplink. It is turned off there; Lambda still traces the call itself if a caller ever sampled it."""
        if self.tracing_mode == lambda_.Tracing.ACTIVE or spec.sampled_callers:
            return {}
        return {"POWERTOOLS_TRACE_DISABLED": "true"}


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
    # Reached by a call that X-Ray may have sampled (API Gateway, or a function the API invokes): with
    # `PassThrough` only these record anything, so only these keep Powertools' tracer (see `tracer_env`).
    sampled_callers: bool = False


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
    observability: Observability,
    memory_size: int | None = None,
) -> lambda_.Function:
    """A function per spec; the environment is the stack-wide one plus the spec's own; `memory_size`
    (from `cdk.json`'s `function_memory`) overrides the spec's."""
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
        memory_size=memory_size or spec.memory_size,
        timeout=spec.timeout,
        tracing=observability.tracing_mode,
        logging_format=lambda_.LoggingFormat.JSON,
        system_log_level_v2=observability.system_log_level,
        application_log_level_v2=observability.application_log_level,
        log_group=log_group,
        dead_letter_queue=dead_letters,
        retry_attempts=2,
        environment={
            "POWERTOOLS_SERVICE_NAME": spec.service,
            "POWERTOOLS_METRICS_NAMESPACE": "Loraless",
            "POWERTOOLS_LOG_LEVEL": observability.application_log_level.value,
            **observability.tracer_env(spec),
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
        observability: Observability,
        memory: dict[str, int] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        for spec in self.SPECS:
            self.functions[spec.name] = make_function(
                self, spec, shared=shared, dead_letters=dead_letters, environment=environment,
                observability=observability, memory_size=(memory or {}).get(spec.name),
            )  # fmt: skip
