"""The protocol core stays sans-IO: no sockets, no event loop, no clock, no files.

Checked on the source (AST of every module under ``src/e27bridge/protocol/``) and at run
time (importing all of them in a fresh interpreter must not load the networking stack).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import e27bridge.protocol
from imports import imported_modules

PROTOCOL_DIR = Path(e27bridge.protocol.__file__).resolve().parent
MODULES = sorted(PROTOCOL_DIR.rglob("*.py"))

FORBIDDEN_IMPORTS = frozenset(
    {
        "asyncio",
        "socket",
        "time",
        "os",
        "io",
        "pathlib",
        "selectors",
        "threading",
        "subprocess",
        "ssl",
        "shutil",
        "tempfile",
        "importlib",
        "urllib",
        "http",
    }
)
FORBIDDEN_CALLS = frozenset({"open", "input", "print", "exec", "eval", "__import__"})
FORBIDDEN_METHODS = frozenset({"open", "read_text", "write_text", "read_bytes", "write_bytes"})


def _violations(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    problems: list[str] = []
    for line, module in imported_modules(tree):
        top = module.split(".")[0]
        if top in FORBIDDEN_IMPORTS:
            problems.append(f"{filename}:{line}: imports {module}")
        if top == "e27bridge" and not (
            module == "e27bridge.protocol" or module.startswith("e27bridge.protocol.")
        ):
            problems.append(f"{filename}:{line}: imports {module} from outside the core")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in FORBIDDEN_CALLS:
            problems.append(f"{filename}:{node.lineno}: calls {function.id}()")
        elif isinstance(function, ast.Attribute) and function.attr in FORBIDDEN_METHODS:
            problems.append(f"{filename}:{node.lineno}: calls .{function.attr}()")
    return problems


def test_the_core_has_modules() -> None:
    names = {path.stem for path in MODULES}
    assert {"framing", "envelope", "crypto", "hello", "linking", "messages", "correlator"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.stem)
def test_module_is_sans_io(path: Path) -> None:
    assert _violations(path.read_text(encoding="utf-8"), path.name) == []


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import os.path",
        "from time import monotonic",
        "from socket import socket as s",
        "import threading as t",
        "from e27bridge.panel import engine",
        "data = open('x').read()",
        "import pathlib\nPath = pathlib.Path",
        "def f(p):\n    return p.read_text()",
        "print('hello')",
    ],
)
def test_the_checker_catches_io(source: str) -> None:
    """The purity check is not vacuous: each of these snippets is flagged."""
    assert _violations(source, "snippet.py")


def test_the_checker_accepts_pure_code() -> None:
    source = (
        "from __future__ import annotations\n"
        "import json\nimport struct\nfrom dataclasses import dataclass\n"
        "from e27bridge.protocol.crc import crc16\nfrom .framing import Frame\n"
        "x = json.dumps({})\n"
    )
    assert _violations(source, "pure.py") == []


def test_importing_the_core_loads_no_networking() -> None:
    """Transitively, too: a fresh interpreter importing every module keeps these unloaded."""
    modules = [f"e27bridge.protocol.{path.stem}" for path in MODULES if path.stem != "__init__"]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(','.join(sorted(m for m in ('asyncio', 'socket', 'selectors', 'ssl', "
        "'subprocess') if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
