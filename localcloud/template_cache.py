"""The CDK template the local cloud runs, synthesized in a child process and kept between starts.

Synthesizing takes 10-40 s of CPU (CDK's node process, jsii), which a restart after a crash spends while
no bridge takes the gateways' datagrams. The template only changes when the context or a file the
synthesis read changes, so it is kept in the data directory with the context, the CDK library's version
and a SHA-256 of every project file the synthesis imported (the stack's code, the table models, the
function specs, `cdk.json`), and used again while all of them are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Synthesis = tuple[dict[str, Any], list[str]]  # the template, and the files it was made from

_CHILD = """
import json, sys
from pathlib import Path
from localcloud.template import synthesize
root = Path(sys.argv[2])
template = synthesize(json.loads(sys.argv[1]))
sources = sorted({str(Path(m.__file__).resolve()) for m in list(sys.modules.values())
                  if getattr(m, "__file__", None) and Path(m.__file__).resolve().is_relative_to(root)
                  and ".venv" not in Path(m.__file__).parts})
json.dump({"template": template, "sources": sources + [str(root / "cdk.json")]}, sys.stdout)
"""


def synthesize_in_child(context: dict[str, Any]) -> Synthesis:
    """CDK runs on a node process (jsii) that would otherwise stay alive beside the cloud with ~450 MiB,
    and its Python side with it: a child process synthesizes and exits."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(context), str(ROOT)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"synthesizing the CDK app failed: {result.stderr.strip()[-2000:]}")
    answer = json.loads(result.stdout)
    return dict(answer["template"]), list(answer["sources"])


def _digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _cdk_version() -> str:
    try:
        return metadata.version("aws-cdk-lib")
    except metadata.PackageNotFoundError:
        return ""


def synthesized(
    context: dict[str, Any],
    *,
    cache: Path | None,
    synthesize: Callable[[dict[str, Any]], Synthesis] = synthesize_in_child,
) -> tuple[dict[str, Any], bool]:
    """The template for `context`, and whether it came from the cache. Without a cache path (tests that
    pass their own data directory each time may still give one), always synthesized."""
    key = {"context": context, "cdk": _cdk_version()}
    if cache is not None and cache.exists():
        try:
            kept = json.loads(cache.read_text())
            if kept["key"] == key and all(_digest(p) == h for p, h in kept["sources"].items()):
                return dict(kept["template"]), True
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # unreadable: synthesized again and written over
    template, sources = synthesize(context)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        kept = {"key": key, "sources": {p: _digest(p) for p in sources}, "template": template}
        partial = cache.with_suffix(".partial")
        partial.write_text(json.dumps(kept))
        partial.chmod(0o600)
        partial.replace(cache)
    return template, False
