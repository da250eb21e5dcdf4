"""``e27bridge demo`` as a user runs it: a real process, a real broker, real MQTT clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest

from e27bridge.cli import main
from mqtt.capture import retained_tree

from .conftest import SCRIPT, clean_env, free_port, read_until

PANEL = "e27-0050c2e27001"  # the simulator's MAC, as the default panel id
BRIDGE = "e27bridge-demo"
FAST = ("--time-scale", "20")


@contextlib.asynccontextmanager
async def demo(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    # The demo keeps its memory under $XDG_STATE_HOME unless --state-dir says otherwise.
    with tempfile.TemporaryDirectory(prefix="e27-demo-test-") as state_home:
        proc = await asyncio.create_subprocess_exec(
            str(SCRIPT),
            "demo",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=clean_env(XDG_STATE_HOME=state_home),
        )
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


def broker_of(line: str) -> tuple[str, int]:
    found = re.search(r"mqtt://([0-9.]+):(\d+)", line)
    assert found, line
    return found.group(1), int(found.group(2))


async def collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    async for raw in stream:
        into.append(raw.decode("utf-8", "replace").rstrip("\n"))


async def wait_for_state(
    client: aiomqtt.Client, wanted: dict[str, str | None], timeout: float
) -> dict[str, str]:
    """Messages until every topic in ``wanted`` has its value (None: any value)."""
    seen: dict[str, str] = {}

    def done() -> bool:
        return all(t in seen and (v is None or seen[t] == v) for t, v in wanted.items())

    async with asyncio.timeout(timeout):
        async for message in client.messages:
            payload = message.payload
            seen[str(message.topic)] = payload.decode() if isinstance(payload, bytes) else ""
            if done():
                return seen
    raise AssertionError(f"not all of {wanted} seen: {seen}")


async def test_demo_publishes_panel_state_and_exits_0_on_sigint() -> None:
    async with demo(*FAST) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        out: list[str] = []
        host, port = broker_of(await read_until(proc.stdout, "mqtt://", 30, out))
        await read_until(proc.stdout, "Live view", 10, out)
        banner = "\n".join(out)
        assert "(mosquitto started by the demo: " in banner  # installed: the real broker
        assert f"mosquitto_sub -h {host} -p {port} -v -t 'homie/5/#'" in banner
        assert f"homeassistant/device/{PANEL}/config" in banner
        err: list[str] = []
        readers = [
            asyncio.create_task(collect(proc.stdout, out)),
            asyncio.create_task(collect(proc.stderr, err)),
        ]

        state = f"homie/5/{PANEL}/$state"
        zone = f"homie/5/{PANEL}/zone-1/open"
        hass = f"homeassistant/device/{PANEL}/config"
        root = f"homie/5/{BRIDGE}/$state"
        async with aiomqtt.Client(host, port, identifier="demo-test") as client:
            for topic in (state, zone, hass, root):
                await client.subscribe(topic, qos=1)
            seen = await wait_for_state(
                client, {state: "ready", root: "ready", zone: None, hass: None}, timeout=30
            )
            assert seen[zone] in ("true", "false")
            discovery = json.loads(seen[hass])
            assert discovery["components"]["zone-1"]["state_topic"] == zone
            assert "12345678" not in seen[hass]  # the simulator's access code

            proc.send_signal(signal.SIGINT)
            started = time.monotonic()
            goodbye = ""
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(5):
                    async for message in client.messages:
                        if str(message.topic) == state:
                            goodbye = bytes(message.payload or b"").decode()
                            break
        code = await asyncio.wait_for(proc.wait(), 5)
        assert time.monotonic() - started < 5
        await asyncio.gather(*readers)

    assert code == 0, "\n".join(err)
    assert goodbye == "disconnected"  # the bridge said goodbye before the broker went away
    text = "\n".join(out)
    assert f"{PANEL}  connection connecting -> ready (3 areas, 96 zones" in text
    assert out[-1] == "stopped"
    assert not any("Traceback" in line or "never retrieved" in line for line in err), err


async def test_demo_against_a_given_broker_stops_after_duration(mosquitto: int) -> None:
    await publish_retained(mosquitto, "home/porch/light", b"on")
    async with aiomqtt.Client("127.0.0.1", mosquitto, identifier="demo-test") as client:
        state = f"homie/5/{PANEL}/$state"
        await client.subscribe(state, qos=1)
        async with demo(
            "--broker", f"127.0.0.1:{mosquitto}", "--profile", "small", "--duration", "4", *FAST
        ) as proc:
            assert proc.stdout is not None
            out: list[str] = []
            line = await read_until(proc.stdout, "mqtt://", 30, out)
            assert broker_of(line) == ("127.0.0.1", mosquitto)
            assert "your broker" in line
            reader = asyncio.create_task(collect(proc.stdout, out))
            await wait_for_state(client, {state: "ready"}, timeout=20)
            code = await asyncio.wait_for(proc.wait(), 10)
            await reader
        assert code == 0
        # mosquitto outlives the demo: the clean goodbye came before the demo tidied up.
        await wait_for_state(client, {state: "disconnected"}, timeout=5)
    output = "\n".join(out)
    assert re.search(r"removed the demo's \d+ retained topics from 127\.0\.0\.1:", output), output
    tree = await retained_tree(mosquitto)
    assert tree == {"home/porch/light": b"on"}  # the user's own retained topic stays


async def test_a_restarted_demo_keeps_its_link_and_panel_memory(
    mosquitto: int, tmp_path: Path
) -> None:
    state_dir = tmp_path / "demo-state"
    args = ("--broker", f"127.0.0.1:{mosquitto}", "--profile", "small", "--no-activity")
    link_file = state_dir / "bridge" / "links" / "0050C2E27001.json"
    keys: list[bytes] = []
    async with aiomqtt.Client("127.0.0.1", mosquitto, identifier="demo-test") as client:
        state = f"homie/5/{PANEL}/$state"
        await client.subscribe(state, qos=1)
        for _ in range(2):
            async with demo(*args, "--duration", "4", "--state-dir", str(state_dir), *FAST) as p:
                await wait_for_state(client, {state: "ready"}, timeout=20)
                assert await asyncio.wait_for(p.wait(), 10) == 0
            await wait_for_state(client, {state: "disconnected"}, timeout=5)
            keys.append(link_file.read_bytes())
    assert keys[0] == keys[1]  # the second demo used the stored keys: no new link
    panel = json.loads((state_dir / "panel.json").read_text())
    assert len(panel["links"]) == 1  # the simulated panel remembered the bridge
    assert (state_dir / "panel.json").stat().st_mode & 0o077 == 0


HIDE_MOSQUITTO = "import e27bridge.demo.broker as b; b.find_mosquitto = lambda: None\n"
HIDE_AMQTT = "import sys; sys.modules['amqtt'] = None; sys.modules['amqtt.broker'] = None\n"


def demo_with(hide: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The demo in a Python that cannot find mosquitto (and maybe not amqtt either)."""
    script = f"{hide}from e27bridge.cli import main\nraise SystemExit(main(['demo', *{args!r}]))"
    with tempfile.TemporaryDirectory(prefix="e27-demo-test-") as state_home:
        return subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(XDG_STATE_HOME=state_home),
            check=False,
        )


def test_demo_without_mosquitto_falls_back_to_amqtt_and_says_so() -> None:
    result = demo_with(HIDE_MOSQUITTO, "--profile", "small", "--duration", "3", *FAST)
    assert result.returncode == 0, result.stderr
    assert "(embedded amqtt broker: mosquitto is not installed)" in result.stdout
    assert result.stdout.splitlines()[-1] == "stopped"


def test_demo_without_any_broker_says_how_to_install_one_and_exits_2() -> None:
    result = demo_with(HIDE_MOSQUITTO + HIDE_AMQTT)
    assert result.returncode == 2
    assert "apt install mosquitto" in result.stderr
    assert "pip install 'e27bridge[demo]'" in result.stderr
    assert "--broker" in result.stderr


async def test_demo_broker_answers_every_command_and_keeps_to_subscriptions() -> None:
    """What amqtt got wrong: one of 30 commands lost, retained messages of other topics."""
    async with demo("--profile", "small", "--no-activity", *FAST) as proc:
        assert proc.stdout is not None
        out: list[str] = []
        host, port = broker_of(await read_until(proc.stdout, "mqtt://", 30, out))
        reader = asyncio.create_task(collect(proc.stdout, out))
        area = f"homie/5/{PANEL}/area-1/#"
        response = f"{BRIDGE}/{PANEL}/response"
        async with aiomqtt.Client(host, port, identifier="demo-test") as client:
            await client.subscribe(f"homie/5/{PANEL}/$state", qos=1)
            await wait_for_state(client, {f"homie/5/{PANEL}/$state": "ready"}, timeout=30)
            await client.subscribe(area, qos=1)
            await client.subscribe(response, qos=1)
            for n in range(30):
                body = "true" if n % 2 else "false"
                await client.publish(f"homie/5/{PANEL}/output-1/on/set", body, qos=1)
            answered = 0
            topics: set[str] = set()
            async with asyncio.timeout(30):
                async for message in client.messages:
                    topics.add(str(message.topic))
                    if str(message.topic) == response:
                        answered += 1
                        if answered == 30:
                            break
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        reader.cancel()
    assert answered == 30
    outside = {t for t in topics if t != response and not t.startswith(area[:-1])}
    assert outside <= {f"homie/5/{PANEL}/$state"}, outside  # only what was subscribed


async def publish_retained(port: int, topic: str, payload: bytes) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier="demo-test-setup") as client:
        await client.publish(topic, payload, qos=1, retain=True)


@pytest.mark.parametrize(
    "args",
    [
        ("--time-scale", "0"),
        ("--time-scale", "nan"),
        ("--duration", "-1"),
        ("--broker", "host:port"),
        ("--broker", "host:70000"),
        ("--profile", "huge"),
    ],
)
def test_demo_rejects_bad_arguments_with_exit_2(
    args: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", *args])
    assert exited.value.code == 2
    assert "usage: e27bridge demo" in capsys.readouterr().err


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    "mosquitto did not start"
                )
                time.sleep(0.02)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.mark.slow
def test_demo_script_shows_install_progress_then_runs_the_demo(tmp_path: Path) -> None:
    """``bash scripts/demo.sh`` as the README says, into a fresh virtual environment."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "demo.sh"
    result = subprocess.run(
        ["bash", str(script), "--profile", "small", "--duration", "2", *FAST],
        capture_output=True,
        text=True,
        timeout=900,
        env=clean_env(E27BRIDGE_VENV=str(tmp_path / "venv")),
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = [line for line in result.stderr.splitlines() if line.startswith("==> ")]
    assert steps[0] == f"==> creating the virtual environment {tmp_path / 'venv'}"
    assert steps[1].startswith("==> installing e27bridge and its dependencies")
    assert steps[2] == "==> mosquitto is installed: the demo starts its own on a free loopback port"
    assert "Successfully installed" in result.stdout  # pip's own progress, not hidden
    assert "(mosquitto started by the demo: " in result.stdout
    assert result.stdout.splitlines()[-1] == "stopped"
