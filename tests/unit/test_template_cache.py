"""The local cloud keeps its synthesized CDK template between starts while nothing it was made from
changed (a restart after a crash would otherwise spend 10-40 s synthesizing with no bridge running)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localcloud.template_cache import Synthesis, synthesized


class Synth:
    def __init__(self, sources: list[Path]) -> None:
        self.sources = sources
        self.calls = 0

    def __call__(self, context: dict[str, Any]) -> Synthesis:
        self.calls += 1
        return {"Resources": {"n": self.calls}, "context": context}, [str(p) for p in self.sources]


def test_the_template_is_kept_until_a_source_or_the_context_changes(tmp_path: Path) -> None:
    stack, models = tmp_path / "stack.py", tmp_path / "models.py"
    stack.write_text("one")
    models.write_text("table")
    cache = tmp_path / "local" / "template.json"
    synth = Synth([stack, models])

    first, kept = synthesized({"bridge": True}, cache=cache, synthesize=synth)
    assert (kept, synth.calls) == (False, 1)
    assert cache.stat().st_mode & 0o777 == 0o600
    again, kept = synthesized({"bridge": True}, cache=cache, synthesize=synth)
    assert (again, kept, synth.calls) == (first, True, 1)

    models.write_text("table with another attribute")
    changed, kept = synthesized({"bridge": True}, cache=cache, synthesize=synth)
    assert (kept, synth.calls, changed["Resources"]) == (False, 2, {"n": 2})
    assert synthesized({"bridge": True}, cache=cache, synthesize=synth)[1] is True

    other, kept = synthesized({"bridge": False}, cache=cache, synthesize=synth)
    assert (kept, other["context"]) == (False, {"bridge": False})

    stack.unlink()  # a source gone: synthesized again
    synth.sources = [models]
    assert synthesized({"bridge": False}, cache=cache, synthesize=synth)[1] is False


def test_an_unreadable_cache_is_synthesized_again_and_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "template.json"
    cache.write_text("{ not json")
    synth = Synth([])
    assert synthesized({}, cache=cache, synthesize=synth)[1] is False
    assert synthesized({}, cache=cache, synthesize=synth)[1] is True


def test_without_a_cache_path_every_start_synthesizes(tmp_path: Path) -> None:
    synth = Synth([])
    synthesized({}, cache=None, synthesize=synth)
    synthesized({}, cache=None, synthesize=synth)
    assert synth.calls == 2
