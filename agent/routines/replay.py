"""Replays a recorded routine run: the same routine re-runs against the frames it saw, in the order it saw them,
with actions simulated, and the actions it would take are compared with the ones recorded.

Waits run on a virtual clock (a poll costs no real time), so a replay takes as long as parsing the frames. Goal
steps are not re-asked: they return their recorded outcome (their own agent session replays with `hmi-agent replay`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from agent.recording import load_manifest
from agent.routines.runner import RoutineRunner, default_parser
from agent.routines.schema import parse_routine
from agent.session_files import check_routine_manifest, session_image
from agent.settings import Settings
from perception.frames import Frame, ScreenGeometry

_COMPARED = ("kind", "x", "y", "button", "text", "key", "amount", "element_label")


class ReplayReport(BaseModel):
    session_dir: str
    routine: str
    recorded_status: str
    replayed_status: str
    recorded_failed_step: int | None
    replayed_failed_step: int | None
    recorded_actions: list[dict[str, Any]]
    replayed_actions: list[dict[str, Any]]
    differences: list[str]

    @property
    def matches(self) -> bool:
        return not self.differences

    def text(self) -> str:
        head = f"replay of {self.routine} ({self.session_dir}): {len(self.replayed_actions)} actions, status {self.replayed_status}"
        return head + (": same as recorded" if self.matches else "\n  " + "\n  ".join(self.differences))


class _RecordedFrames:
    """The run's frames in the order it grabbed them; EOFError when they run out."""

    def __init__(self, session_dir: Path, manifest: dict):
        geometry = {f["file"]: f.get("geometry") for f in manifest["frames"]}
        self.session_dir = session_dir
        self.grabs = [(e["file"], geometry.get(e["file"])) for e in manifest["events"] if e["kind"] == "frame"]
        self._next = 0

    def grab(self) -> Frame:
        if self._next >= len(self.grabs):
            raise EOFError(f"all {len(self.grabs)} recorded frames used")
        name, geometry = self.grabs[self._next]
        self._next += 1
        return Frame(
            image=session_image(self.session_dir, name),
            source=f"replay:{name}",
            captured_at=datetime.now(UTC),
            geometry=ScreenGeometry(**geometry) if geometry else None,
        )


class _RecordedGoals:
    """Stands in for HmiAgent during replay: each goal step gets the outcome its recording shows."""

    def __init__(self, manifest: dict):
        self.outcomes = [e for e in manifest["events"] if e["kind"] == "tool" and e["name"] == "goal"]

    def ask(self, goal: str, **_: Any):
        event = self.outcomes.pop(0)
        error = event.get("error") or ""
        refused = error.startswith("refused")
        answer = SimpleNamespace(text=event.get("output") or "", limited=bool(error) and not refused)
        pending = SimpleNamespace(reason="(recorded refusal)") if refused else None
        return SimpleNamespace(answer=answer, pending_action=pending, session_dir=None, steps=0)


def _actions(events: list[dict]) -> list[dict[str, Any]]:
    return [
        {"step": e["step"], **{k: e["planned"].get(k) for k in _COMPARED}}
        for e in events
        if e["kind"] == "tool" and e.get("executed") and e.get("planned")
    ]


def replay_run(session_dir: Path, *, parser: Callable = default_parser) -> ReplayReport:
    """Re-runs a recorded routine session; raises FileNotFoundError/ValueError when it is not one."""
    session_dir = Path(session_dir)
    recorded = load_manifest(session_dir)
    if recorded.get("kind") != "routine":
        raise ValueError(f"{session_dir} is an agent session, not a routine run: use `hmi-agent replay`")
    check_routine_manifest(recorded, session_dir)
    info = recorded["routine"]
    routine = parse_routine(info["text"], f"{session_dir}/manifest.json:routine")
    virtual_time = [0.0]

    def sleep(seconds: float) -> None:
        virtual_time[0] += seconds

    with tempfile.TemporaryDirectory(prefix="hmi-replay-") as scratch:
        goals = _RecordedGoals(recorded)
        runner = RoutineRunner(
            Settings(
                data_dir=Path(scratch),
                db_url=f"sqlite:///{scratch}/replay.sqlite",
                routine_webhook=None,
                screen_lock_dir=Path(scratch) / "locks",
            ),  # a replay drives no screen: it waits for no one
            source_factory=lambda _screen: _RecordedFrames(session_dir, recorded),
            parser=parser,
            agent_factory=lambda _settings, _source: goals,
            clock=lambda: virtual_time[0],
            sleep=sleep,
            notify=lambda _url, _record: True,
            dry=True,
        )
        result = runner.run(
            routine, routine_text=info["text"], mode=info["mode"], authorised=info["authorised"], trigger="replay"
        )
        replayed = load_manifest(Path(result.session_dir))
        runner.history.close()
    outcome = recorded.get("answer") or {}
    report = ReplayReport(
        session_dir=str(session_dir),
        routine=routine.name,
        recorded_status=outcome.get("status", "unfinished"),
        replayed_status=result.status,
        recorded_failed_step=outcome.get("failed_step"),
        replayed_failed_step=result.failed_step,
        recorded_actions=_actions(recorded["events"]),
        replayed_actions=_actions(replayed["events"]),
        differences=[],
    )
    report.differences = _differences(report)
    return report


def _differences(report: ReplayReport) -> list[str]:
    found = []
    if report.recorded_status != report.replayed_status or report.recorded_failed_step != report.replayed_failed_step:
        found.append(
            f"outcome: recorded {report.recorded_status} (step {report.recorded_failed_step}), "
            f"replayed {report.replayed_status} (step {report.replayed_failed_step})"
        )
    for i in range(max(len(report.recorded_actions), len(report.replayed_actions))):
        before = report.recorded_actions[i] if i < len(report.recorded_actions) else None
        after = report.replayed_actions[i] if i < len(report.replayed_actions) else None
        if before != after:
            found.append(f"action {i + 1}: recorded {before}, replayed {after}")
    return found
