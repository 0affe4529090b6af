"""The KMS key for envelope encryption of root and session keys, and for the tables at rest."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


class Keys(Construct):
    """One customer-managed key with yearly rotation; retained so data stays readable after a teardown."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Loraless: envelope encryption of LoRaWAN keys and table encryption at rest",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
