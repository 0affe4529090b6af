"""Alarms and one dashboard: function errors, throttles, dead letters and the network server's own metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

if TYPE_CHECKING:
    from infra.bridge import Bridge

NAMESPACE = "Loraless"
# The counters the network server publishes through Powertools Metrics (namespace "Loraless").
NETWORK_METRICS = ("Uplinks", "Joins", "DedupDrops", "MICFailures", "Replays", "Downlinks", "TxErrors")


class Monitoring(Construct):
    """Alarms notify one SNS topic, encrypted with the stack's key (whose policy lets CloudWatch use it),
    with `alarm_email` subscribed; more subscribers (chat hooks, a pager) can be added to the topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        functions: Mapping[str, lambda_.IFunction],
        dead_letters: sqs.IQueue,
        api: apigw.RestApi,
        bridge: Bridge | None = None,
        alarm_email: str = "",
        custom_metrics: bool = True,
        dashboard: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True)
        # CloudWatch publishes to the encrypted topic with the key's data keys (AWS: "Amazon SNS topic
        # encrypted with a customer managed key" needs kms:Decrypt and GenerateDataKey* for cloudwatch).
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.action = cw_actions.SnsAction(self.topic)
        period = Duration.minutes(5)
        for name, function in functions.items():
            for kind, metric in (
                ("Errors", function.metric_errors(period=period)),
                ("Throttles", function.metric_throttles(period=period)),
            ):
                self._alarm(f"{name}{kind}", metric, f"{name}: {kind.lower()} in the last 5 minutes")
        self._alarm(
            "DeadLetters",
            dead_letters.metric_approximate_number_of_messages_visible(period=period),
            "Work that failed after retries is waiting in the dead-letter queue",
        )
        self._alarm(
            "Api5xx",
            api.metric_server_error(period=period, statistic="Sum"),
            "The REST API answered 5xx in the last 5 minutes",
        )
        if bridge is not None:
            self._bridge_alarms(bridge, period)
        if dashboard:  # $3/month beyond the free tier's three; the Lambda console graphs the same
            self._dashboard(functions, custom_metrics=custom_metrics)

    def _alarm(
        self,
        construct_id: str,
        metric: cw.IMetric,
        description: str,
        *,
        threshold: float = 1,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING,
        evaluation_periods: int = 1,
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            treat_missing_data=missing,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.action)
        return alarm

    def _bridge_alarms(self, bridge: Bridge, period: Duration) -> None:
        """Fewer running tasks than desired, or (HA layout) any target the NLB finds unhealthy. The small
        layout has no Container Insights: there the service's free CPU metric counts the tasks (its
        SampleCount is the number of tasks that reported)."""
        dimensions = {"ClusterName": bridge.cluster.cluster_name, "ServiceName": bridge.service.service_name}
        if bridge.layout == "small":
            running = cw.Metric(
                namespace="AWS/ECS",
                metric_name="CPUUtilization",
                dimensions_map=dimensions,
                statistic="SampleCount",
                period=Duration.minutes(1),
            )
        else:
            running = cw.Metric(
                namespace="ECS/ContainerInsights",
                metric_name="RunningTaskCount",
                dimensions_map=dimensions,
                statistic="Minimum",
                period=Duration.minutes(1),
            )
        self._alarm(
            "BridgeRunningTasks",
            running,
            f"Fewer than {bridge.desired_count} bridge tasks running for 3 minutes (or no data: none)",
            threshold=bridge.desired_count,
            comparison=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cw.TreatMissingData.BREACHING,
            evaluation_periods=3,
        )
        if bridge.target_group is None:
            return
        unhealthy = bridge.target_group.metrics.un_healthy_host_count(
            period=Duration.minutes(1), statistic="Maximum"
        )
        self._alarm(
            "BridgeUnhealthyTargets",
            unhealthy,
            "The NLB finds a bridge task unhealthy (health endpoint not 200: MQTT down) for 3 minutes",
            evaluation_periods=3,
        )

    def _dashboard(self, functions: Mapping[str, lambda_.IFunction], *, custom_metrics: bool) -> None:
        """The network server's own counters need `log_level: INFO` (EMF lines carry no level, so Lambda
        filters them as INFO); the per-function graphs are Lambda's own metrics."""
        dashboard = cw.Dashboard(self, "Dashboard")
        if custom_metrics:
            dashboard.add_widgets(
                cw.GraphWidget(
                    title="Network server",
                    left=[
                        cw.Metric(
                            namespace=NAMESPACE, metric_name=m, statistic="Sum", period=Duration.minutes(1)
                        )
                        for m in NETWORK_METRICS
                    ],
                    width=24,
                )
            )
        dashboard.add_widgets(
            *[
                cw.GraphWidget(
                    title=name,
                    left=[function.metric_invocations(), function.metric_errors()],
                    right=[function.metric_duration(statistic="p99")],
                    width=8,
                )
                for name, function in functions.items()
            ]
        )
