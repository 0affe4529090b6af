"""What a Lambda handler's code can touch, read statically from the modules it imports (transitively,
within `functions/`): the PynamoDB models it names, whether it reaches the key envelope, IoT publishing
and Lambda invocation. `tests/infra` compares this with the grants declared in `infra/access.py`."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class CodeUsage:
    modules: frozenset[str]
    models: frozenset[str]
    envelope: bool
    publishes: bool


def _path(module: str) -> Path | None:
    base = ROOT / module.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _tree(module: str) -> ast.Module:
    path = _path(module)
    assert path is not None, module
    return ast.parse(path.read_text())


# `functions.shared.interface` binds each server's offer at first use, inside the function that returns
# it: a module reaches the other server's code only by calling that function.
INTERFACE = "functions.shared.interface"
OFFERS = {
    "network_server": "functions.network.service",
    "application_server": "functions.appserver.service",
    "queue_requeue": "functions.appserver.requeue",
    "gateway_event_log": "functions.appserver.eventlog",
    "event_delivery": "functions.appserver.delivery",
    "queue_notice": "functions.network.queue_state",
}
MODELS_MODULES = frozenset(
    {
        "functions.network.models",
        "functions.appserver.models",
        "functions.shared.tables",
        "functions.shared.station_credentials",
        "functions.shared.frame_tables",
    }
)


def _module_level(tree: ast.Module) -> list[ast.AST]:
    """The nodes outside function bodies (the interface's late imports are inside them)."""
    nodes: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.FunctionDef))
    return nodes


def _imports(module: str) -> set[str]:
    path = _path(module)
    assert path is not None
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    tree = _tree(module)
    nodes = _module_level(tree) if module == INTERFACE else list(ast.walk(tree))
    if module != INTERFACE:
        names = _names(module)
        found.update(offer for call, offer in OFFERS.items() if call in names)
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parts, node.module] if node.module else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("functions") and _path(name) is not None}


def _names(module: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.rsplit(".", 1)[-1])
    return names


def closure(module: str) -> frozenset[str]:
    """`module`, its parent packages and everything of ours they import, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parts = current.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)) if _path(".".join(parts[:i])))
        todo.extend(_imports(current))
    return frozenset(seen)


def usage(handler: str, model_names: set[str]) -> CodeUsage:
    """What the handler (`package.module.function`) can reach. A model counts when any reached module
    other than the ones defining the models (and the interface's declarations) names it."""
    modules = closure(handler.rsplit(".", 1)[0])
    names = set().union(*(_names(m) for m in modules if m not in MODELS_MODULES | {INTERFACE}))
    return CodeUsage(
        modules=modules,
        models=frozenset(names & model_names),
        envelope="functions.shared.envelope" in modules,
        publishes=any("publish" in _names(m) and m != "functions.shared.aws" for m in modules)
        and "functions.shared.aws" in modules,
    )
