"""A test OPC UA server on loopback that emits AlarmConditionType events (asyncua's server has no alarm state
machine, so this script sets the condition fields itself), for tests/storage/test_opcua_follow.py and
bench/opcua_follow.py.

    python -m bench.opcua_alarm_server --port 48400 --state S.json --log L.jsonl --count 300 --rate 200

Emits `--count` transitions in all at `--rate` per second over `--conditions` conditions, each cycling through
active -> acknowledged -> cleared (condition 0 also shelved -> unshelved, condition 1 cleared before its
acknowledgement and out of service -> in service). Every emitted transition is appended to `--log`; the progress
and the conditions' states live in `--state`, so a restarted server resumes where it stopped and its retained
conditions answer ConditionRefresh. Emission waits for a client's event subscription. SIGTERM: stop emitting, let
the last notifications go out, exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from asyncua import Server, ua

CYCLES = {
    0: ["active", "acknowledged", "cleared", "shelved", "unshelved"],
    1: ["active", "cleared", "acknowledged", "out_of_service", "in_service"],
}
PLAIN = ["active", "acknowledged", "cleared"]
UNSHELVED, ONE_SHOT_SHELVED = 2930, 2936  # ShelvedStateMachineType states


def tag_of(k: int) -> str:
    return f"TIC-{101 + k}"


def _fresh_state(conditions: int) -> dict:
    return {"seq": 0, "conditions": [
        {"step": 0, "active": False, "acked": True, "shelved": False, "oos": False,
         "active_at": None, "acked_at": None, "shelved_at": None, "oos_at": None}
        for _ in range(conditions)
    ]}  # fmt: skip


def _save(path: Path, state: dict) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, path)


async def _generator(server: Server, idx: int, k: int):
    generator = await server.get_event_generator(ua.ObjectIds.AlarmConditionType, ua.ObjectIds.Server)
    event = generator.event
    event.add_property("ShelvingState/CurrentState/Id", ua.NodeId(UNSHELVED), ua.VariantType.NodeId)
    for name in ("ShelvingState/LastTransition/TransitionTime", "ActiveState/TransitionTime",
                 "AckedState/TransitionTime", "OutOfServiceState/TransitionTime"):  # fmt: skip
        event.add_property(name, None, ua.VariantType.DateTime)  # asyncua types them by NodeId, which it cannot send
    event.NodeId = ua.NodeId(f"condition-{k}", idx)
    event.SourceName = tag_of(k)
    event.ConditionName = "HH"
    event.Severity = 700
    event.Message = ua.LocalizedText(f"{tag_of(k)} temperature high-high")
    return generator


def _apply(condition: dict, transition: str, moment: str) -> None:
    if transition == "active":
        condition.update(active=True, acked=False, active_at=moment)
    elif transition == "acknowledged":
        condition.update(acked=True, acked_at=moment)
    elif transition == "cleared":
        condition.update(active=False, active_at=moment)
    elif transition in ("shelved", "unshelved"):
        condition.update(shelved=transition == "shelved", shelved_at=moment)
    else:
        condition.update(oos=transition == "out_of_service", oos_at=moment)


async def _emit(generator, condition: dict, operator: str | None = None) -> None:
    event = generator.event
    as_time = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
    setattr(event, "ActiveState/Id", condition["active"])
    setattr(event, "ActiveState/TransitionTime", as_time(condition["active_at"]))
    setattr(event, "AckedState/Id", condition["acked"])
    setattr(event, "AckedState/TransitionTime", as_time(condition["acked_at"]))
    setattr(event, "SuppressedState/Id", False)
    setattr(event, "OutOfServiceState/Id", condition["oos"])
    setattr(event, "OutOfServiceState/TransitionTime", as_time(condition["oos_at"]))
    setattr(event, "ShelvingState/CurrentState/Id", ua.NodeId(ONE_SHOT_SHELVED if condition["shelved"] else UNSHELVED))
    setattr(event, "ShelvingState/LastTransition/TransitionTime", as_time(condition["shelved_at"]))
    event.ClientUserId = operator
    event.Retain = condition["active"] or not condition["acked"] or condition["shelved"] or condition["oos"]
    await generator.trigger()


def _subscribed(server: Server) -> bool:
    subscriptions = server.iserver.subscription_service.subscriptions.values()
    return any(s.monitored_item_srv._monitored_events for s in subscriptions)


async def main(args: argparse.Namespace) -> None:
    state = json.loads(args.state.read_text()) if args.state.exists() else _fresh_state(args.conditions)
    server = Server()
    server.iserver.bind_condition_methods = 1  # ConditionRefresh, with RefreshStart/End events of severity 1
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{args.port}/hmi-agent-test/")
    idx = await server.register_namespace("urn:hmi-agent:test-alarms")
    generators = [await _generator(server, idx, k) for k in range(len(state["conditions"]))]
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    async with server:
        for generator, condition in zip(generators, state["conditions"], strict=True):
            if condition["active"] or not condition["acked"] or condition["shelved"] or condition["oos"]:
                await _emit(generator, condition)  # retained: answers ConditionRefresh after the restart
        while not _subscribed(server) and not stopping.is_set():
            await asyncio.sleep(0.02)
        with args.log.open("a") as log:
            await _run(state, generators, args, log, stopping)
        await stopping.wait()
        await asyncio.sleep(0.5)  # two publishing intervals: the last notifications go out


async def _run(state: dict, generators: list, args: argparse.Namespace, log, stopping: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    started, sent = loop.time(), 0
    while state["seq"] < args.count and not stopping.is_set():
        k = state["seq"] % len(generators)
        condition = state["conditions"][k]
        cycle = CYCLES.get(k, PLAIN)
        transition = cycle[condition["step"] % len(cycle)]
        moment = datetime.now(UTC).isoformat()
        _apply(condition, transition, moment)
        operator = "op.test" if transition not in ("active", "cleared") else None
        await _emit(generators[k], condition, operator)
        log.write(json.dumps({"tag": tag_of(k), "state": transition, "time": moment}) + "\n")
        log.flush()
        condition["step"] += 1
        state["seq"] += 1
        _save(args.state, state)
        sent += 1
        await asyncio.sleep(max(started + sent / args.rate - loop.time(), 0))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_process(port: int, folder: Path, count: int, rate: float) -> subprocess.Popen:
    """This server in a process of its own, keeping its state and emission log in `folder`."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.opcua_alarm_server", "--port", str(port), "--state", str(folder / "state.json"),
         "--log", str(folder / "emitted.jsonl"), "--count", str(count), "--rate", str(rate)],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def emitted(folder: Path) -> list[dict]:
    """The transitions the server (all its runs) emitted so far."""
    path = folder / "emitted.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--conditions", type=int, default=6)
    asyncio.run(main(parser.parse_args()))
