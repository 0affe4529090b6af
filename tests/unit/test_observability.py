"""The one handler decorator: invocation context on log lines, keys cleared between invocations, metrics
flushed as CloudWatch EMF, and the handler's answer returned untouched."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from functions.shared import observability
from functions.shared.observability import lambda_handler, logger, metrics


class Context:
    function_name = "Uplink"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:Uplink"
    aws_request_id = "request-1"


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "dev_eui" in event:
        logger.append_keys(dev_eui=event["dev_eui"])
    logger.info("handled")
    if event.get("count"):
        metrics.add_metric(name="Uplinks", unit=MetricUnit.Count, value=1)
    return {"status": "ok", "app_s_key": "00" * 16}


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_log_lines_carry_the_invocation_and_forget_the_previous_ones_keys() -> None:
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        assert handler({"dev_eui": "0102030405060708"}, Context()) == {"status": "ok", "app_s_key": "00" * 16}
        handler({}, Context())
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    first, second = [line for line in _lines(stream.getvalue()) if line.get("message") == "handled"]
    assert first["function_request_id"] == "request-1" and first["dev_eui"] == "0102030405060708"
    assert "dev_eui" not in second


def test_counted_metrics_are_flushed_at_the_end_of_the_invocation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler({"count": True}, Context())
    emf = [line for line in _lines(capsys.readouterr().out) if "_aws" in line]
    assert len(emf) == 1 and emf[0]["Uplinks"] == [1.0]
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Loraless"
    handler({}, Context())  # nothing counted: no metric line
    assert not [line for line in _lines(capsys.readouterr().out) if "_aws" in line]


def test_the_trace_never_captures_the_response(monkeypatch: pytest.MonkeyPatch) -> None:
    """Responses may carry keys (a JoinAns holds the session keys): X-Ray must not record them."""
    seen: dict[str, Any] = {}

    def capture_lambda_handler(function: Any, **options: Any) -> Any:
        seen.update(options)
        return function

    monkeypatch.setattr(observability.tracer, "capture_lambda_handler", capture_lambda_handler)
    observability.lambda_handler(lambda event, context: event)
    assert seen["capture_response"] is False
