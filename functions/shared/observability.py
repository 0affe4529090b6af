"""Logging, metrics and tracing of every Lambda, from Powertools, and the one decorator handlers wear.

Powertools Loggers of one service share their handler and appended keys, and Metrics instances share one
metric set, so the `logger` and `metrics` here are the same as any other module's `Logger()` and
`Metrics()`: a key a handler appends is on every line of its invocation, whichever module logs it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()  # service from POWERTOOLS_SERVICE_NAME, set per function by the stack
NAMESPACE = "Loraless"  # the stack's POWERTOOLS_METRICS_NAMESPACE and its alarms' (infra/monitoring.py)
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer()

# An invocation that counted nothing (a duplicate, a request that needed no count) is normal.
warnings.filterwarnings("ignore", message="No application metrics to publish")

type Handler[R] = Callable[[dict[str, Any], Any], R]


def lambda_handler[R](handler: Handler[R]) -> Handler[R]:
    """Wrap a Lambda handler: the invocation's context on every log line, keys appended by the previous
    invocation cleared, the metrics it counted flushed, and a trace of it. The trace never captures the
    response: some carry keys (a JoinAns holds the session keys)."""
    traced = tracer.capture_lambda_handler(handler, capture_response=False)
    logged = logger.inject_lambda_context(traced, clear_state=True)
    flushed: Handler[R] = metrics.log_metrics(logged)
    return flushed
