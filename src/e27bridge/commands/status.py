"""``e27bridge status``: a table of the running daemon's panels, from its health file.

The daemon rewrites ``health.json`` in its state directory within about a second of a
connection change or panel event (and every few seconds anyway), so reading it needs no
broker credentials and works the same on the host, under systemd and in ``docker exec``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from e27bridge.commands import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from e27bridge.commands.options import add_state_dir, state_dir_of
from e27bridge.daemon import health
from e27bridge.daemon.config import ConfigError
from e27bridge.daemon.health import HealthReport, PanelStatus
from e27bridge.protocol.discovery import format_mac

HELP = "show the running daemon's panels: state, address, RTT, queue, errors, last event"
COLUMNS = (
    "PANEL",
    "MAC",
    "STATE",
    "HOST:PORT",
    "RTT",
    "QUEUE",
    "RECONNECTS",
    "LAST ERROR",
    "LAST EVENT",
)
CLEAR = "\x1b[H\x1b[2J"


def configure(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="redraw every SECONDS until Ctrl-C (default: print once)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        state_dir = state_dir_of(args)
    except ConfigError as exc:
        print(f"e27bridge status: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.watch is not None and not args.watch > 0:
        print("e27bridge status: --watch needs a positive number of seconds", file=sys.stderr)
        return EXIT_USAGE
    if args.watch is None:
        return _show(state_dir, args.json, clear=False)
    try:
        while True:
            _show(state_dir, args.json, clear=sys.stdout.isatty())
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return EXIT_OK  # the way out of --watch


def _show(state_dir: Path, as_json: bool, *, clear: bool) -> int:
    try:
        report = health.read_health(state_dir)
    except health.HealthFileError as exc:
        print(f"e27bridge status: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    now = time.time()
    running = health.process_alive(report.pid)
    text = json.dumps(as_dict(report, now, running), indent=2) if as_json else table(report, now)
    if clear:
        text = CLEAR + text
    print(text, flush=True)
    if not running:
        print(f"e27bridge status: daemon process {report.pid} is not running", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def as_dict(report: HealthReport, now: float, running: bool) -> dict[str, Any]:
    return {
        "daemon": {
            "pid": report.pid,
            "running": running,
            "version": report.version,
            "mqtt_connected": report.mqtt_connected,
            "report_age": round(now - report.timestamp, 1),
            "internal_errors": list(report.internal_errors),
        },
        "panels": [{"id": pid, **_row(report, pid).to_dict()} for pid in sorted(report.panels)],
    }


def _row(report: HealthReport, panel_id: str) -> PanelStatus:
    """The panel's status, or just its state from a daemon that writes no details."""
    found = report.status.get(panel_id)
    return found or PanelStatus(mac="", state=report.panels[panel_id])


def table(report: HealthReport, now: float) -> str:
    mqtt = "MQTT connected" if report.mqtt_connected else "MQTT NOT connected"
    head = (
        f"e27bridge {report.version} (pid {report.pid}): {mqtt}; "
        f"report {max(0.0, now - report.timestamp):.0f} s old"
    )
    rows: list[tuple[str, ...]] = [COLUMNS]
    rows += [_cells(pid, _row(report, pid)) for pid in sorted(report.panels)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [head, ""]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines += [f"internal error: {error}" for error in report.internal_errors]
    return "\n".join(lines)


def _cells(panel_id: str, row: PanelStatus) -> tuple[str, ...]:
    address = f"{row.host}:{row.port}" if row.host else "-"
    event = "-"
    if row.last_event:
        at = time.strftime("%H:%M:%S", time.localtime(row.last_event_at or 0))
        event = f"{at} {row.last_event}"
    return (
        panel_id,
        _mac(row.mac),
        row.state,
        address,
        f"{row.rtt_ms:.0f} ms" if row.rtt_ms is not None else "-",
        str(row.queue_depth),
        str(row.reconnects),
        row.last_error or "-",
        event,
    )


def _mac(mac: str) -> str:
    try:
        return format_mac(mac)
    except ValueError:
        return mac or "-"
