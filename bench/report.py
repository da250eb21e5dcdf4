"""Markdown tables of a bench result: one table per section, nested keys flattened."""

from __future__ import annotations

from typing import Any


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict) and key != "statuses":
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, dict):
            out[prefix + key] = " ".join(f"{k}={v}" for k, v in sorted(value.items()))
        elif isinstance(value, list):
            out[prefix + key] = ", ".join(str(v) for v in value)
        else:
            out[prefix + key] = value
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|")


def table(rows: list[dict[str, Any]]) -> str:
    flat = [_flat(r) for r in rows]
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in flat]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    parts = [
        f"# Bench {'(quick) ' if results['quick'] else ''}{results['started']}",
        "",
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']}; load average "
        f"{m['load_average_at_start']} at start, {m.get('load_average_at_end')} at end.",
    ]
    for name, rows in results["sections"].items():
        seconds = results["seconds"].get(name)
        parts += ["", f"## {name} ({seconds} s)", "", table(rows)]
    return "\n".join(parts) + "\n"
