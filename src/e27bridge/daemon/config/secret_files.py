"""Secret files that every local user can read: warned about, not refused (issue 9).

Docker secrets are often mode 0444 inside their container, so refusing would break a
normal setup; outside a container the same mode hands link passphrases and MQTT
passwords to every account on the machine, so ``check-config`` and the daemon say so.
"""

from __future__ import annotations

import stat
from pathlib import Path

from e27bridge.daemon.config.models import Config


def secret_files(config: Config) -> list[tuple[str, Path]]:
    """Every configured file that holds a secret, with the option naming it."""
    named: list[tuple[str, Path | None]] = [
        ("mqtt.password_file", config.mqtt.password_file),
        ("mqtt.tls.key_file", config.mqtt.tls.key_file),
    ]
    for panel in config.panels:
        for option in ("access_code_file", "passphrase_file", "bypass_code_file"):
            named.append((f"panels[{panel.id}].{option}", getattr(panel, option)))
    return [(option, path) for option, path in named if path is not None]


def world_readable_secret_files(config: Config) -> list[tuple[str, Path]]:
    """The secret files any local user can read (mode o+r); unreadable ones are skipped."""
    found = []
    for option, path in secret_files(config):
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & stat.S_IROTH:
            found.append((option, path))
    return found


__all__ = ["secret_files", "world_readable_secret_files"]
