"""The screen parser on the simulator's real overview (Tk on Xvfb): each priority badge is tagged with the equipment
it sits beside by layout. The badges are drawn right of their label and nearer, in reading order, to the next
label along (LT-102 beside LT-101's badge, P-102 beside P-101B's): reading order alone gets them wrong."""

from __future__ import annotations

import pytest

from perception.capture import ScreenSource
from perception.screen import parse_screen
from tests.simulator import running_simulator

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

OVERVIEW_SCENARIO = """
title: Badge unit
tags:
  LT-101: {description: Feed drum level, unit: "%", kind: level, value: 88}
  LT-102: {description: Product tank level, unit: "%", kind: level, value: 35}
  LT-103: {description: Slop tank level, unit: "%", kind: level, value: 12}
  P-101A: {description: Feed pump A, kind: pump, value: running}
  P-101B: {description: Feed pump B, kind: pump, value: tripped}
  P-102: {description: Product pump, kind: pump, value: stopped}
  PT-101: {description: Discharge pressure, unit: bar, value: 9.8}
timeline:
  - {at: 0, alarm: {tag: LT-101, condition: HI, priority: 3, description: Feed drum level high}}
  - {at: 0, alarm: {tag: P-101B, condition: TRIP, priority: 2, description: Feed pump B tripped, latched: true}}
  - {at: 0, alarm: {tag: PT-101, condition: HIHI, priority: 1, description: Discharge pressure high high}}
"""


def test_overview_badges_are_tagged_with_the_equipment_beside_them(xvfb, tmp_path, sqlite_url):
    with running_simulator(tmp_path, sqlite_url, OVERVIEW_SCENARIO, operator="tester",
                           ready=lambda status: len(status.get("alarms", [])) == 3, ready_what="three alarms"):
        parse = parse_screen(ScreenSource().grab().image)
    badges = {(b.tag, b.priority) for b in parse.of_kind("alarm_indicator")}
    assert {("LT-101", "3"), ("P-101B", "2"), ("PT-101", "1")} <= badges, badges
    assert not {tag for tag, _ in badges} & {"LT-102", "P-102", "P-101A", "LT-103"}, badges
