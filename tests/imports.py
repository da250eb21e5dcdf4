"""Read a module's imports from its source (AST), for the layering and purity tests."""

from __future__ import annotations

import ast


def imported_modules(tree: ast.AST, module: str = "") -> list[tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in ``tree``, nested ones too.

    Relative imports are resolved against ``module`` (the importing module's own dotted
    name; a package's ``__init__`` is named after the package plus ``.__init__``).
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, *([base] if base else [])])
            if base:
                found.append((node.lineno, base))
    return found
