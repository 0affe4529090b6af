"""API Gateway REST API in front of the application server's API function."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

THROTTLE_RATE = 200  # requests/s across the stage; a burst above it gets 429, not a Lambda bill
THROTTLE_BURST = 400


class Api(Construct):
    """A proxy API: the Powertools resolver does routing, validation and per-organization authorization."""

    def __init__(
        self, scope: Construct, construct_id: str, *, function: lambda_.IFunction, allow_origins: list[str]
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.THREE_MONTHS)
        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=function,
            proxy=True,
            description="Loraless REST API",
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                tracing_enabled=True,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=allow_origins,
                allow_headers=["Authorization", "Content-Type"],
                allow_methods=apigw.Cors.ALL_METHODS,
            ),
        )
        self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
