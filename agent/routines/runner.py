"""Runs a routine against a screen: direct steps through the screen parser and ScreenActions, goal steps through
HmiAgent. Every run is recorded as a session (agent.recording format) and as a row of the run history.

Safety rules:
- one run per screen at a time (agent.routines.locks); a busy screen gives a `skipped` run, never a queued one;
- live actions need authorisation: the routine's `pre_authorised`, or an operator who confirmed at the CLI. Without
  it a live action step fails with "refused" (a scheduled run at 3 am has nobody to approve);
- every executed action is in the session and the history row before the next step starts; an abort (Ctrl-C,
  pyautogui fail-safe, a crash) still records the run as `aborted` with the last executed action.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from agent.recording import SessionRecorder, new_session_id
from agent.routines.history import RunHistory, RunRecord, new_run_id
from agent.routines.locks import screen_lock
from agent.routines.matching import condition_met, describe_elements, find_element, matching
from agent.routines.notify import post_webhook
from agent.routines.schema import (
    AssertStep,
    BaseStep,
    CaptureStep,
    ClickStep,
    FindStep,
    GoalStep,
    PressStep,
    ReadStep,
    Routine,
    TypeStep,
    WaitUntilStep,
)
from agent.settings import Settings
from perception.capture import FrameSourceError
from perception.frames import Frame
from perception.screen.model import Element, ScreenParse
from storage.timeutil import now_utc
from tools.actions import LiveInputUnavailable, PlannedAction, ScreenActions
from tools.result import ToolResult

log = logging.getLogger(__name__)
Trigger = Literal["manual", "schedule", "replay"]


class FrameSource(Protocol):
    def grab(self) -> Frame: ...


class StepFailed(Exception):
    """A step did not do what it should; the run fails at this step with this reason."""


class ActionRefused(StepFailed):
    """A live action without authorisation: retrying would not help."""


@dataclass
class Target:
    """An element found by a `find` step, with the frame and parse it was found on (what its id refers to)."""

    element: Element
    frame: Frame
    parse: ScreenParse


@dataclass
class _RunState:
    record: RunRecord
    recorder: SessionRecorder
    actions: ScreenActions
    source: FrameSource
    authorised: bool
    targets: dict[str, Target] = field(default_factory=dict)
    last_frame: Frame | None = None
    parse_cache: tuple[str, ScreenParse] | None = None
    profile: str | None = None  # the site profile the screen is read with


def default_parser(image, profile: str | None = None) -> ScreenParse:
    """The screen parser reading with a site profile (a shipped name or a YAML file; None: generic)."""
    from perception.screen import load_profile, parse_screen

    return parse_screen(image, profile=load_profile(profile))


def default_source(screen: int) -> FrameSource:
    from perception.capture import ScreenSource

    return ScreenSource(monitor=screen)


class RoutineRunner:
    """Runs routines; one instance serves many runs (the scheduler keeps one). Collaborators are injectable for
    replay and tests: where frames come from, how screens are parsed, how agents are made, the clock."""

    def __init__(
        self,
        settings: Settings,
        *,
        history: RunHistory | None = None,
        source_factory: Callable[[int], FrameSource] = default_source,
        parser: Callable[[Any], ScreenParse] = default_parser,
        agent_factory: Callable[[Settings, FrameSource], Any] | None = None,
        screen_size: tuple[int, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        notify: Callable[[str, RunRecord], bool] = post_webhook,
        dry: bool = False,
        long_running: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.progress = progress or (lambda line: None)  # `routine run`: a line per step as it starts and ends
        self.history = history or RunHistory(settings.db_url)
        self.source_factory = source_factory
        self.parser = parser
        self.agent_factory = agent_factory or self._default_agent
        self.screen_size = screen_size
        self.clock, self.sleep, self.notify = clock, sleep, notify
        self.dry = dry  # replay: actions are simulated whatever mode the run has (authorisation still checked)
        self._agents: dict[str, Any] = {}  # one agent per distinct goal-step settings, all sharing one model
        self._model: Any = None
        self._model_note: str | None = None  # why there is no model: goal steps get the parser's draft
        self.long_running = long_running  # the scheduler: compile and warm the model up once, at its first load
        self._model_loading = threading.Lock()  # routines firing together must not load the model twice

    def _default_agent(self, settings: Settings, source: FrameSource):
        """Goal steps differ in action mode, regions and time limit, never in the model: it is loaded once. Without
        an installed model (or with HMI_AGENT_BACKEND=none) they get the screen parser's draft, saying why."""
        from agent.model_state import load_or_explain
        from agent.runner import HmiAgent

        with self._model_loading:
            if self._model is None and self._model_note is None:
                self._model, self._model_note = load_or_explain(settings, long_running=self.long_running)
        return HmiAgent(settings, screen_source=source, model=self._model, model_note=self._model_note)

    def recover_interrupted(self) -> list[RunRecord]:
        """Marks runs left `running` by a process that died as `aborted` (their screen lock is free again)."""
        recovered = []
        for record in self.history.running():
            with screen_lock(self.settings.screen_lock_dir, record.screen) as free:
                if free:
                    reason = (
                        f"the process running it ended mid-run; last executed action: {record.last_action or 'none'}"
                    )
                    self.history.update(record.id, status="aborted", reason=reason, finished_at=now_utc())
                    recovered.append(record)
        return recovered

    # ------------------------------------------------------------------ one run

    def run(
        self,
        routine: Routine,
        *,
        routine_text: str | None = None,
        routine_path: Path | None = None,
        mode: Literal["simulated", "live"] | None = None,
        authorised: bool | None = None,
        trigger: Trigger = "manual",
    ) -> RunRecord:
        """Runs `routine` once and returns its history record (passed / failed / aborted / skipped).

        `mode` overrides the routine's and the settings'; `authorised` defaults to the routine's `pre_authorised`.
        KeyboardInterrupt is recorded as `aborted` and then re-raised.
        """
        mode = mode or routine.mode or self.settings.action_mode
        authorised = routine.pre_authorised if authorised is None else authorised
        with screen_lock(self.settings.screen_lock_dir, routine.screen) as acquired:
            if not acquired:
                reason = f"screen {routine.screen} is busy with another routine run"
                log.warning("routine %s skipped: %s", routine.name, reason)
                record = self.history.record_skipped(
                    routine.name, screen=routine.screen, mode=mode, trigger=trigger, reason=reason
                )
                self._notify(routine, record)
                return record
            return self._run_locked(routine, routine_text, routine_path, mode, authorised, trigger)

    def _run_locked(self, routine, routine_text, routine_path, mode, authorised, trigger) -> RunRecord:
        record = RunRecord(
            id=new_run_id(),
            routine=routine.name,
            trigger=trigger,
            screen=routine.screen,
            mode=mode,
            status="running",
            started_at=now_utc(),
        )
        recorder = SessionRecorder(
            self.settings.sessions_dir,
            session_id=new_session_id(f"routine-{routine.name}-{record.id}", record.started_at),
        )
        record.session_dir = str(recorder.dir)
        recorder.manifest.update(
            kind="routine",
            routine={
                "name": routine.name,
                "run_id": record.id,
                "trigger": trigger,
                "mode": mode,
                "screen": routine.screen,
                "authorised": authorised,
                "path": str(routine_path) if routine_path else None,
                "text": routine_text if routine_text is not None else _as_yaml(routine),
            },
        )
        recorder.start(
            question=f"routine {routine.name}",
            thread_id=record.id,
            language="en",
            model_id="",
            settings={"action_mode": mode, "screen": routine.screen, "allowed_regions": routine.allowed_regions},
        )
        self.history.start(record)
        state = _RunState(
            record=record,
            recorder=recorder,
            actions=ScreenActions(
                mode="simulated" if self.dry else mode,
                allowed_regions=routine.allowed_regions or self.settings.allowed_regions,
                min_interval=self.settings.min_action_interval,
                screen_size=self.screen_size,
            ),
            source=self.source_factory(routine.screen),
            authorised=authorised,
            profile=routine.profile or self.settings.site_profile,
        )
        number, step = 0, None
        try:
            for number, step in enumerate(routine.steps, start=1):
                self._run_with_retries(routine, number, step, state)
            record.status = "passed"
        except StepFailed as e:
            self._fail(state, number, step, str(e))
        except KeyboardInterrupt:
            self._abort(state, number, step, "interrupted (Ctrl-C)")
            raise
        except (
            FrameSourceError,
            LiveInputUnavailable,
        ) as e:  # no display, a monitor gone: the machine's state, not our bug
            log.warning("routine %s run %s aborted at step %s: %s", routine.name, record.id, number, e)
            self._abort(state, number, step, str(e))
        except Exception as e:  # pyautogui's fail-safe, a dead X server, our bug: record it, never leave it half-told
            stop = type(e).__name__ == "FailSafeException"
            reason = (
                "operator emergency stop (mouse thrown into a screen corner)" if stop else f"{type(e).__name__}: {e}"
            )
            log.exception("routine %s run %s aborted at step %s", routine.name, record.id, number)
            self._abort(state, number, step, reason)
        finally:
            self._finish(routine, state)
        return record

    # ------------------------------------------------------------------ steps

    def _run_with_retries(self, routine: Routine, number: int, step: BaseStep, state: _RunState) -> None:
        attempts = routine.step_retries(step) + 1
        self.progress(f"step {number}/{len(routine.steps)} {step.describe()}")
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                self._run_step(routine, number, step, state)
            except ActionRefused:
                raise
            except StepFailed as e:
                self.progress(f"  failed (attempt {attempt}/{attempts}, {time.monotonic() - started:.1f} s): {e}")
                if attempt == attempts:
                    raise
                log.info("routine %s step %d attempt %d/%d failed: %s", routine.name, number, attempt, attempts, e)
                state.recorder.node(
                    f"{step.kind} failed, retrying: {e}", step=number, seconds=time.monotonic() - started
                )
                continue
            state.recorder.node(step.kind, step=number, seconds=time.monotonic() - started)
            self.progress(f"  ok ({time.monotonic() - started:.1f} s)")
            return

    def _run_step(self, routine: Routine, number: int, step: BaseStep, state: _RunState) -> None:
        if isinstance(step, CaptureStep):
            self._grab(state, number, "capture")
        elif isinstance(step, FindStep):
            self._find(routine, number, step, state)
        elif isinstance(step, ReadStep):
            found = matching(step.read, self._parse(state, self._grab(state, number, "read")))
            lines = [e.hint() for e in found]
            log.info("routine %s step %d read %d elements: %s", routine.name, number, len(found), "; ".join(lines))
            state.recorder.tool_call(
                step=number,
                name="read",
                arguments=step.read.model_dump(exclude_none=True),
                result=ToolResult(output=f"{len(found)} elements\n" + "\n".join(lines)),
                seconds=0.0,
            )
        elif isinstance(step, ClickStep):
            self._click(number, step, state)
        elif isinstance(step, TypeStep):
            self._act(number, state, "type_text", {"text": step.type})
        elif isinstance(step, PressStep):
            self._act(number, state, "press_key", {"key": step.press})
        elif isinstance(step, WaitUntilStep):
            self._wait_until(routine, number, step, state)
        elif isinstance(step, AssertStep):
            met, found = condition_met(step.condition, self._parse(state, self._grab(state, number, "assert")))
            if not met:
                raise StepFailed(f"assertion failed: {step.condition.summary()}{_seen(step.condition, found)}")
        elif isinstance(step, GoalStep):
            self._goal(routine, number, step, state)
        else:  # a new step kind without a runner branch is our bug
            raise TypeError(f"no runner for step kind {step.kind!r}")

    def _find(self, routine: Routine, number: int, step: FindStep, state: _RunState) -> None:
        deadline = self.clock() + routine.step_timeout(step)
        while True:
            frame = self._grab(state, number, "find")
            parse = self._parse(state, frame)
            element = find_element(step.find, parse)
            if element is not None:
                state.targets[step.as_] = Target(element, frame, parse)
                return
            if self.clock() >= deadline:
                near = matching(step.find.model_copy(update={"nth": 1}), parse)
                seen = f"; {len(near)} matched: {describe_elements(near)}" if near else ""
                raise StepFailed(
                    f"no element matching {step.find.summary()} within {routine.step_timeout(step):g}s "
                    f"({len(parse.elements)} elements on screen{seen})"
                )
            self.sleep(routine.step_poll(step))

    def _wait_until(self, routine: Routine, number: int, step: WaitUntilStep, state: _RunState) -> None:
        deadline = self.clock() + routine.step_timeout(step)
        while True:
            met, found = condition_met(step.wait_until, self._parse(state, self._grab(state, number, "wait_until")))
            if met:
                return
            if self.clock() >= deadline:
                raise StepFailed(
                    f"timed out after {routine.step_timeout(step):g}s waiting until {step.wait_until.summary()}"
                    f"{_seen(step.wait_until, found)}"
                )
            self.sleep(routine.step_poll(step))

    def _click(self, number: int, step: ClickStep, state: _RunState) -> None:
        name = "double_click" if step.double else "click"
        if isinstance(step.click, str):
            target = state.targets[step.click]  # validation guarantees an earlier find named it
            state.actions.bind_frame(target.frame, target.parse)
            arguments = {"element_id": target.element.id} | ({} if step.double else {"button": step.button})
            self._act(number, state, name, arguments, bound=True)
        else:
            self._act(
                number, state, name, {"x": step.click.x, "y": step.click.y, "button": step.button}, screen_point=True
            )

    def _act(
        self,
        number: int,
        state: _RunState,
        name: str,
        arguments: dict,
        *,
        bound: bool = False,
        screen_point: bool = False,
    ) -> None:
        """Plans, checks authorisation, executes and records one action."""
        if state.record.mode == "live" and not state.authorised:
            raise ActionRefused(
                f"refused live {name} {arguments}: the routine is not pre_authorised and nobody approved this run"
            )
        if not bound:
            state.actions.bind_frame(state.last_frame or self._grab(state, number, "action"), None)
        planned = (
            _screen_point_action(name, arguments, state.last_frame)
            if screen_point
            else state.actions.plan(name, arguments)
        )
        if isinstance(planned, ToolResult):
            raise StepFailed(planned.error)
        started = time.monotonic()
        try:
            result = state.actions.execute(planned)
        except BaseException:  # the action may have half-happened (fail-safe): it is in actions.history, record it
            self._record_action(
                state, number, name, arguments, planned, state.actions.history[-1:], time.monotonic() - started
            )
            raise
        executed = result.data is not None and result.error is None
        self._record_action(
            state,
            number,
            name,
            arguments,
            planned,
            [result.data] if executed else [],
            time.monotonic() - started,
            result,
        )
        if result.error:
            raise StepFailed(result.error)

    def _record_action(self, state, number, name, arguments, planned, records, seconds, result=None) -> None:
        executed = bool(records)
        state.recorder.tool_call(
            step=number,
            name=name,
            arguments=arguments,
            result=result or ToolResult(error=records[0].outcome if executed else "not executed"),
            seconds=seconds,
            planned=planned.model_dump(mode="json"),
            executed=executed,
            approved_by="pre-authorised routine" if state.authorised and state.record.mode == "live" else None,
        )
        if executed:
            state.record.actions += 1
            state.record.last_action = f"step {number}: {planned.reason} ({records[0].outcome})"
            self.history.update(state.record.id, actions=state.record.actions, last_action=state.record.last_action)

    def _goal(self, routine: Routine, number: int, step: GoalStep, state: _RunState) -> None:
        settings = self.settings.model_copy(
            update={
                "action_mode": state.record.mode,
                "allowed_regions": routine.allowed_regions or self.settings.allowed_regions,
                "max_seconds": routine.step_timeout(step),
                "site_profile": state.profile,
            }
        )
        key = f"{routine.screen}:{settings.model_dump_json()}"
        if key not in self._agents:
            self._agents[key] = self.agent_factory(settings, state.source)
        agent = self._agents[key]
        started = time.monotonic()
        run = agent.ask(step.goal, authorised=state.authorised)  # the agent looks through our source (routine.screen)
        session = f"agent session {run.session_dir}" if run.session_dir else "agent session not recorded"
        problem = None
        if run.pending_action is not None:
            problem = f"refused: the agent wants to {run.pending_action.reason}, which needs approval, and the routine is not pre_authorised"
        elif run.answer is None or run.answer.limited:
            problem = f"the agent stopped at its step/time limit before finishing the goal ({run.steps} steps)"
        answer = run.answer.text if run.answer else ""
        state.recorder.tool_call(
            step=number,
            name="goal",
            arguments={"goal": step.goal, "authorised": state.authorised},
            result=ToolResult(output=f"{session}: {answer}", error=problem),
            seconds=time.monotonic() - started,
            executed=problem is None,
        )
        done = _executed_by_agent(run.session_dir)
        state.record.actions += len(done)
        last = f"{done[-1]} by the agent" if done else f"goal {step.goal!r}"
        state.record.last_action = f"step {number}: {last} ({session})"
        self.history.update(state.record.id, actions=state.record.actions, last_action=state.record.last_action)
        if problem:
            raise (ActionRefused if run.pending_action is not None else StepFailed)(problem)

    # ------------------------------------------------------------------ frames

    def _grab(self, state: _RunState, number: int, purpose: str) -> Frame:
        try:
            frame = state.source.grab()
        except EOFError as e:  # a recording (replay) ran out of frames: the original run waited no longer either
            raise StepFailed(f"no more frames: {e}") from None
        state.recorder.frame(frame, step=number, node=f"routine.{purpose}")
        state.last_frame = frame
        return frame

    def _parse(self, state: _RunState, frame: Frame) -> ScreenParse:
        """Parses a frame, reusing the last parse when the pixels are identical (polling a still screen)."""
        digest = hashlib.sha256(frame.image.tobytes()).hexdigest()
        if state.parse_cache is None or state.parse_cache[0] != digest:
            if self.parser is default_parser:  # read with the routine's site profile
                parse = default_parser(frame.image, state.profile)
            else:
                parse = self.parser(frame.image)
            state.parse_cache = (digest, parse)
        return state.parse_cache[1]

    # ------------------------------------------------------------------ endings

    def _fail(self, state: _RunState, number: int, step: BaseStep | None, reason: str) -> None:
        record = state.record
        record.status, record.failed_step, record.reason = "failed", number, reason
        record.failed_step_label = step.describe() if step else None
        try:  # the screen as it was when the step gave up
            frame = state.source.grab()
            state.recorder.frame(frame, step=number, node="routine.failure")
            screenshot = Path(state.recorder.dir) / "failure.png"
            frame.image.save(screenshot)
            record.screenshot = str(screenshot)
        except Exception as e:  # noqa: BLE001 - a failed screenshot must not hide the step's own failure
            log.warning("routine %s run %s: no failure screenshot: %s", record.routine, record.id, e)

    def _abort(self, state: _RunState, number: int, step: BaseStep | None, reason: str) -> None:
        record = state.record
        record.status, record.reason = "aborted", reason
        record.failed_step = number or None
        record.failed_step_label = step.describe() if step else None

    def _finish(self, routine: Routine, state: _RunState) -> None:
        record = state.record
        record.finished_at = now_utc()
        state.recorder.finish(record.model_dump(mode="json"), steps=record.failed_step or len(routine.steps))
        self.history.update(record.id, **record.model_dump(exclude={"id"}))
        self._notify(routine, record)

    def _notify(self, routine: Routine, record: RunRecord) -> None:
        url = routine.notify.webhook if routine.notify else self.settings.routine_webhook
        wanted = routine.notify.on_status if routine.notify else ["failed", "aborted"]
        if url and record.status in wanted:
            self.notify(url, record)


def _seen(condition, found: list[Element]) -> str:
    return f" (still on screen: {describe_elements(found)})" if condition.absent and found else ""


def _screen_point_action(name: str, arguments: dict, frame: Frame) -> PlannedAction:
    """A click at exact screen pixels (routine authors think in pixels; ScreenActions still checks the regions)."""
    x, y = arguments["x"], arguments["y"]
    geometry = frame.geometry
    image_x = image_y = None
    if geometry is not None:
        image_x = round((x - geometry.left) * geometry.scale) - frame.crop_offset[0]
        image_y = round((y - geometry.top) * geometry.scale) - frame.crop_offset[1]
    what = "double-click" if name == "double_click" else f"{arguments.get('button', 'left')}-click"
    return PlannedAction(
        kind=name,
        x=x,
        y=y,
        image_x=image_x,
        image_y=image_y,
        button=arguments.get("button", "left"),
        reason=f"{what} ({x}, {y})",
    )


def _executed_by_agent(session_dir: Path | None) -> list[str]:
    """What the agent's own recording says it executed during a goal step (action reasons, in order)."""
    if session_dir is None:
        return []
    from agent.recording import load_manifest

    try:
        events = load_manifest(Path(session_dir))["events"]
    except (OSError, ValueError) as e:
        log.warning("cannot read the agent session %s: %s", session_dir, e)
        return []
    return [
        (e.get("planned") or {}).get("reason", e["name"]) for e in events if e["kind"] == "tool" and e.get("executed")
    ]


def _as_yaml(routine: Routine) -> str:
    import yaml

    return yaml.safe_dump(routine.model_dump(mode="json", by_alias=True), sort_keys=False)
