"""Markdown tables of a bench result: one table per section, nested keys flattened."""

from __future__ import annotations

from typing import Any

# Dicts shown as one cell ("k=v k=v") rather than a column per key.
INLINE = ("statuses", "by_domain")


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict) and key not in INLINE:
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
    parts += ["", "## targets (issue 14)", "", table(targets(results))]
    for name, rows in results["sections"].items():
        seconds = results["seconds"].get(name)
        parts += ["", f"## {name} ({seconds} s)", "", table(rows)]
    return "\n".join(parts) + "\n"


def _check(name: str, value: Any, ok: bool) -> dict[str, Any]:
    return {"target": name, "measured": value, "met": "yes" if ok else "NO"}


def _command_targets(row: dict[str, Any]) -> list[dict[str, Any]]:
    where = f"{row['broker']}, floor {row['floor_ms']:g} ms"
    out = []
    if row["service_ms"] == 0 and row["publishers"] == 1:
        over = row["latency_over_ideal_ms"]
        ok = over is not None and over <= 5
        out.append(_check(f"single command within 5 ms of ideal ({where})", f"{over} ms", ok))
    if row["service_ms"] in (2, 10) and row["publishers"] in (10, 50):
        name = f"throughput >= 0.95 x ideal ({where}, {row['service_ms']:g} ms service, "
        name += f"{row['publishers']} publishers)"
        out.append(_check(name, row["ratio_to_ideal"], row["ratio_to_ideal"] >= 0.95))
    return out


def _event_targets(row: dict[str, Any]) -> list[dict[str, Any]]:
    rate, where = row["rate"], f"({row['profile']})"
    p99 = row["p99_ms"]
    out = []
    if rate >= 1000:
        cpu, share, lost = row["cpu_ms_per_change"], row["cpu_share"], row["lost_final_states"]
        out.append(_check(f"< 0.5 ms CPU per zone change {where}", cpu, cpu < 0.5))
        out.append(_check(f"1,000 changes/s at < 50 % of a core {where}", share, share < 0.5))
        ok = p99 is not None and p99 < 50 and lost == 0
        out.append(_check(f"1,000 changes/s: p99 < 50 ms, none lost {where}", f"{p99} ms", ok))
    if rate == 100:
        ok = p99 is not None and p99 < 10
        out.append(_check(f"100 changes/s: p99 < 10 ms {where}", f"{p99} ms", ok))
    return out


def _bootstrap_targets(row: dict[str, Any]) -> list[dict[str, Any]]:
    where = f"({row['profile']})"
    engine = row["engine"]
    # Whole bootstraps (bench/bootstrap.py); from elke27's unpaced run when it stalls paced.
    theirs = row["elke27"] if row["elke27"]["ready"] else row.get("elke27_unpaced")
    out = []
    for label, ours in (("", engine["requests"]), (", warm", row["warm"]["requests"])):
        name = f"fewer requests than elke27{label} {where}"
        if theirs is None or not theirs["ready"]:
            out.append(_check(name, f"{ours} vs - (elke27 never ready)", False))
            continue
        how = f"{theirs['requests_at_ready']} at its ready"
        how += "" if theirs is row["elke27"] else "; unpaced, it stalls at the floor"
        measured = f"{ours} vs {theirs['requests']} ({how})"
        out.append(_check(name, measured, ours < theirs["requests"]))
    budget = row["time_over_floor_budget"]
    if budget is not None:
        name = f"bootstrap time within 5 % of requests x floor {where}"
        out.append(_check(name, budget, budget <= 1.05))
    again = engine.get("reconnect_after_drop_s")
    if again is not None:
        out.append(_check(f"ready < 5 s after a 5 s drop {where}", f"{again} s", again < 5))
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 14's targets with the measured figures (sections that did not run: none)."""
    s = results["sections"]
    out: list[dict[str, Any]] = []
    for row in s.get("commands", []):
        out += _command_targets(row)
    for row in s.get("events", []):
        out += _event_targets(row)
    for row in s.get("bootstrap", []):
        out += _bootstrap_targets(row)
    violations = sum(int(r.get("in_flight_violations", 0)) for rows in s.values() for r in rows)
    out.append(_check("in_flight_violations 0", violations, violations == 0))
    return out
