"""Mouse and keyboard actions on the operator screen: click, double_click, type_text, press_key, scroll.

Every action goes through two steps so a person can stand between them:

- `plan(name, arguments)` checks the model's arguments and resolves the target (an element id of the bound screen
  parse, or Qwen3-VL 0-1000 coordinates of the bound frame) to screen pixels. It has no side effect and returns a
  `PlannedAction`, or a `ToolResult` error naming the model's mistake.
- `execute(action)` carries a planned action out. In `simulated` mode (the default) nothing moves: the action is
  recorded and drawn on the frame. In `live` mode pyautogui drives the real mouse and keyboard, with pyautogui's
  fail-safe on (throw the mouse into a screen corner to stop), only inside the allowed screen regions, and never
  faster than one action per `min_interval` seconds: a too-early action waits (sleeps) for its turn rather than
  being refused, so an approved action is never silently dropped. Allowed regions bound pointer actions; typed text
  and keys go to whichever window has the focus, so a live routine clicks the field first and is approved as a whole.

The model-facing methods (`click(...)` etc.) are plan + execute in one call, for routines that need no approval.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from PIL import ImageDraw, ImageFont
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perception.coords import MODEL_SCALE, image_to_screen
from perception.view import View
from tools.registry import Tool
from tools.result import ToolResult

if TYPE_CHECKING:
    from perception.frames import Frame
    from perception.screen import ScreenParse

ActionKind = Literal["click", "double_click", "type_text", "press_key", "scroll"]
Mode = Literal["simulated", "live"]
Region = tuple[int, int, int, int]


class PlannedAction(BaseModel):
    """A validated action with its target resolved to screen pixels; what the operator approves."""

    model_config = ConfigDict(frozen=True)

    kind: ActionKind
    x: int | None = None  # screen (pyautogui, logical) pixels; None for keyboard actions
    y: int | None = None
    image_x: int | None = None  # the same point in the frame's image pixels, to draw it
    image_y: int | None = None
    button: Literal["left", "right", "middle"] = "left"
    text: str | None = None
    key: str | None = None
    amount: int | None = None
    element_id: int | None = None
    element_label: str | None = None
    reason: str  # one line saying what will happen where, shown to the approver and the model


class ActionRecord(BaseModel):
    """One executed action, as kept in `ScreenActions.history` and session recordings."""

    time: datetime
    action: PlannedAction
    mode: Mode
    outcome: str
    approved_by: str | None = None


@lru_cache(maxsize=1)
def keyboard_keys() -> frozenset[str]:
    """pyautogui's key names. Read from its source because importing pyautogui needs an X display, and
    simulated mode must validate keys on a headless machine too."""
    source = Path(importlib.util.find_spec("pyautogui").origin).read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "KEY_NAMES" for t in node.targets):
            return frozenset(ast.literal_eval(node.value))
    raise RuntimeError("pyautogui.KEY_NAMES not found: unsupported pyautogui version")


class LiveInputUnavailable(RuntimeError):
    """pyautogui cannot reach the X display (no DISPLAY, no ~/.Xauthority, server gone): the machine's state."""


def _pyautogui():
    try:
        import pyautogui  # lazy: it connects to the X display at import time
    except Exception as e:  # python-xlib's XauthError / DisplayConnectionError, KeyError('DISPLAY'), ...
        raise LiveInputUnavailable(
            f"live actions need an X display: {type(e).__name__}: {e}; set XAUTHORITY / DISPLAY"
        ) from None
    pyautogui.FAILSAFE = True
    return pyautogui


class ScreenActions:
    """The action tools the model may call, bound to the frame (and screen parse) it is looking at."""

    def __init__(
        self,
        *,
        mode: Mode = "simulated",
        allowed_regions: list[Region] | None = None,
        min_interval: float = 0.5,
        screen_size: tuple[int, int] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if mode not in ("simulated", "live"):
            raise ValueError(f"{mode=} is not 'simulated' or 'live'")
        self.mode: Mode = mode
        self.allowed_regions = [tuple(r) for r in allowed_regions or []]
        self.min_interval = min_interval
        self.screen_size = screen_size
        self.clock = clock
        self.history: list[ActionRecord] = []
        self._frame: Frame | None = None
        self._parse: ScreenParse | None = None
        self._view: View | None = None
        self._last_live_action = float("-inf")
        self._tools = {tool.name: tool for tool in self.tools()}

    def bind_frame(self, frame: Frame, parse: ScreenParse | None = None, view: View | None = None) -> None:
        """Sets what element ids and model coordinates refer to: the frame the model was shown, and the `view` of it
        (a region view's coordinates are on its crop; default: the whole frame)."""
        self._frame, self._parse, self._view = frame, parse, view

    # ---------------------------------------------------------------- model-facing tools (docstrings are the schema)

    def click(
        self,
        element_id: int | None = None,
        x: int | None = None,
        y: int | None = None,
        button: Literal["left", "right", "middle"] = "left",
    ) -> ToolResult:
        """Clicks a button or other element on the operator screen.

        Args:
            element_id: Number of the element in the screen's element list. Give this or x and y.
            x: Horizontal position on the screenshot, 0 (left edge) to 1000 (right edge).
            y: Vertical position on the screenshot, 0 (top edge) to 1000 (bottom edge).
            button: Mouse button.
        """
        return self._plan_and_execute("click", element_id=element_id, x=x, y=y, button=button)

    def double_click(self, element_id: int | None = None, x: int | None = None, y: int | None = None) -> ToolResult:
        """Double-clicks an element on the operator screen, e.g. to open a faceplate.

        Args:
            element_id: Number of the element in the screen's element list. Give this or x and y.
            x: Horizontal position on the screenshot, 0 (left edge) to 1000 (right edge).
            y: Vertical position on the screenshot, 0 (top edge) to 1000 (bottom edge).
        """
        return self._plan_and_execute("double_click", element_id=element_id, x=x, y=y)

    def type_text(self, text: Annotated[str, Field(min_length=1, max_length=200)]) -> ToolResult:
        """Types text into the field that has the keyboard focus (click the field first).

        Args:
            text: The text to type, plain ASCII.
        """
        return self._plan_and_execute("type_text", text=text)

    def press_key(self, key: Annotated[str, Field(min_length=1, max_length=40)]) -> ToolResult:
        """Presses a key or a key combination on the operator screen.

        Args:
            key: Key name such as enter, esc, tab, f1, pagedown, or a combination such as ctrl+s.
        """
        return self._plan_and_execute("press_key", key=key)

    def scroll(
        self,
        amount: Annotated[int, Field(ge=-20, le=20)],
        element_id: int | None = None,
        x: int | None = None,
        y: int | None = None,
    ) -> ToolResult:
        """Scrolls the list or page under an element of the operator screen.

        Args:
            amount: Scroll steps: positive scrolls up, negative scrolls down.
            element_id: Number of the element to scroll over. Give this or x and y.
            x: Horizontal position on the screenshot, 0 (left edge) to 1000 (right edge).
            y: Vertical position on the screenshot, 0 (top edge) to 1000 (bottom edge).
        """
        return self._plan_and_execute("scroll", amount=amount, element_id=element_id, x=x, y=y)

    def tools(self) -> list[Tool]:
        return [Tool.from_function(getattr(self, name)) for name in ActionKind.__args__]

    # ---------------------------------------------------------------- plan / execute

    def plan(self, name: str, arguments: dict[str, Any]) -> PlannedAction | ToolResult:
        """Validates a tool call and resolves its target to screen pixels, without side effects."""
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(error=f"{name=} is not an action; actions are {', '.join(ActionKind.__args__)}")
        try:
            args = tool.args_model.model_validate(arguments).model_dump()
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc']))}={err.get('input')!r}: {err['msg']}" for err in e.errors()
            )
            return ToolResult(error=f"bad arguments for {name}: {problems}")
        return self._resolve(name, args)

    def execute(self, action: PlannedAction, *, approved_by: str | None = None) -> ToolResult:
        """Carries out a planned (and possibly approved or edited) action and records it in `history`.

        The safety checks run again here because an approver may have edited the target.
        """
        if (problem := self._unsafe(action)) is not None:
            return ToolResult(error=problem)
        if self.mode == "live":
            self._wait_for_turn()
            try:
                self._drive(action)
            except (
                Exception
            ) as e:  # pyautogui.FailSafeException: the operator's emergency stop; record, then stop the run
                self._record(action, f"stopped: {type(e).__name__}", approved_by)
                raise
            finally:
                self._last_live_action = time.monotonic()
            outcome = "done"
        else:
            outcome = "simulated (nothing moved)"
        record = self._record(action, outcome, approved_by)
        return ToolResult(output=f"{action.reason}: {outcome}", image=self._drawn(action), data=record)

    # ---------------------------------------------------------------- internals

    def _plan_and_execute(self, name: str, **arguments: Any) -> ToolResult:
        planned = self.plan(name, arguments)
        return planned if isinstance(planned, ToolResult) else self.execute(planned)

    def _resolve(self, kind: str, args: dict[str, Any]) -> PlannedAction | ToolResult:
        frame = self._require_frame()
        if frame.geometry is None:
            return ToolResult(
                error=f"the current picture ({frame.source}) is a photo or file, not this computer's screen: "
                "actions need a live screen capture"
            )
        if kind == "type_text":
            # pyautogui types printable ASCII (shifting for capitals) and silently drops anything else
            untypable = sorted({c for c in args["text"] if not (c.isascii() and (c.isprintable() or c in "\n\t"))})
            if untypable:
                return ToolResult(error=f"text contains {''.join(untypable)!r}, which can't be typed: use plain ASCII")
            return PlannedAction(kind=kind, text=args["text"], reason=f"type {args['text']!r}")
        if kind == "press_key":
            key = args["key"].strip().lower()
            unknown = [k for k in key.split("+") if k not in keyboard_keys()]
            if unknown:
                return ToolResult(
                    error=f"key={args['key']!r} is not a key name ({unknown[0]!r} unknown); use names like enter, esc, tab, f1, ctrl+s"
                )
            return PlannedAction(kind=kind, key=key, reason=f"press {key}")
        target = self._target(frame, args)
        if isinstance(target, ToolResult):
            return target
        (x, y), (image_x, image_y), element = target
        where = f"element {element.id} {_label(element)!r} at ({x}, {y})" if element else f"({x}, {y})"
        what = {"scroll": f"scroll {args.get('amount')} over", "click": f"{args.get('button', 'left')}-click"}.get(
            kind, "double-click"
        )
        action = PlannedAction(
            kind=kind,
            x=x,
            y=y,
            image_x=image_x,
            image_y=image_y,
            button=args.get("button", "left"),
            amount=args.get("amount"),
            element_id=element.id if element else None,
            element_label=_label(element) if element else None,
            reason=f"{what} {where}",
        )
        problem = self._unsafe(action)
        return ToolResult(error=problem) if problem else action

    def _target(self, frame: Frame, args: dict[str, Any]):
        """((screen x, y), (image x, y), element or None), or a ToolResult naming the model's mistake."""
        element_id, x, y = args.get("element_id"), args.get("x"), args.get("y")
        if element_id is not None and (x is not None or y is not None):
            return ToolResult(error=f"give element_id or x and y, not both ({element_id=}, {x=}, {y=})")
        if element_id is None and (x is None or y is None):
            return ToolResult(error=f"give a target: element_id, or both x and y ({x=}, {y=})")
        if element_id is not None:
            element = self._parse.element(element_id) if self._parse else None
            if element is None:
                known = (
                    f"known ids are {_id_span(self._parse)}"
                    if self._parse
                    else "no element list is available; use x and y"
                )
                return ToolResult(error=f"{element_id=} is not on the current screen: {known}")
            x1, y1, x2, y2 = element.bbox
            image_point = ((x1 + x2) // 2, (y1 + y2) // 2)
            screen_point = image_to_screen(image_point, frame)
            return screen_point, image_point, element
        for name, value in (("x", x), ("y", y)):
            if not 0 <= value <= MODEL_SCALE:
                return ToolResult(
                    error=f"{name}={value} is off-screen: positions run 0 to {MODEL_SCALE} across the screenshot"
                )
        image_point = (self._view or View.full(frame)).to_frame((x, y))
        return image_to_screen(image_point, frame), image_point, None

    def _unsafe(self, action: PlannedAction) -> str | None:
        """Why a pointer action may not land where it points, or None."""
        if action.x is None:
            return None
        x, y = action.x, action.y
        width, height = self._screen_size()
        if width and not (0 <= x < width and 0 <= y < height):
            return f"{x=}, {y=} is off-screen (the screen is {width}x{height})"
        if self.mode == "live" and width and x in (0, width - 1) and y in (0, height - 1):
            # pyautogui's fail-safe: with the mouse left in a corner, the next action aborts as an emergency stop
            return f"({x}, {y}) is a fail-safe corner of the screen: aim at least one pixel inside it"
        if self.allowed_regions and not any(x1 <= x < x2 and y1 <= y < y2 for x1, y1, x2, y2 in self.allowed_regions):
            regions = ", ".join(str(r) for r in self.allowed_regions)
            return f"({x}, {y}) is outside the regions where actions are allowed: {regions}"
        return None

    def _screen_size(self) -> tuple[int, int] | tuple[None, None]:
        if self.screen_size is None and self.mode == "live":
            self.screen_size = tuple(_pyautogui().size())
        return self.screen_size or (None, None)

    def _wait_for_turn(self) -> None:
        wait = self._last_live_action + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    @staticmethod
    def _drive(action: PlannedAction) -> None:
        gui = _pyautogui()
        if action.kind == "click":
            gui.click(action.x, action.y, button=action.button)
        elif action.kind == "double_click":
            gui.doubleClick(action.x, action.y)
        elif action.kind == "scroll":
            gui.scroll(action.amount, x=action.x, y=action.y)
        elif action.kind == "type_text":
            gui.write(action.text, interval=0.02)
        else:
            gui.hotkey(*action.key.split("+"))

    def _record(self, action: PlannedAction, outcome: str, approved_by: str | None) -> ActionRecord:
        record = ActionRecord(
            time=self.clock(), action=action, mode=self.mode, outcome=outcome, approved_by=approved_by
        )
        self.history.append(record)
        return record

    def _require_frame(self) -> Frame:
        if self._frame is None:
            raise RuntimeError("ScreenActions.bind_frame() must be called before planning an action")
        return self._frame

    def _drawn(self, action: PlannedAction) -> bytes:
        """The bound frame as PNG with the action drawn: a crosshair and a label at the target."""
        image = self._require_frame().image.convert("RGB")
        draw = ImageDraw.Draw(image)
        font = _font(max(14, image.height // 45))
        colour = (255, 255, 255)  # no saturated colour: on an HMI screenshot, colour means an alarm priority
        label = f"{'SIMULATED' if self.mode == 'simulated' else 'LIVE'}: {action.reason}"
        if action.image_x is None:
            anchor = (8, 8)
        else:
            cx, cy, r = action.image_x, action.image_y, max(10, image.height // 40)
            for ink, width in (((0, 0, 0), 5), (colour, 2)):  # white on a black outline shows on any background
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=width)
                draw.line((cx - 2 * r, cy, cx + 2 * r, cy), fill=ink, width=width)
                draw.line((cx, cy - 2 * r, cx, cy + 2 * r), fill=ink, width=width)
            anchor = (min(cx + 2 * r, image.width - 20), max(cy - 2 * r - font.size, 0))
        box = draw.textbbox(anchor, label, font=font)
        shift = max(0, box[2] - image.width + 4)  # keep the label inside the picture
        box = (box[0] - shift - 3, box[1] - 3, box[2] - shift + 3, box[3] + 3)
        draw.rectangle(box, fill=(0, 0, 0))
        draw.text((anchor[0] - shift, anchor[1]), label, fill=colour, font=font)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()


def _label(element) -> str:
    return element.text or element.tag or element.kind


def _id_span(parse) -> str:
    ids = sorted(e.id for e in parse.elements)
    return f"{ids[0]}-{ids[-1]}" if ids else "none (the element list is empty)"


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:  # Noto CJK so Chinese element labels are readable; PIL searches the system font folders for it
        return ImageFont.truetype("NotoSansCJK-Regular.ttc", size)
    except OSError:
        return ImageFont.load_default(size=size)
