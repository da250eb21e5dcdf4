"""Nothing anyone publishes stops the bridge (issue 9).

A corpus of hostile payloads (deep nesting, huge, binary, invalid UTF-8, wrong JSON types,
wrong shapes) goes to every topic the bridge subscribes to, not retained and then retained,
against ``e27bridge run``. The daemon must answer every ``/set`` with exactly one
``invalid`` (with a reason), every bridge request with one response, never run a handler
into an exception, and after a restart with the worst of it retained reach ``ready`` and
execute commands.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiomqtt

from e2e.conftest import HASS_CONFIG, PANEL, PIN, RESPONSE, H, Stack, StackFactory
from e27bridge.mqtt.inbound import MAX_INBOUND_BYTES
from mqtt.capture import Received

from .brokers import keeping_broker  # noqa: F401 (the broker fixture)

# The corpus's republish requests that parse as objects each publish the whole tree, which
# comes back to the daemon (it subscribes to its own tree) and to the listener: thousands of
# messages in a burst. On a loaded machine either falls more than mosquitto's default 1,000
# queued messages behind (the daemon pauses reading while behind, ADR-0105) and the broker
# drops the overflow, a request among them: so a broker that keeps them.

DEEP = b"[" * 5000
STALL = 30.0  # s without a new answer before giving up
ANSWER_TIMEOUT = 30.0  # s for one command's result while the daemon works through the corpus


def _obj(**fields: object) -> bytes:
    return json.dumps(fields).encode()


CORPUS: list[tuple[str, bytes]] = [
    ("deep_list", DEEP),
    ("deep_object", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("deep_balanced", b"[" * 2000 + b"]" * 2000),
    ("deep_transaction", b'{"action":"disarm","code":1,"transaction":' + DEEP + b"}"),
    ("deep_in_string", b'{"x":"' + b"[" * 5000 + b'"}'),
    ("one_megabyte", b"x" * 1_000_000),
    ("one_megabyte_json", _obj(action="disarm", code=PIN, transaction="t" * 1_000_000)),
    ("over_inbound_limit", b" " * (MAX_INBOUND_BYTES + 1)),
    ("binary", bytes(range(256))),
    ("invalid_utf8", b'{"action":"\xff\xfe","panel":"\xc0"}'),
    ("nul", b"\x00"),
    ("json_null", b"null"),
    ("json_number", b"1e999"),
    ("json_nan", b"NaN"),
    ("json_string", b'"online"'),
    ("json_list", b"[1,2]"),
    ("components_list", b'{"components":[1,2]}'),
    ("components_string", b'{"components":"x"}'),
    ("components_bad", b'{"components":{"a":[1],"b":{"platform":{"x":1},"y":2}}}'),
    ("wrong_types", b'{"action":1,"code":[1],"transaction":{"a":[]},"panel":["home"]}'),
    ("code_object", _obj(action="disarm", code={"a": 1})),
    ("code_huge_int", b'{"action":"disarm","code":' + b"9" * 900 + b"}"),
    ("code_fullwidth", _obj(action="disarm", code="\uff17\uff13\uff19\uff11\uff14\uff16")),
    ("code_arabic_indic", _obj(action="disarm", code="\u0667\u0663\u0669\u0661\u0664\u0666")),
    ("code_float", _obj(action="disarm", code=1.5)),
]
SET_TOPICS = [
    f"{H}/area-1/command/set",
    f"{H}/area-1/chime/set",
    f"{H}/zone-1/command/set",
    f"{H}/zone-1/bypassed/set",
    f"{H}/light-1/level/set",
    f"{H}/lock-1/locked/set",
]
REQUEST_TOPICS = [
    f"e27bridge/bridge/request/{action}"
    for action in ("health_check", "resync", "republish", "explode")
]
OTHER_TOPICS = [
    HASS_CONFIG,
    "homeassistant/device/elsewhere/config",
    "homeassistant/status",
    "hass/status",
    f"{H}/area-1/state",
    f"{H}/ghost-9/value",
    f"{H}/area-1/command/$target",
]
WORST_RETAINED = [
    (HASS_CONFIG, b'{"components":[1,2]}'),
    (f"{H}/ghost-9/value", DEEP),
    (f"{H}/area-1/command/set", DEEP),
    ("e27bridge/bridge/request/health_check", DEEP),
]


def broker_drops(s: Stack) -> list[str]:
    """mosquitto's notices of messages it dropped for a slow client (none expected)."""
    log = (s.broker.directory / "mosquitto.log").read_text(errors="replace")
    return [line for line in log.splitlines() if "dropped" in line]


async def publish_all(port: int, messages: Sequence[tuple[str, bytes]], *, retain: bool) -> None:
    async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=1, retain=retain)


async def wait_count(
    s: Stack, start: int, predicate: Callable[[Received], bool], count: int
) -> list[dict[str, Any]]:
    """Wait until ``count`` messages after ``start`` satisfy ``predicate``; return their JSON.
    Patient while answers keep coming (a loaded machine), done after ``STALL`` s without one."""

    def found() -> list[Received]:
        return [m for m in s.listener.messages[start:] if predicate(m)]

    seen, last = 0, time.monotonic()
    while (now := len(found())) < count and time.monotonic() - last < STALL:
        if now > seen:
            seen, last = now, time.monotonic()
        await asyncio.sleep(0.05)
    matched = found()
    warnings = [line for line in s.daemon.log().splitlines() if '"level": "info"' not in line]  # type: ignore[attr-defined]
    assert len(matched) == count, (len(matched), count, broker_drops(s), warnings[-40:])
    return [m.json() for m in matched]


async def answers_commands(s: Stack) -> None:
    body = json.dumps({"action": "disarm", "code": PIN, "transaction": "alive"})
    mark = s.listener.mark()
    await s.send(f"{H}/area-1/command/set", body)
    try:  # retained /sets may still be getting their results
        answer = await s.listener.wait_for(
            lambda m: m.topic == RESPONSE and m.json()["transaction"] == "alive",
            timeout=ANSWER_TIMEOUT,
            start=mark,
        )
    except TimeoutError:
        raise AssertionError(
            f"no result for a disarm within {ANSWER_TIMEOUT:g} s", broker_drops(s)
        ) from None
    assert answer.json()["status"] == "ok", answer.json()


def assert_alive(s: Stack) -> None:
    proc = s.daemon.proc  # type: ignore[attr-defined]
    assert proc.returncode is None, s.daemon.log()  # type: ignore[attr-defined]
    log = s.daemon.log()  # type: ignore[attr-defined]
    assert "mqtt_handler_failed" not in log and "Traceback" not in log, log[-4000:]


async def test_hostile_payloads_on_every_topic_never_stop_the_bridge(stack: StackFactory) -> None:
    async with stack(subprocess=True) as s:
        mark = s.listener.mark()
        sets = [(t, p) for t in SET_TOPICS for _, p in CORPUS]
        requests = [(t, p) for t in REQUEST_TOPICS for _, p in CORPUS]
        others = [(t, p) for t in OTHER_TOPICS for _, p in CORPUS]
        await publish_all(s.broker.port, sets + requests + others, retain=False)

        results = await wait_count(s, mark, lambda m: m.topic == RESPONSE, len(sets))
        for (topic, payload), result in zip(sets, results, strict=True):
            assert result["topic"] == topic
            assert result["status"] == "invalid", (topic, payload[:60], result)
            assert result["error"]["reason"] not in (None, "", "internal_error"), result
        responses = await wait_count(
            s, mark, lambda m: m.topic.startswith("e27bridge/bridge/response/"), len(requests)
        )
        assert len(responses) == len(requests)
        await answers_commands(s)
        assert_alive(s)

        # Retained: the same corpus, then the payloads that crash-looped the daemon at start.
        mark = s.listener.mark()
        await publish_all(s.broker.port, sets + requests + others, retain=True)
        await publish_all(s.broker.port, WORST_RETAINED, retain=True)
        await answers_commands(s)
        assert_alive(s)
        answered = s.responses(mark)
        retained = [r for r in answered if r["status"] == "invalid"]
        assert all(r["error"]["reason"] == "retained" for r in retained), retained
        assert len(answered) - len(retained) == 1, "a retained /set was executed"

        mark = s.listener.mark()
        await s.restart_daemon()
        await s.wait_ready(start=mark)
        await answers_commands(s)
        assert_alive(s)
        # ... and the bridge's own discovery config replaced the hostile one.
        await s.listener.wait_for(
            lambda m: m.topic == HASS_CONFIG and b'"components":{"' in m.payload,
            timeout=ANSWER_TIMEOUT,
            start=mark,
        )
        for topic, _ in WORST_RETAINED + [(t, b"") for t in OTHER_TOPICS]:
            await publish_all(s.broker.port, [(topic, b"")], retain=True)
        assert PANEL in HASS_CONFIG
