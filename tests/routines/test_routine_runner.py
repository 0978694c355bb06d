"""The runner's rules on a still virtual screen (no X): refusal of unapproved live actions, failures with their
step, reason and screenshot, aborts that keep the last action, busy screens, retries, webhooks, the history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from routine_helpers import ScreenStates, StillScreen, alarm_page

from agent.recording import load_manifest
from agent.routines.history import RunHistory
from agent.routines.locks import screen_lock
from agent.routines.runner import RoutineRunner
from agent.routines.schema import parse_routine

ACK_P4 = """name: ack_p4
timeout: 2
poll: 0.5
steps:
  - find: {kind: alarm_row, priority: 4, state: unacked}
    as: row
  - click: row
  - find: {text: ACK, kind: button}
    as: ack
  - click: ack
  - wait_until: {absent: {kind: alarm_row, priority: 4, state: unacked}}
"""


class VirtualClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_runner(settings, parser, **kwargs) -> RoutineRunner:
    clock = VirtualClock()
    options = dict(source_factory=lambda screen: StillScreen(), parser=parser, clock=clock, sleep=clock.sleep)
    return RoutineRunner(settings, **options | kwargs)


def test_simulated_run_passes_and_records_every_action(settings):
    parser = ScreenStates(alarm_page(p4_unacked=True), alarm_page(p4_unacked=True), alarm_page(p4_unacked=False))
    record = make_runner(settings, parser).run(parse_routine(ACK_P4), mode="simulated")
    assert (record.status, record.actions, record.failed_step) == ("passed", 2, None)
    assert record.last_action.startswith("step 4: left-click element 4 'ACK' at (1") and "(simulated" in record.last_action
    manifest = load_manifest(Path(record.session_dir))
    assert manifest["kind"] == "routine" and parse_routine(manifest["routine"]["text"]) == parse_routine(ACK_P4)
    clicks = [e for e in manifest["events"] if e["kind"] == "tool"]
    assert [(c["step"], c["planned"]["element_label"], c["executed"]) for c in clicks] == [(2, "AT-101 HI", True), (4, "ACK", True)]
    assert manifest["answer"]["status"] == "passed"
    assert RunHistory(settings.db_url).get(record.id) == record


def test_live_actions_without_authorisation_are_refused_not_retried(settings, webhook):
    routine = parse_routine(ACK_P4 + f"retries: 3\nnotify: {{webhook: '{webhook.url}'}}\n")
    record = make_runner(settings, ScreenStates(alarm_page(p4_unacked=True))).run(routine, mode="live", trigger="schedule")
    assert (record.status, record.failed_step, record.actions) == ("failed", 2, 0)
    assert record.reason.startswith("refused live click {'element_id': 3, 'button': 'left'}: the routine is not pre_authorised")
    assert Path(record.screenshot).is_file()
    (sent,) = webhook.received
    assert sent["run_id"] == record.id and sent["status"] == "failed" and sent["failed_step"] == 2
    assert sent["routine"] == "ack_p4" and sent["reason"] == record.reason


def test_timeout_fails_the_step_with_what_is_still_on_screen(settings, webhook):
    settings = settings.model_copy(update={"routine_webhook": webhook.url})
    parser = ScreenStates(alarm_page(p4_unacked=True))  # the acknowledgement never shows
    record = make_runner(settings, parser).run(parse_routine(ACK_P4), mode="simulated")
    assert (record.status, record.failed_step, record.actions) == ("failed", 5, 2)
    assert record.failed_step_label == "wait until absent(kind='alarm_row', priority='4', state='unacked')"
    assert record.reason.startswith("timed out after 2s waiting until absent(") and "still on screen: [3] alarm_row" in record.reason
    assert webhook.received[0]["failed_step_label"] == record.failed_step_label


def test_retries_try_the_step_again(settings):
    empty = alarm_page(p4_unacked=True).model_copy(update={"elements": []})
    routine = parse_routine("name: r\ntimeout: 0.1\nsteps:\n  - assert: {visible: {text: ALARMS}}\n    retries: 2\n")
    runner = make_runner(settings, ScreenStates(empty, empty, alarm_page(p4_unacked=True)))
    assert runner.run(routine).status == "passed"
    assert runner.run(routine.model_copy(update={"retries": 0})).status == "passed"
    failing = make_runner(settings, ScreenStates(empty)).run(routine)
    assert failing.status == "failed" and failing.reason.startswith("assertion failed: visible(text='ALARMS')")


def test_a_crash_mid_run_is_recorded_as_aborted_with_the_last_action(settings):
    def parser(image, calls=[]):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("X server went away")
        return alarm_page(p4_unacked=True)

    record = make_runner(settings, parser).run(parse_routine(ACK_P4), mode="simulated")
    assert (record.status, record.failed_step, record.actions) == ("aborted", 3, 1)
    assert record.reason == "OSError: X server went away"
    assert record.last_action.startswith("step 2: left-click element 3 'AT-101 HI'")
    result = json.loads((Path(record.session_dir) / "manifest.json").read_text())["answer"]
    assert result["status"] == "aborted" and result["last_action"] == record.last_action


def test_ctrl_c_is_recorded_then_raised(settings):
    def parser(image):
        raise KeyboardInterrupt

    runner = make_runner(settings, parser)
    with pytest.raises(KeyboardInterrupt):
        runner.run(parse_routine(ACK_P4))
    (record,) = runner.history.list()
    assert (record.status, record.reason, record.failed_step) == ("aborted", "interrupted (Ctrl-C)", 1)


def test_busy_screen_gives_a_skipped_run(settings):
    runner = make_runner(settings, ScreenStates(alarm_page(p4_unacked=False)))
    with screen_lock(settings.screen_lock_dir, 1) as held:
        assert held
        record = runner.run(parse_routine(ACK_P4))
    assert (record.status, record.reason) == ("skipped", "screen 1 is busy with another routine run")
    assert runner.run(parse_routine(ACK_P4).model_copy(update={"screen": 2}), mode="simulated").status != "skipped"


def test_runs_left_running_by_a_dead_process_are_marked_aborted(settings):
    runner = make_runner(settings, ScreenStates(alarm_page(p4_unacked=False)))
    record = runner.run(parse_routine(ACK_P4), mode="simulated")
    runner.history.update(record.id, status="running", last_action="step 2: click (1, 2) (done)")
    assert [r.id for r in runner.recover_interrupted()] == [record.id]
    recovered = runner.history.get(record.id)
    assert recovered.status == "aborted" and recovered.reason.endswith("last executed action: step 2: click (1, 2) (done)")


def test_a_webhook_that_is_down_never_breaks_the_run(settings, webhook, caplog):
    url = webhook.url
    webhook.close()
    routine = parse_routine(ACK_P4 + f"notify: {{webhook: '{url}'}}\n")
    record = make_runner(settings, ScreenStates(alarm_page(p4_unacked=True))).run(routine, mode="simulated")
    assert record.status == "failed"
    assert f"webhook {url} failed" in caplog.text


GOAL = """name: goal_ack
timeout: 30
steps:
  - goal: Acknowledge the priority-4 alarm
"""


def agent_factory(replies, tmp_path):
    """HmiAgent with scripted decisions, built from the settings the runner hands over (mode, regions, timeout)."""
    from agent.runner import HmiAgent
    from agent.scripted import ScriptedModel
    from tools.actions import ScreenActions

    class NoAlarmTools:
        def tools(self):
            return []

    def make(settings, source):
        return HmiAgent(
            settings.model_copy(update={"screen_parse": False}),
            model=ScriptedModel(replies),
            alarm_tools=NoAlarmTools(),
            actions=ScreenActions(mode=settings.action_mode, screen_size=(1280, 800), min_interval=0),
            screen_source=source,
        )

    return make


def test_goal_steps_go_to_the_agent_and_its_actions_count(settings, tmp_path):
    from agent.scripted import tool_call_text

    replies = [tool_call_text("click", {"x": 102, "y": 950}), tool_call_text("final_answer", {"on_screen": "P4 acknowledged"})]
    runner = make_runner(settings, ScreenStates(alarm_page(p4_unacked=True)), agent_factory=agent_factory(replies, tmp_path))
    record = runner.run(parse_routine(GOAL), mode="simulated")
    assert (record.status, record.actions) == ("passed", 1), record.reason
    assert record.last_action.startswith("step 1: left-click (131, 760) by the agent (agent session ")
    (goal,) = [e for e in load_manifest(Path(record.session_dir))["events"] if e["kind"] == "tool"]
    assert goal["name"] == "goal" and goal["executed"] and "P4 acknowledged" in goal["output"]


def test_a_goal_needing_approval_in_an_unattended_run_is_refused(settings, tmp_path):
    from agent.scripted import tool_call_text

    runner = make_runner(settings, ScreenStates(alarm_page(p4_unacked=True)),
                         agent_factory=agent_factory([tool_call_text("click", {"x": 102, "y": 950})], tmp_path))
    record = runner.run(parse_routine(GOAL), mode="live", trigger="schedule")
    assert (record.status, record.failed_step, record.actions) == ("failed", 1, 0)
    assert record.reason.startswith("refused: the agent wants to left-click (131, 760), which needs approval")


def test_routines_firing_together_load_the_shared_model_once(settings, tiny_qwen3vl_dir, monkeypatch):
    """The scheduler's workers share one model: two goal steps starting at once must not load (and compile) two."""
    import threading

    import agent.model_state

    real_load, loads = agent.model_state.load_vlm, []

    def counted_load(settings, *, long_running=False):
        loads.append(long_running)
        return real_load(settings, long_running=long_running)

    monkeypatch.setattr(agent.model_state, "load_vlm", counted_load)
    settings = settings.model_copy(update={"model": str(tiny_qwen3vl_dir), "device": "cpu", "record_sessions": False})
    runner = RoutineRunner(settings, long_running=True)
    agents = []
    together = threading.Barrier(3, timeout=30)  # all three ask for the agent at once, while none is loaded yet

    def worker() -> None:
        together.wait()
        agents.append(runner._default_agent(settings, StillScreen()))

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert loads == [True] and len(agents) == 3
    assert agents[0].vlm is agents[1].vlm is agents[2].vlm
    for each in agents:
        each.close()


def test_a_goal_step_without_an_installed_model_gets_the_parsers_draft_saying_how_to_install_one(settings):
    settings = settings.model_copy(update={"model": "nobody/Qwen3-VL-404B", "screen_parse": False})
    record = make_runner(settings, ScreenStates(alarm_page(p4_unacked=True))).run(parse_routine(GOAL), mode="simulated")
    (goal,) = [e for e in load_manifest(Path(record.session_dir))["events"] if e["kind"] == "tool"]
    assert goal["name"] == "goal" and "screen parser, no model" in goal["output"], goal
    assert goal["output"].count("hmi-agent model pull 2b") == 1
