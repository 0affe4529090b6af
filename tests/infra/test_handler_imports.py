"""Every handler imports against its own bundle with Python 3.13: the shared code asset as built for
`cdk deploy`, plus the dependency layer. The layer's native extensions are arm64 (checked in
test_deploy_rehearsal), so the import runs with a twin built here from the same lock for this machine's
platform, which must hold the same distributions at the same versions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import appserver, network
from infra.bundling import LockedDependencies
from tests.infra.conftest import Synthesized
from tests.infra.test_deploy_rehearsal import _assets

HOST_PLATFORM = {"x86_64": "x86_64-manylinux2014", "aarch64": "aarch64-manylinux2014"}[os.uname().machine]


@pytest.fixture(scope="session")
def host_layer(shipped: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("host-layer")
    LockedDependencies(platform=HOST_PLATFORM).try_bundle(str(out), image=None)  # type: ignore[arg-type]
    return out / "python"


def _distributions(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("*.dist-info")}


def test_the_host_twin_holds_the_same_distributions(shipped: Synthesized, host_layer: Path) -> None:
    assert _distributions(host_layer) == _distributions(_assets(shipped)["layer"] / "python")


@pytest.mark.parametrize("handler", sorted(spec.handler for spec in network.SPECS + appserver.SPECS))
def test_every_handler_imports_against_its_bundle(
    shipped: Synthesized, host_layer: Path, handler: str
) -> None:
    code = _assets(shipped)[handler]
    module, function = handler.rsplit(".", 1)
    environment = {
        "PATH": os.environ["PATH"], "PYTHONNOUSERSITE": "1",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
    }  # fmt: skip
    check = f"import importlib; assert callable(getattr(importlib.import_module({module!r}), {function!r}))"
    assert sys.version_info[:2] == (3, 13)  # python3.13, Lambda's runtime (the tests run on it)
    # -S: no site-packages (nothing of this environment leaks in); cwd "/": not the repository either
    script = f"import sys; sys.path[:0] = [{str(code)!r}, {str(host_layer)!r}]; {check}"
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
