"""Hosting for the web interface: a private S3 bucket behind CloudFront (origin access control)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

WEB_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"  # `make web` (setup builds it)


class Web(Construct):
    """Static single-page app; every unknown path falls back to index.html for client-side routing."""

    def __init__(self, scope: Construct, construct_id: str, *, logs_bucket: s3.IBucket, api_url: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=logs_bucket,
            server_access_logs_prefix="web/",
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            ),
            error_responses=[
                cloudfront.ErrorResponse(
                    http_status=404, response_http_status=200, response_page_path="/index.html"
                ),
                cloudfront.ErrorResponse(
                    http_status=403, response_http_status=200, response_page_path="/index.html"
                ),
            ],
            enable_logging=True,
            log_bucket=logs_bucket,
            log_file_prefix="cloudfront/",
        )
        if WEB_DIST.is_dir():
            s3_deployment.BucketDeployment(
                self,
                "Deploy",
                # config.json tells the bundle where the API is (locally the local cloud serves it).
                sources=[
                    s3_deployment.Source.asset(str(WEB_DIST)),
                    s3_deployment.Source.json_data("config.json", {"apiUrl": api_url}),
                ],
                destination_bucket=self.bucket,
                distribution=self.distribution,
            )
