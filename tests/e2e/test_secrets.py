"""A full session with every kind of secret, then every log line and retained topic scanned.

Linking (access code + passphrase), commands with user codes (right and wrong), the link
keys the panel handed out: none of them may appear in the daemon's DEBUG log or on MQTT.
"""

from __future__ import annotations

import json

from mqtt.capture import retained_tree

from .conftest import ACCESS_CODE, PASSPHRASE, PIN, WRONG_PIN, H, StackFactory, SubprocessDaemon


def command(action: str, code: int, transaction: str) -> str:
    return json.dumps({"action": action, "code": str(code), "transaction": transaction})


async def test_no_secret_reaches_logs_or_mqtt(stack: StackFactory) -> None:
    async with stack(subprocess=True) as s:
        assert isinstance(s.daemon, SubprocessDaemon)
        link = json.loads((s.state_dir / "links" / f"{s.sim.mac}.json").read_text())
        key_material = [link["enc"], link["hmac"]]
        _, wrong = await s.command(f"{H}/area-1/command/set", command("arm_away", WRONG_PIN, "w"))
        assert wrong["status"] == "rejected"
        _, armed = await s.command(f"{H}/area-1/command/set", command("arm_away", PIN, "a"))
        assert armed["status"] == "ok"
        _, disarmed = await s.command(f"{H}/area-1/command/set", command("disarm", PIN, "d"))
        assert disarmed["status"] == "ok"
        _, bypass = await s.command(f"{H}/zone-1/command/set", command("bypass", PIN, "b"))
        assert bypass["status"] in ("ok", "rejected")
        tree = await retained_tree(s.broker.port)
    log = s.daemon.log()
    assert '"event": "linked"' in log and "request_sent" in log  # a real DEBUG session
    secrets = [ACCESS_CODE, PASSPHRASE, str(PIN), str(WRONG_PIN), *map(str, key_material)]
    assert all(secrets)
    leaked = [secret[:3] + "..." for secret in secrets if secret in log]
    assert leaked == [], f"secrets in the daemon log: {leaked}"
    published = b"\n".join(tree.values()).decode("utf-8", "replace")
    assert [secret[:3] for secret in secrets if secret in published] == []
