"""ScreenActions without a display: planning, the model's mistakes, simulated execution and its drawing."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from PIL import Image

from perception.frames import Frame, ScreenGeometry
from perception.screen.model import Element, ScreenParse
from tools.actions import PlannedAction, ScreenActions, keyboard_keys
from tools.result import ToolResult

ACK_BOX = (40, 732, 220, 788)


def screen_frame(size=(1280, 800), geometry=None) -> Frame:
    geometry = geometry or ScreenGeometry(left=0, top=0, width=size[0], height=size[1])
    return Frame(Image.new("RGB", size, (43, 43, 43)), "screen:1", datetime.now(timezone.utc), geometry)


def parse_with_ack() -> ScreenParse:
    return ScreenParse(
        width=1280,
        height=800,
        elements=[
            Element(id=1, kind="banner", bbox=(0, 48, 1280, 104), text="P1 LT-1 HI", priority="1", confidence=0.9),
            Element(id=2, kind="button", bbox=ACK_BOX, text="ACK", confidence=0.95),
        ],
    )


@pytest.fixture
def actions() -> ScreenActions:
    actions = ScreenActions(allowed_regions=[(0, 720, 1280, 800)])
    actions.bind_frame(screen_frame(), parse_with_ack())
    return actions


def test_element_is_clicked_at_its_centre_in_simulation(actions):
    result = actions.click(element_id=2)
    assert result.error is None and "element 2 'ACK'" in result.output and "simulated" in result.output
    action = actions.history[-1].action
    assert (action.kind, action.element_id, action.element_label) == ("click", 2, "ACK")
    assert abs(action.x - 130) <= 1 and abs(action.y - 760) <= 1
    record = actions.history[-1]
    assert record.mode == "simulated" and record.approved_by is None and result.data == record
    drawn = Image.open(io.BytesIO(result.image)).convert("RGB")
    assert drawn.size == (1280, 800)
    assert drawn.getpixel((action.x + 20, action.y)) != (43, 43, 43)  # the crosshair is drawn at the target


def test_model_coordinates_map_through_the_frame_geometry():
    hidpi = screen_frame(geometry=ScreenGeometry(left=100, top=50, width=640, height=400, scale=2.0))
    actions = ScreenActions()
    actions.bind_frame(hidpi, None)
    planned = actions.plan("double_click", {"x": 500, "y": 500})
    assert isinstance(planned, PlannedAction)
    assert (planned.x, planned.y, planned.image_x, planned.image_y) == (420, 250, 640, 400)
    assert actions.history == []  # planning has no side effect


def test_cropped_frame_maps_back_to_the_screen(actions):
    actions.bind_frame(screen_frame().crop((0, 700, 1280, 800)), None)
    planned = actions.plan("click", {"x": 0, "y": 600})  # 60 % down the 100-px strip
    assert (planned.x, planned.y) == (0, 760)


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("click", {"element_id": 9}, "element_id=9 is not on the current screen: known ids are 1-2"),
        ("click", {"element_id": 2, "x": 10, "y": 10}, "not both"),
        ("click", {"x": 10}, "give a target"),
        ("click", {}, "give a target"),
        ("click", {"x": 1200, "y": 900}, "x=1200 is off-screen"),
        ("click", {"x": 500, "y": -3}, "y=-3 is off-screen"),
        ("click", {"element_id": 1}, "outside the regions where actions are allowed"),
        ("click", {"x": 500, "y": 500, "button": "side"}, "button='side'"),
        ("scroll", {"amount": 99, "element_id": 2}, "amount=99"),
        ("press_key", {"key": "launch_missiles"}, "key='launch_missiles' is not a key name"),
        ("press_key", {"key": "ctrl+boom"}, "'boom' unknown"),
        ("type_text", {"text": "确认"}, "can't be typed"),
        ("drag", {}, "name='drag' is not an action"),
    ],
)
def test_model_mistakes_come_back_as_errors(actions, name, arguments, message):
    result = actions.plan(name, arguments)
    assert isinstance(result, ToolResult) and message in result.error, result
    assert actions.history == []


def test_photos_cannot_be_acted_on():
    actions = ScreenActions()
    actions.bind_frame(Frame(Image.new("RGB", (400, 300)), "file:/tmp/panel.jpg", datetime.now(timezone.utc)), None)
    for name, arguments in (("click", {"x": 10, "y": 10}), ("press_key", {"key": "enter"})):
        error = actions.plan(name, arguments).error
        assert "file:/tmp/panel.jpg" in error and "live screen capture" in error


def test_without_a_parse_element_ids_point_to_coordinates(actions):
    actions.bind_frame(screen_frame(), None)
    assert "use x and y" in actions.plan("click", {"element_id": 1}).error


def test_screen_size_bounds_the_target():
    actions = ScreenActions(screen_size=(800, 600))
    actions.bind_frame(screen_frame(), None)
    assert "off-screen (the screen is 800x600)" in actions.plan("click", {"x": 900, "y": 100}).error



@pytest.mark.parametrize("corner", [(0, 0), (1000, 0), (0, 1000), (1000, 1000)])
def test_live_pointer_actions_never_park_the_mouse_on_a_fail_safe_corner(corner):
    # pyautogui takes the mouse in a screen corner for the operator's emergency stop: the next action would abort
    actions = ScreenActions(mode="live", screen_size=(1280, 800))
    actions.bind_frame(screen_frame(), None)
    for kind in ("click", "double_click", "scroll"):
        error = actions.plan(kind, {"x": corner[0], "y": corner[1], **({"amount": 1} if kind == "scroll" else {})})
        assert "fail-safe corner" in error.error
    assert isinstance(actions.plan("click", {"x": 1, "y": 1}), PlannedAction)

def test_keyboard_actions(actions):
    planned = actions.plan("press_key", {"key": "Ctrl+S"})
    assert (planned.kind, planned.key, planned.x) == ("press_key", "ctrl+s", None)
    result = actions.type_text("ACK 42\n")
    assert result.error is None and actions.history[-1].action.text == "ACK 42\n"
    assert {"enter", "esc", "f1", "a"} <= keyboard_keys()


def test_scroll_over_an_element(actions):
    planned = actions.plan("scroll", {"amount": -3, "element_id": 2})
    assert (planned.kind, planned.amount, planned.element_id) == ("scroll", -3, 2)
    assert planned.reason.startswith("scroll -3 over element 2")


def test_execute_rechecks_an_edited_action(actions):
    planned = actions.plan("click", {"element_id": 2})
    edited = planned.model_copy(update={"y": 100})  # an approver moved it out of the allowed region
    assert "outside the regions" in actions.execute(edited, approved_by="li.wei").error
    actions.execute(planned, approved_by="li.wei")
    assert [r.approved_by for r in actions.history] == ["li.wei"]


def test_tool_schemas_for_the_model(actions):
    tools = {tool.name: tool for tool in actions.tools()}
    assert list(tools) == ["click", "double_click", "type_text", "press_key", "scroll"]
    click = tools["click"].schema()["function"]
    assert click["description"].startswith("Clicks a button")
    assert "0 (left edge) to 1000" in click["parameters"]["properties"]["x"]["description"]
    assert click["parameters"]["properties"]["button"]["enum"] == ["left", "right", "middle"]
    assert tools["scroll"].schema()["function"]["parameters"]["required"] == ["amount"]
    assert tools["click"]({"element_id": 2}).error is None


def test_unbound_frame_is_our_bug():
    with pytest.raises(RuntimeError, match="bind_frame"):
        ScreenActions().plan("click", {"x": 1, "y": 1})
