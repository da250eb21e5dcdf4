"""Logging: JSON lines off a TTY, console on one, and no secret in any rendered line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from e27bridge.daemon.config import load_config
from e27bridge.daemon.logging import REDACTED, configure_logging, redact_secrets, resolve_format
from e27bridge.protocol.identity import LinkKeys

PIN = "482916"
ACCESS = "71530428"
PASSPHRASE = "correct horse battery"
PASSWORD = "mqtt-hunter2"
ENC = "00112233445566778899aabbccddeeff"
HMAC = "ffeeddccbbaa99887766554433221100"
SESSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SECRETS = (PIN, ACCESS, PASSPHRASE, PASSWORD, ENC, HMAC, SESSION)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def log_everything(tmp_path: Path) -> None:
    """A session's worth of log calls that carry secrets in every shape we know of."""
    log = structlog.get_logger("e27bridge.test")
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    (tmp_path / "c.toml").write_text(
        f'[mqtt]\nusername = "u"\npassword_file = "{tmp_path}/pw"\n'
        f'[[panels]]\nmac = "00:11:22:33:44:aa"\naccess_code = "{ACCESS}"\n'
        f'passphrase = "{PASSPHRASE}"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "c.toml", {})
    log.info("config_loaded", config=config, panel=config.panels[0], mqtt=config.mqtt)
    log.info("link_start", access_code=ACCESS, passphrase=PASSPHRASE)
    log.info("link_done", keys=LinkKeys(enc=ENC, hmac=HMAC), enc=ENC, hmac=HMAC)
    log.info("hello", sk=SESSION, shm=SESSION, session_key=SESSION)
    log.info("mqtt_connect", password=SecretStr(PASSWORD), url=f"mqtt://u:{PASSWORD}@h:1883")
    log.info(
        "command_received",
        topic="homie/5/home/area-1/command/set",
        payload=f'{{"action": "disarm", "code": "{PIN}"}}',
    )
    log.info("request_sent", request={"area": {"disarm": {"area_id": 1, "pin": int(PIN)}}})
    log.debug("frame", text=f"authenticate pin={PIN} user=1", items=[{"Code": PIN}])
    log.warning("escaped_json", raw=f'{{\\"pin\\":\\"{PIN}\\"}}')
    log.warning("set_ignored", topic="homie/5/home/area-1/code/set", payload=PIN.encode())
    logging.getLogger("aiomqtt").warning("connect with password=%s", PASSWORD)
    try:
        raise ValueError(f"bad reply for code={PIN}")
    except ValueError:
        log.exception("reply_failed", panel="home")


def test_json_lines_when_not_a_tty_and_no_secret_survives(tmp_path: Path) -> None:
    out = io.StringIO()
    configure_logging("DEBUG", "auto", out)
    log_everything(tmp_path)
    lines = out.getvalue().splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert [e["event"] for e in events] == [
        "config_loaded",
        "link_start",
        "link_done",
        "hello",
        "mqtt_connect",
        "command_received",
        "request_sent",
        "frame",
        "escaped_json",
        "set_ignored",
        "connect with password=[redacted]",
        "reply_failed",
    ]
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, (secret, line)
    by_event = {e["event"]: e for e in events}
    assert by_event["link_start"]["access_code"] == REDACTED
    assert by_event["request_sent"]["request"]["area"]["disarm"] == {"area_id": 1, "pin": REDACTED}
    assert by_event["request_sent"]["level"] == "info"
    assert "timestamp" in by_event["hello"]
    assert by_event["command_received"]["topic"] == "homie/5/home/area-1/command/set"
    assert "ValueError" in by_event["reply_failed"]["exception"]
    assert by_event["reply_failed"]["panel"] == "home"
    assert by_event["connect with password=[redacted]"]["logger"] == "aiomqtt"


def test_console_on_a_tty_is_redacted_too(tmp_path: Path) -> None:
    out = Tty()
    configure_logging("DEBUG", "auto", out)
    log_everything(tmp_path)
    text = out.getvalue()
    assert "config_loaded" in text
    assert not text.lstrip().startswith("{")
    for secret in SECRETS:
        assert secret not in text, secret


def test_level_filters_and_reconfigure_replaces_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", "json", first)
    configure_logging("WARNING", "json", second)
    log = structlog.get_logger("t")
    log.info("quiet")
    log.warning("loud", zone=3)
    assert first.getvalue() == ""
    assert [json.loads(x)["event"] for x in second.getvalue().splitlines()] == ["loud"]
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "e27bridge"]
    assert len(ours) == 1


def test_format_resolution_and_bad_level() -> None:
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("auto", Tty()) == "console"
    assert resolve_format("console", io.StringIO()) == "console"
    assert resolve_format("json", Tty()) == "json"
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD", "json", io.StringIO())


def test_redaction_leaves_ordinary_fields_alone() -> None:
    event = {
        "event": "zone_changed",
        "zone": 17,
        "error_code": 11,
        "encoding": "utf-8",
        "barcode": "x",
        "text": "zone 1234 opened",
        "sequence": [1, 2],
        "payload": "72",
        "data": {"zone": 1234},
    }
    assert redact_secrets(None, "info", dict(event)) == event
