"""Where a library already does the job, src/ uses it instead of reaching into it by hand."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pydantic_settings

import e27bridge

SRC = Path(e27bridge.__file__).parent


def _trees() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(SRC)), ast.parse(p.read_text())) for p in sorted(SRC.rglob("*.py"))]


def test_context_managers_are_entered_with_async_with() -> None:
    calls = [
        f"{name}:{node.lineno}"
        for name, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"__aenter__", "__aexit__", "__enter__", "__exit__"}
    ]
    assert calls == []


def test_broadcast_goes_through_allow_broadcast() -> None:
    uses = [
        f"{name}:{node.lineno}"
        for name, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "SO_BROADCAST"
    ]
    assert uses == []


def test_no_private_pydantic_settings_method_is_overridden() -> None:
    overrides = []
    for info in pkgutil.walk_packages([str(SRC)], "e27bridge."):
        if info.name.startswith("e27bridge.demo") or info.name.endswith("__main__"):
            continue  # optional extra (amqtt); running the CLI
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            library_bases = [
                b for b in cls.__mro__[1:] if b.__module__.startswith(pydantic_settings.__name__)
            ]
            for attr in vars(cls):
                private = attr.startswith("_") and not attr.startswith("__") and attr != "_abc_impl"
                if private and any(attr in vars(base) for base in library_bases):
                    overrides.append(f"{cls.__qualname__}.{attr}")
    assert overrides == []
