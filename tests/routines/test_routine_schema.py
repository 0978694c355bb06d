"""Routine files: what validates, and errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.routines.schema import ClickStep, FindStep, RoutineFileError, load_routine, parse_every, parse_routine

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "routines").glob("*.yaml"))


def problems(text: str) -> list[str]:
    with pytest.raises(RoutineFileError) as caught:
        parse_routine(text, "r.yaml")
    return str(caught.value).splitlines()


def test_examples_validate():
    assert len(EXAMPLES) >= 3
    for path in EXAMPLES:
        routine = load_routine(path)
        assert routine.schedule is not None and routine.steps


def test_steps_shorthands_and_defaults():
    routine = parse_routine(
        "name: r\nschedule: {every: 1h30m}\nretries: 2\nsteps:\n"
        "  - find: {kind: alarm_row, priority: 4}\n    as: row\n    timeout: 5\n"
        "  - click: row\n  - click: {x: 10, y: 20}\n    double: true\n"
        "  - wait_until: Alarm list\n  - assert: {absent: {kind: alarm_row, priority: 4}}\n  - capture:\n"
    )
    find, click, point = routine.steps[:3]
    assert isinstance(find, FindStep) and find.find.priority == "4" and routine.step_timeout(find) == 5
    assert isinstance(click, ClickStep) and click.click == "row" and routine.step_retries(click) == 2
    assert point.summary() == "double-click (10, 20)"
    assert routine.steps[3].wait_until.visible.text == "Alarm list"
    assert routine.schedule.trigger().interval.total_seconds() == 5400
    assert parse_every("2d") .days == 2


def test_bad_cron_is_named_with_its_line():
    (line,) = problems("name: r\nschedule: '61 * * * *'\nsteps:\n  - capture:\n")
    assert line.startswith("r.yaml:2: schedule: bad cron expression '61 * * * *'")


def test_unknown_step_kind_and_bad_fields_are_all_listed():
    lines = problems(
        "name: r\nsteps:\n  - capture:\n  - clik: ACK\n  - find: {text: A, kind: knob}\n    as: a\n"
        "  - wait_until: {visible: {}}\n  - press: enter\n    retries: 11\n"
    )
    assert lines[0] == (
        "r.yaml:4: steps[2]: unknown step kind 'clik'; expected one of "
        "goal, capture, find, read, click, type, press, wait_until, assert"
    )
    assert lines[1].startswith("r.yaml:5: steps[3].find.kind: Input should be 'text', 'button'")
    assert lines[2] == "r.yaml:7: steps[4].wait_until.visible: give at least one of text, description, kind, priority, state, tag"
    assert lines[3] == "r.yaml:9: steps[5].retries: Input should be less than or equal to 10"


def test_click_of_a_target_no_find_named_is_refused():
    (line,) = problems("name: r\nsteps:\n  - find: {text: ALARMS}\n    as: alarms\n  - click: ack\n")
    assert line == "r.yaml:5: steps[2].click: click target 'ack' is not named by an earlier `find ... as:` (known: alarms)"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("name: r\nsteps: []\n", "r.yaml:2: steps: List should have at least 1 item"),
        ("name: a b\nsteps:\n  - capture:\n", "r.yaml:1: name: 'a b' may use only letters"),
        ("name: r\nsteps:\n  - capture:\n    find: {text: x}\n", "r.yaml:3: steps[1]: one step, one kind: found capture, find"),
        ("name: r\nschedule: {every: 5x}\nsteps:\n  - capture:\n", "r.yaml:2: schedule: bad interval '5x'"),
        ("name: r\nsteps:\n  - find: {text: x}\n", "r.yaml:3: steps[1].as: Field required"),
        ("name: r\npre_authorized: true\nsteps:\n  - capture:\n", "r.yaml:2: pre_authorized: Extra inputs are not permitted"),
        ("name: r\nsteps: [\n", "r.yaml:3: not valid YAML"),
        ("- just a list\n", "r.yaml:1: a routine file is a YAML mapping"),
    ],
)
def test_one_clear_line_per_problem(text, expected):
    assert problems(text)[0].startswith(expected)


def test_cli_validate_prints_ok_or_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: r\nschedule: '* * *'\nsteps:\n  - capture:\n")
    with pytest.raises(SystemExit) as exit_:
        main(["routine", "validate", str(EXAMPLES[0]), str(bad)])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2
    assert f"{EXAMPLES[0]}: ok:" in out
    assert f"{bad}:2: schedule: bad cron expression '* * *'" in err and "Traceback" not in err
