"""Size limits that keep src/ readable: modules up to 450 lines, functions up to complexity 15.

Complexity is radon's cyclomatic complexity (the ``dev`` extra). A module or function over
its limit is split by job, not exempted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import e27bridge

radon_complexity = pytest.importorskip("radon.complexity")
radon_visitors = pytest.importorskip("radon.visitors")

SRC = Path(e27bridge.__file__).parent
MAX_LINES = 450
MAX_COMPLEXITY = 15


def _modules() -> list[tuple[str, str]]:
    return [(str(p.relative_to(SRC)), p.read_text()) for p in sorted(SRC.rglob("*.py"))]


def module_lengths() -> dict[str, int]:
    return {name: len(text.splitlines()) for name, text in _modules()}


def complexities() -> dict[str, int]:
    found: dict[str, int] = {}
    for name, text in _modules():
        for block in radon_complexity.cc_visit(text):
            if not isinstance(block, radon_visitors.Class):
                key = f"{name}:{block.fullname}"
                found[key] = max(found.get(key, 0), block.complexity)
    return found


def over(measured: dict[str, int], limit: int) -> list[str]:
    return [
        f"{key}: {value} (limit {limit})"
        for key, value in sorted(measured.items())
        if value > limit
    ]


def test_no_module_is_longer_than_the_limit() -> None:
    assert over(module_lengths(), MAX_LINES) == []


def test_no_function_is_more_complex_than_the_limit() -> None:
    assert over(complexities(), MAX_COMPLEXITY) == []


def test_the_check_sees_an_offender() -> None:
    """The measurement itself works: a long, branchy function is caught."""
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(20))
    code = f"def f(x):\n{branches}\n    return -1\n"
    (block,) = radon_complexity.cc_visit(code)
    assert over({"m.py:f": block.complexity}, MAX_COMPLEXITY) == ["m.py:f: 21 (limit 15)"]
    assert over({"m.py": 451}, MAX_LINES) == ["m.py: 451 (limit 450)"]
