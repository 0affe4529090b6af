"""Lambda code and dependencies bundled on this machine, without Docker.

The function code is the `functions/` package copied as is; the third-party dependencies go into one
layer built by `uv` from the lock file for the Lambda platform (python3.13, arm64), so what runs on AWS
is exactly what the tests ran against.

Both carry compiled bytecode: `/var/task` and `/opt` are read-only, so without it every cold start
compiles every imported module again (bench/README.md: cold imports before and after). The `.pyc` files
are `unchecked-hash`: the asset zip does not keep file times, so time-stamped ones would never match.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def compile_bytecode(directory: Path) -> None:
    """Byte-compile every module under `directory` for python3.13, as Lambda's runtime will import it."""
    python = sys.executable if sys.version_info[:2] == (3, 13) else shutil.which("python3.13")
    if python is None:
        raise RuntimeError("compiling the Lambda bundles needs python3.13 (the functions' runtime)")
    # Not check=True: a dependency may ship a file for another Python version that does not compile;
    # that one module stays source-only, as it is today.
    subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         str(directory)],
        check=False, capture_output=True,
    )  # fmt: skip


@jsii.implements(ILocalBundling)
class LockedDependencies:
    """Installs the locked runtime dependencies into `<out>/python` for a Lambda layer. `platform` is
    Lambda's (arm64); the deploy rehearsal builds a twin for the host to import the handlers with."""

    def __init__(self, platform: str = LAMBDA_PLATFORM) -> None:
        self.platform = platform

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
                    "--python-platform", self.platform, "--python-version", LAMBDA_PYTHON,
                    "--only-binary", ":all:", "--no-compile",
                ],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
        compile_bytecode(Path(output_dir) / "python")
        return True


@jsii.implements(ILocalBundling)
class FunctionSources:
    """Copies `functions/` (without the container-only packages) as the Lambda code asset."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "bridge", "simulator")
        shutil.copytree(ROOT / "functions", Path(output_dir) / "functions", ignore=ignore, dirs_exist_ok=True)
        compile_bytecode(Path(output_dir) / "functions")
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
