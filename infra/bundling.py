"""Lambda code and dependencies bundled on this machine, without Docker.

The function code is the `functions/` package copied as is; the third-party dependencies go into one
layer built by `uv` from the lock file for the Lambda platform (python3.13, arm64), so what runs on AWS
is exactly what the tests ran against.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_PLATFORM = "aarch64-manylinux2014"
LAMBDA_PYTHON = "3.13"
# boto3/botocore are in the runtime already, but pinning ours keeps AWS and the tests on one version.
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "bridge", "simulator", "**/README.md"]


@jsii.implements(ILocalBundling)
class LockedDependencies:
    """Installs the locked runtime dependencies into `<out>/python` for a Lambda layer."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            requirements = Path(tmp) / "requirements.txt"
            subprocess.run(
                [
                    "uv", "export", "--frozen", "--no-dev", "--no-default-groups", "--no-hashes",
                    "--no-emit-project", "--output-file", str(requirements),
                ],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            subprocess.run(
                [
                    "uv", "pip", "install", "--quiet", "--requirement", str(requirements),
                    "--target", str(Path(output_dir) / "python"),
                    "--python-platform", LAMBDA_PLATFORM, "--python-version", LAMBDA_PYTHON,
                    "--only-binary", ":all:", "--no-compile",
                ],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
        return True


@jsii.implements(ILocalBundling)
class FunctionSources:
    """Copies `functions/` (without the container-only packages) as the Lambda code asset."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "bridge", "simulator")
        shutil.copytree(ROOT / "functions", Path(output_dir) / "functions", ignore=ignore, dirs_exist_ok=True)
        return True


def _local(bundler: object) -> BundlingOptions:
    # The image is never pulled: local bundling succeeds first; CDK requires one to be named.
    return BundlingOptions(image=DockerImage.from_registry("local-bundling-only"), local=bundler)  # type: ignore[arg-type]


def dependencies_code() -> lambda_.Code:
    """The layer asset: hashed on the lock file so it rebuilds only when dependencies change."""
    return lambda_.Code.from_asset(
        str(ROOT),
        exclude=["*", "!uv.lock", "!pyproject.toml"],
        bundling=_local(LockedDependencies()),
    )


def function_code() -> lambda_.Code:
    """The code asset shared by every function (one upload, many handlers)."""
    return lambda_.Code.from_asset(
        str(ROOT / "functions"),
        exclude=CODE_EXCLUDES,
        bundling=_local(FunctionSources()),
    )
