"""The simulated HMI window (Tk): an Overview page with the unit's vessels, pumps and values, an Alarms page with
the alarm list, an alarm banner, and ACK / ACK ALL / SILENCE / RESET buttons that react to real clicks.

Colours follow ISA-101 as the screen parser reads them (perception.screen.colours): greys for the process, green
for running, and saturated colour only for alarms - red P1, orange P2, yellow P3, magenta P4.
"""

from __future__ import annotations

import json
import os
import time
import tkinter as tk
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from agent.sim.plant import Alarm, Plant

WIDTH, HEIGHT = 1280, 800
PRIORITY_COLOURS = {1: "#dc0000", 2: "#ff8c00", 3: "#ffdc00", 4: "#dc00dc"}
BACKGROUND, PANEL, LINE, TEXT, DIM = "#2b2b2b", "#3c3c3c", "#808080", "#e6e6e6", "#a0a0a0"
LIQUID, RUNNING, STOPPED = "#5a6e82", "#00aa00", "#6e6e6e"
TICK_MS, BLINK_S = 100, 0.5
TOP_BAR, BANNER, BUTTON_BAR = (0, 48), (48, 104), (720, 800)
NAV = {"OVERVIEW": (760, 8, 900, 40), "ALARMS": (910, 8, 1050, 40)}
BUTTONS = {
    "ACK": (40, 732, 220, 788),
    "ACK ALL": (240, 732, 420, 788),
    "SILENCE": (440, 732, 620, 788),
    "RESET": (640, 732, 820, 788),
}
ROW_TOP, ROW_HEIGHT, MAX_ROWS = 150, 34, 16
COLUMNS = (("TIME", 20), ("TAG", 170), ("CONDITION", 330), ("DESCRIPTION", 470), ("PRIORITY", 900), ("STATE", 1040))


class HmiWindow:
    """Draws the plant on one canvas and turns clicks into operator actions; reports its state to `status_file`."""

    def __init__(
        self,
        plant: Plant,
        *,
        operator: str,
        speed: float = 1.0,
        status_file: Path | None = None,
        start_at: float = 0.0,
        exit_after: float | None = None,
    ) -> None:
        self.plant, self.operator, self.speed, self.status_file = plant, operator, speed, status_file
        self.exit_after = exit_after
        self.page = "OVERVIEW"
        self.root = tk.Tk(className="hmi-sim")
        self.root.title(f"HMI simulator - {plant.scenario.title}")
        self.root.geometry(f"{WIDTH}x{HEIGHT}+0+0")
        self.root.resizable(False, False)
        self.canvas = tk.Canvas(self.root, width=WIDTH, height=HEIGHT, bg=BACKGROUND, highlightthickness=0)
        self.canvas.pack()
        self.canvas.bind("<Button-1>", self._on_click)
        self._row_boxes: dict[int, tuple[int, int, int, int]] = {}
        self._last_status: str | None = None
        self._launched = time.monotonic()
        self._started = self._launched - start_at / speed  # scenario clock: starts at start_at
        self.plant.advance_to(start_at)

    def run(self) -> None:
        self._tick()
        self.root.mainloop()

    # ------------------------------------------------------------------ loop

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        if self.exit_after is not None and time.monotonic() - self._launched >= self.exit_after:
            self.root.destroy()
            return
        self.root.after(TICK_MS, self._tick)  # first, so one failed journal write (reported by Tk) can't freeze the HMI
        self.plant.advance_to(elapsed * self.speed)
        self._draw(blink_on=int(elapsed / BLINK_S) % 2 == 0)
        self._write_status()

    def _on_click(self, event: tk.Event) -> None:
        actions: dict[str, Callable[[], object]] = {
            "OVERVIEW": lambda: self._show("OVERVIEW"),
            "ALARMS": lambda: self._show("ALARMS"),
            "ACK": lambda: self.plant.acknowledge(self.operator),
            "ACK ALL": lambda: self.plant.acknowledge_all(self.operator),
            "SILENCE": self.plant.silence,
            "RESET": self.plant.reset,
        }
        for name, box in {**NAV, **BUTTONS}.items():
            if _inside(event.x, event.y, box):
                actions[name]()
                break
        else:
            if self.page == "ALARMS":
                hit = next((i for i, box in self._row_boxes.items() if _inside(event.x, event.y, box)), None)
                self.plant.select(None if hit == self.plant.selected else hit)
        self._draw(blink_on=True)
        self._write_status()

    def _show(self, page: str) -> None:
        self.page = page
        self.plant.select(None)

    # ------------------------------------------------------------------ drawing

    def _draw(self, blink_on: bool) -> None:
        c = self.canvas
        c.delete("all")
        self._draw_top_bar()
        self._draw_banner(blink_on)
        if self.page == "OVERVIEW":
            self._draw_overview()
        else:
            self._draw_alarm_list()
        c.create_rectangle(0, BUTTON_BAR[0], WIDTH, HEIGHT, fill=PANEL, outline="")
        for name, box in BUTTONS.items():
            _button(c, box, name)

    def _draw_top_bar(self) -> None:
        c = self.canvas
        c.create_rectangle(0, TOP_BAR[0], WIDTH, TOP_BAR[1], fill=PANEL, outline="")
        c.create_text(20, 24, text=self.plant.scenario.title.upper(), anchor="w", fill=TEXT, font=_font(20, "bold"))
        for name, box in NAV.items():
            _button(c, box, name, active=name == self.page)
        c.create_text(
            1070, 24, text="HORN ON" if self.plant.horn else "HORN OFF", anchor="w", fill=TEXT, font=_font(16, "bold")
        )
        c.create_text(1260, 24, text=datetime.now().strftime("%H:%M:%S"), anchor="e", fill=TEXT, font=_font(18))

    def _draw_banner(self, blink_on: bool) -> None:
        c, alarm = self.canvas, self.plant.banner()
        top, bottom = BANNER
        if alarm is None:
            active = sum(a.active for a in self.plant.alarms)
            c.create_rectangle(0, top, WIDTH, bottom, fill="#4a4a4a", outline="")
            c.create_text(
                20,
                (top + bottom) // 2,
                text=f"NO UNACKNOWLEDGED ALARMS   ({active} active)",
                anchor="w",
                fill=DIM,
                font=_font(20, "bold"),
            )
            return
        fill = PRIORITY_COLOURS[alarm.priority] if blink_on else "#4a4a4a"
        c.create_rectangle(0, top, WIDTH, bottom, fill=fill, outline="")
        text = f"P{alarm.priority}   {alarm.tag} {alarm.condition}   {alarm.description}   {alarm.raised_at.astimezone():%H:%M:%S}   {alarm.state}"
        c.create_text(
            20, (top + bottom) // 2, text=text, anchor="w", fill="#000000" if blink_on else TEXT, font=_font(22, "bold")
        )

    def _draw_overview(self) -> None:
        c, scenario = self.canvas, self.plant.scenario
        alarmed = {a.tag: a for a in sorted(self.plant.alarms, key=lambda a: -a.priority) if a.active}
        levels = [t for t, s in scenario.tags.items() if s.kind == "level"]
        pumps = [t for t, s in scenario.tags.items() if s.kind == "pump"]
        values = [t for t, s in scenario.tags.items() if s.kind == "value"]
        c.create_line(60, 560, 880, 560, fill=LINE, width=6)  # the header pipe linking the vessels and pumps
        for i, tag in enumerate(levels):
            left = 60 + i * 220
            level = max(0.0, min(100.0, float(self.plant.value(tag))))
            c.create_rectangle(left, 180, left + 140, 520, outline=LINE, width=3)
            c.create_rectangle(left + 3, 520 - 3.37 * level, left + 137, 517, fill=LIQUID, outline="")
            c.create_line(left + 70, 520, left + 70, 560, fill=LINE, width=6)
            self._tag_label(left, 140, tag, f"{level:.1f} {scenario.tags[tag].unit}", alarmed.get(tag))
        for i, tag in enumerate(pumps):
            cx = 120 + i * 220
            state = str(self.plant.value(tag))
            c.create_oval(
                cx - 32, 588, cx + 32, 652, fill=RUNNING if state == "running" else STOPPED, outline=LINE, width=3
            )
            c.create_line(cx, 560, cx, 588, fill=LINE, width=6)
            self._tag_label(cx - 60, 672, tag, state.upper(), alarmed.get(tag))
        c.create_rectangle(930, 130, 1250, 700, fill=PANEL, outline=LINE)
        c.create_text(950, 150, text="PROCESS VALUES", anchor="w", fill=DIM, font=_font(16, "bold"))
        for i, tag in enumerate(values):
            y = 190 + i * 56
            spec = scenario.tags[tag]
            c.create_text(950, y, text=f"{tag}  {spec.description}", anchor="w", fill=DIM, font=_font(15))
            c.create_text(
                950,
                y + 22,
                text=f"{float(self.plant.value(tag)):.1f} {spec.unit}",
                anchor="w",
                fill=TEXT,
                font=_font(20, "bold"),
            )
            if tag in alarmed:
                _indicator(c, 1150, y + 22, alarmed[tag].priority)

    def _tag_label(self, left: int, top: int, tag: str, value: str, alarm: Alarm | None) -> None:
        c = self.canvas
        c.create_text(left, top, text=tag, anchor="w", fill=TEXT, font=_font(18, "bold"))
        c.create_text(left, top + 24, text=value, anchor="w", fill=TEXT, font=_font(18))
        if alarm is not None:
            _indicator(self.canvas, left + 150, top + 12, alarm.priority)

    def _draw_alarm_list(self) -> None:
        c = self.canvas
        for title, x in COLUMNS:
            c.create_text(x, 126, text=title, anchor="w", fill=DIM, font=_font(16, "bold"))
        c.create_line(10, 142, WIDTH - 10, 142, fill=LINE)
        self._row_boxes = {}
        listed = self.plant.listed()
        for row, alarm in enumerate(listed[:MAX_ROWS]):
            top = ROW_TOP + row * ROW_HEIGHT
            box = (10, top, WIDTH - 10, top + ROW_HEIGHT - 4)
            self._row_boxes[alarm.id] = box
            colour = PRIORITY_COLOURS[alarm.priority]
            unacked = alarm.acked_by is None
            c.create_rectangle(
                *box,
                fill=colour if unacked else PANEL,
                outline=TEXT if alarm.id == self.plant.selected else "",
                width=3,
            )
            if not unacked:
                c.create_rectangle(box[0], top, box[0] + 8, box[3], fill=colour, outline="")
            cells = (
                alarm.raised_at.astimezone().strftime("%H:%M:%S"),
                alarm.tag,
                alarm.condition,
                alarm.description,
                f"P{alarm.priority}",
                alarm.state,
            )
            for (_, x), cell in zip(COLUMNS, cells, strict=True):
                c.create_text(
                    x,
                    top + (ROW_HEIGHT - 4) // 2,
                    text=cell,
                    anchor="w",
                    fill="#000000" if unacked else TEXT,
                    font=_font(16),
                )
        if len(listed) > MAX_ROWS:
            c.create_text(
                20,
                ROW_TOP + MAX_ROWS * ROW_HEIGHT + 10,
                text=f"+ {len(listed) - MAX_ROWS} more",
                anchor="w",
                fill=DIM,
                font=_font(16),
            )

    # ------------------------------------------------------------------ status

    def _write_status(self) -> None:
        """Writes the state for outside observers when anything but the ticking values changed (atomic replace)."""
        if self.status_file is None:
            return
        status = {
            **self.plant.status(),
            "page": self.page,
            "buttons": {name: list(box) for name, box in {**NAV, **BUTTONS}.items()},
            "rows": {str(i): list(box) for i, box in self._row_boxes.items()} if self.page == "ALARMS" else {},
            "window": [self.root.winfo_rootx(), self.root.winfo_rooty(), WIDTH, HEIGHT],
            "pid": os.getpid(),
        }
        signature = json.dumps({k: v for k, v in status.items() if k not in ("time", "values")}, sort_keys=True)
        if signature == self._last_status:
            return
        self._last_status = signature
        partial = self.status_file.with_suffix(self.status_file.suffix + ".tmp")
        partial.write_text(json.dumps(status, indent=1))
        os.replace(partial, self.status_file)


def _inside(x: int, y: int, box: tuple[int, int, int, int]) -> bool:
    return box[0] <= x < box[2] and box[1] <= y < box[3]


def _font(pixels: int, weight: str = "normal") -> tuple:
    return ("DejaVu Sans", -pixels, weight)  # negative size = pixels, so the layout ignores the display's DPI


def _button(canvas: tk.Canvas, box: tuple[int, int, int, int], label: str, active: bool = False) -> None:
    canvas.create_rectangle(*box, fill="#5a5a5a" if active else "#4a4a4a", outline=TEXT if active else LINE, width=2)
    canvas.create_text((box[0] + box[2]) // 2, (box[1] + box[3]) // 2, text=label, fill=TEXT, font=_font(18, "bold"))


def _indicator(canvas: tk.Canvas, cx: int, cy: int, priority: int) -> None:
    """ISA-101 alarm indicator: a priority-coloured shape with the priority number, next to the alarmed value."""
    canvas.create_rectangle(
        cx - 14, cy - 14, cx + 14, cy + 14, fill=PRIORITY_COLOURS[priority], outline="#000000", width=2
    )
    canvas.create_text(cx, cy, text=str(priority), fill="#000000", font=_font(18, "bold"))
