"""Alarms and one dashboard: function errors, throttles, dead letters and the network server's own metrics."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

NAMESPACE = "Loraless"
# The counters the network server publishes through Powertools Metrics (namespace "Loraless").
NETWORK_METRICS = ("Uplinks", "Joins", "DedupDrops", "MICFailures", "Replays", "Downlinks", "TxErrors")


class Monitoring(Construct):
    """Alarms notify one SNS topic; subscribe an e-mail or a chat hook to it after deploy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        functions: Mapping[str, lambda_.IFunction],
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True)
        action = cw_actions.SnsAction(self.topic)
        period = Duration.minutes(5)
        for name, function in functions.items():
            for kind, metric in (
                ("Errors", function.metric_errors(period=period)),
                ("Throttles", function.metric_throttles(period=period)),
            ):
                alarm = cw.Alarm(
                    self,
                    f"{name}{kind}",
                    metric=metric,
                    threshold=1,
                    evaluation_periods=1,
                    treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                    alarm_description=f"{name}: {kind.lower()} in the last 5 minutes",
                )
                alarm.add_alarm_action(action)
        dead = cw.Alarm(
            self,
            "DeadLetters",
            metric=dead_letters.metric_approximate_number_of_messages_visible(period=period),
            threshold=1,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description="Work that failed after retries is waiting in the dead-letter queue",
        )
        dead.add_alarm_action(action)

        dashboard = cw.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Network server",
                left=[
                    cw.Metric(namespace=NAMESPACE, metric_name=m, statistic="Sum", period=Duration.minutes(1))
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
