"""Renders labelled HMI screens in other vendors' styles, for the screen-parser bench and tests (issue 15).

    .venv/bin/python bench/screens/vendors/generate.py [--out bench/screens/vendors]

Each style is one imagined product with its own conventions, kept on all its screens (so a profile learned from one
screen must carry to the others). Deterministic (fixed seeds).
Writes <style>/<name>.png|jpg + <name>.json (the examples/screens ground-truth format, plus `style`, each row's
`date` and each indicator's `tag`), and for each alarm-list style the plant behind it, for calibration
(`hmi-agent profile learn`): <style>/definitions.csv (configured priorities) and <style>/journal.csv (activations
at the times shown, acknowledgements and returns to normal matching the rows' states).

| style | what is hard |
| --- | --- |
| packed | one OCR box per row ("… pressure high High Boiler Active-ACK"), Active / Active-ACK / Passive, white-on-red rows, grey low rows |
| codes | dark theme, date wrapped over time in one cell, a narrow numeric "Pri" column, UNACK / ACK / UNACK_RTN / ACK_RTN |
| severity | "Severity" 1-1000, Active Unacked / Active Acked / Cleared Unacked, pale tinted row fills |
| zh | Chinese: 级别 1-4 numbers, 报警/恢复 and 未确认/已确认 in two columns, white-on-saturated rows |
| classic | grey ISA style, "Class" words Emergency/High/Warning/Info, UNACK / ACKED / Cleared Unacked / Normal |
| colour | no priority column: priority only by colour, in this site's own convention (red fill 1, yellow fill 2, blue text 3, grey text 4); states UNACK / ACK / RTN |
| overview | equipment with badges at the product's own offset from their label (right, left or above), neighbours close |
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent


def _examples_painter():
    """examples/screens/generate.py (fonts, badges, JPEG and phone-photo degradations), loaded by path."""
    spec = importlib.util.spec_from_file_location("examples_screens_generate",
                                                  HERE.parents[2] / "examples" / "screens" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


_base = _examples_painter()
Truth, _font, draw_badge, jpeg_artefacts, phone_photo = (_base.Truth, _base._font, _base.draw_badge,
                                                          _base.jpeg_artefacts, _base.phone_photo)

STATES = ("unacked", "acked", "rtn_unacked", "normal")
TAG_PREFIXES = ["TIC", "PT", "FV", "LSHH", "FIC", "PIC", "LIC", "TT", "AI", "LT", "FT", "PDT", "XV", "HS", "ZSC"]
CONDITIONS = ["HH", "H", "L", "LL", "FAIL", "DEV"]
DESCRIPTIONS_EN = [
    "Boiler drum pressure high", "Level high high tank T{n}", "Feed pump P{n} flow low", "Active power low gen G{n}",
    "Compressor vibration high", "Deviation alarm loop {n}", "Cooling water flow low", "Analyser fault",
    "Steam header pressure low", "Valve failed to close", "Burner flame failure", "Pressure high separator V{n}",
]
DESCRIPTIONS_ZH = ["锅炉汽包压力高", "储罐T{n}液位高高", "进料泵P{n}流量低", "压缩机振动高", "回路{n}偏差报警",
                   "冷却水流量低", "分析仪故障", "蒸汽总管压力低", "阀门关闭失败", "燃烧器熄火"]
AREAS = ["Boiler", "Turbine", "Feedwater", "Fuel", "Utilities"]


@dataclass
class Alarm:
    tag: str
    description: str
    priority: str
    state: str
    date: str
    time: str
    area: str
    value: str


@dataclass(frozen=True)
class Style:
    name: str
    language: str
    theme: dict
    headers: tuple[str, ...]  # column kinds: time, tag, description, priority, state, area, value, ack
    header_words: dict[str, str]
    priority_text: dict[str, str]  # priority -> cell text ("{n}" for a number)
    state_text: dict[str, str]
    states: tuple[str, ...]  # which states this product lists
    gap: float  # column gap, in text heights: small = packed (OCR joins a row into one box)
    fill: str  # which rows get a filled background: none | unacked_p1 | unacked | pale
    grey_low: bool  # priority-4 rows in faint grey text
    wrap_date: bool  # the date above the time inside one cell
    severity: bool = False
    site_colours: bool = False  # priority shown only by colour, in this site's convention (SITE_COLOURS)


LIGHT = dict(bg=(245, 246, 248), panel=(255, 255, 255), text=(20, 20, 24), faint=(165, 168, 172), line=(210, 212, 216),
             header=(228, 231, 236), title=(40, 60, 90), title_ink=(250, 250, 250))
DARK = dict(bg=(18, 20, 24), panel=(30, 33, 38), text=(225, 228, 232), faint=(110, 114, 120), line=(60, 64, 70),
            header=(44, 48, 56), title=(10, 12, 14), title_ink=(220, 220, 220))
GREY = dict(bg=(190, 190, 190), panel=(204, 204, 204), text=(0, 0, 0), faint=(120, 120, 120), line=(140, 140, 140),
            header=(176, 176, 176), title=(150, 150, 150), title_ink=(0, 0, 0))
FILLS = {"1": (215, 25, 30), "2": (235, 120, 0), "3": (235, 200, 0), "4": (40, 80, 200)}
PALE = {"1": (255, 205, 205), "2": (255, 225, 190), "3": (255, 250, 200), "4": (215, 225, 255)}
INKS = {"1": (225, 30, 30), "2": (245, 140, 20), "3": (240, 215, 40), "4": (90, 150, 255)}  # coloured text, dark

STYLES = {
    "packed": Style("packed", "en", LIGHT, ("time", "tag", "description", "priority", "area", "state"),
                    {"time": "Time", "tag": "Name", "description": "Description", "priority": "Priority",
                     "area": "Area", "state": "Status"},
                    {"1": "Critical", "2": "High", "3": "Medium", "4": "Low"},
                    {"unacked": "Active", "acked": "Active-ACK", "rtn_unacked": "Passive"},
                    ("unacked", "unacked", "acked", "rtn_unacked"), 0.45, "unacked_p1", True, False),
    "codes": Style("codes", "en", DARK, ("time", "tag", "description", "priority", "state", "value"),
                   {"time": "Date/Time", "tag": "Tag", "description": "Message", "priority": "Pri",
                    "state": "State", "value": "PV"},
                   {p: "{n}" for p in "1234"},
                   {"unacked": "UNACK", "acked": "ACK", "rtn_unacked": "UNACK_RTN", "normal": "ACK_RTN"},
                   ("unacked", "acked", "rtn_unacked", "normal"), 1.6, "none", False, True),
    "severity": Style("severity", "en", LIGHT, ("time", "tag", "description", "priority", "state"),
                      {"time": "Active Time", "tag": "Source", "description": "Message", "priority": "Severity",
                       "state": "State"},
                      {p: "{n}" for p in "1234"},
                      {"unacked": "Active Unacked", "acked": "Active Acked", "rtn_unacked": "Cleared Unacked"},
                      ("unacked", "acked", "rtn_unacked"), 1.4, "pale", False, False, severity=True),
    "zh": Style("zh", "zh", DARK, ("time", "tag", "description", "priority", "state", "ack"),
                {"time": "时间", "tag": "位号", "description": "描述", "priority": "级别", "state": "状态",
                 "ack": "确认"},
                {p: "{n}" for p in "1234"},
                {"unacked": "报警|未确认", "acked": "报警|已确认", "rtn_unacked": "恢复|未确认"},
                ("unacked", "acked", "rtn_unacked"), 1.5, "unacked", False, False),
    "classic": Style("classic", "en", GREY, ("time", "tag", "description", "priority", "state", "value"),
                     {"time": "Date Time", "tag": "Point", "description": "Alarm Text", "priority": "Class",
                      "state": "Condition", "value": "Value"},
                     {"1": "Emergency", "2": "High", "3": "Warning", "4": "Info"},
                     {"unacked": "UNACK", "acked": "ACKED", "rtn_unacked": "Cleared Unacked", "normal": "Normal"},
                     ("unacked", "acked", "rtn_unacked", "normal"), 1.0, "none", True, False),
    "colour": Style("colour", "en", LIGHT, ("time", "tag", "description", "state"),
                    {"time": "Time", "tag": "Tag", "description": "Description", "state": "Ack"},
                    {}, {"unacked": "UNACK", "acked": "ACK", "rtn_unacked": "RTN"},
                    ("unacked", "acked", "rtn_unacked"), 1.5, "none", False, False, site_colours=True),
}
# (fill, ink) per priority; None = no fill / the theme's text colour. Generic ISA colours read yellow as 3, blue as 4.
SITE_COLOURS = {"1": ((210, 20, 20), (255, 255, 255)), "2": ((250, 215, 0), (0, 0, 0)), "3": (None, (0, 80, 210)),
                "4": (None, (160, 162, 166))}
SEVERITY = {"1": (801, 1000), "2": (601, 800), "3": (401, 600), "4": (1, 400)}


def random_alarms(rng: random.Random, style: Style, count: int, seen: set[str]) -> list[Alarm]:
    """`count` alarms with tags not in `seen` (one style's screens show one plant: a tag has one priority)."""
    alarms = []
    hour, minute, second = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    descriptions = DESCRIPTIONS_ZH if style.language == "zh" else DESCRIPTIONS_EN
    while len(alarms) < count:
        tag = f"{rng.choice(TAG_PREFIXES)}-{rng.randrange(100, 4999)}"
        if rng.random() < 0.5:
            tag += "." + rng.choice(CONDITIONS)
        if tag in seen:
            continue
        seen.add(tag)
        second -= rng.randrange(5, 900)
        while second < 0:
            second, minute = second + 60, minute - 1
        while minute < 0:
            minute, hour = minute + 60, (hour - 1) % 24
        alarms.append(Alarm(tag, rng.choice(descriptions).format(n=rng.randrange(1, 9)), rng.choice("1122334444"),
                            rng.choice(style.states), f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}",
                            f"{hour:02d}:{minute:02d}:{second:02d}", rng.choice(AREAS),
                            f"{rng.uniform(0, 250):.1f}"))
    return alarms


class TablePainter:
    """One alarm-list screen of a style."""

    def __init__(self, style: Style, seed: int, size: tuple[int, int], rows: int, seen: set[str]):
        self.style, self.rng = style, random.Random(seed)
        self.width, self.height = size
        self.t = style.theme
        self.unit = max(13, round(15 * self.height / 800))
        self.font, self.bold = _font(self.unit), _font(self.unit, bold=True)
        self.image = Image.new("RGB", size, self.t["bg"])
        self.draw = ImageDraw.Draw(self.image)
        self.alarms = random_alarms(self.rng, style, rows, seen)
        self.truth = Truth(self.width, self.height, "dark" if style.theme is DARK else "light", style.language)

    def cells(self, alarm: Alarm) -> list[str]:
        s = self.style
        out = []
        for kind in s.headers:
            if kind == "time":
                out.append(f"{alarm.date}|{alarm.time}" if s.wrap_date else f"{alarm.date} {alarm.time}")
            elif kind == "tag":
                out.append(alarm.tag)
            elif kind == "description":
                out.append(alarm.description)
            elif kind == "priority":
                low, high = SEVERITY[alarm.priority] if s.severity else (int(alarm.priority),) * 2
                out.append(s.priority_text[alarm.priority].format(n=self.rng.randint(low, high)))
            elif kind == "state":
                out.append(s.state_text[alarm.state].split("|")[0])
            elif kind == "ack":
                out.append(s.state_text[alarm.state].split("|")[1])
            elif kind == "area":
                out.append(alarm.area)
            else:
                out.append(alarm.value)
        return out

    def paint(self) -> tuple[Image.Image, Truth]:
        u, d, t, s = self.unit, self.draw, self.t, self.style
        d.rectangle((0, 0, self.width, round(u * 2.4)), fill=t["title"])
        title = "报警列表 - 锅炉房" if s.language == "zh" else f"ALARM SUMMARY - {self.rng.choice(AREAS).upper()}"
        d.text((u, u * 1.2), title, fill=t["title_ink"], font=_font(u + 3, bold=True), anchor="lm")
        rows = [self.cells(a) for a in self.alarms]
        widths = [max([d.textlength(s.header_words[k], font=self.bold)]
                      + [max(d.textlength(part, font=self.font) for part in row[i].split("|")) for row in rows])
                  for i, k in enumerate(s.headers)]
        left, top = u, round(u * 4)
        row_h = round(u * (2.9 if s.wrap_date else 1.9))
        xs, x = [], left + u // 2
        for w in widths:
            xs.append(round(x))
            x += w + s.gap * u
        right = min(self.width - u, round(x + u))
        d.rectangle((left, top, right, top + row_h * (len(rows) + 1) + 4), fill=t["panel"], outline=t["line"])
        d.rectangle((left + 1, top + 1, right - 1, top + round(u * 1.9)), fill=t["header"])
        for kind, cx in zip(s.headers, xs, strict=False):
            d.text((cx, top + u * 0.95), s.header_words[kind], fill=t["text"], font=self.bold, anchor="lm")
        y = top + round(u * 1.9)
        for alarm, row in zip(self.alarms, rows, strict=False):
            self.paint_row(alarm, row, xs, (left + 1, y, right - 1, y + row_h))
            y += row_h
        return self.image, self.truth

    def paint_row(self, alarm: Alarm, row: list[str], xs: list[int], box: tuple[int, int, int, int]) -> None:
        d, s, t = self.draw, self.style, self.t
        ink = t["text"]
        unacked = alarm.state in ("unacked", "rtn_unacked")
        if s.site_colours:
            fill, ink = SITE_COLOURS[alarm.priority]
            if fill:
                d.rectangle(box, fill=fill)
        elif (s.fill == "unacked_p1" and alarm.state == "unacked" and alarm.priority == "1") or (
                s.fill == "unacked" and alarm.state == "unacked"):
            d.rectangle(box, fill=FILLS[alarm.priority])
            ink = (255, 255, 255) if alarm.priority != "3" else (0, 0, 0)
        elif s.fill == "pale" and unacked:
            d.rectangle(box, fill=PALE[alarm.priority])
            ink = (20, 20, 24)
        elif s.grey_low and alarm.priority == "4":
            ink = t["faint"]
        elif s.theme is DARK:
            ink = INKS[alarm.priority]
        d.line((box[0], box[3] - 1, box[2], box[3] - 1), fill=t["line"])
        mid = (box[1] + box[3]) / 2
        for x, cell in zip(xs, row, strict=False):
            parts = cell.split("|")
            if len(parts) == 2:
                d.text((x, mid - self.unit * 0.62), parts[0], fill=ink, font=self.font, anchor="lm")
                d.text((x, mid + self.unit * 0.62), parts[1], fill=ink, font=self.font, anchor="lm")
            else:
                d.text((x, mid), cell, fill=ink, font=self.font, anchor="lm")
        self.truth.alarm_rows.append(dict(tag=alarm.tag, priority=alarm.priority, state=alarm.state,
                                          time=alarm.time, date=alarm.date, description=alarm.description,
                                          bbox=list(box)))


class OverviewPainter:
    """Equipment labels (tag over value) on a process picture, each alarmed one with a badge placed by the
    product's template: right of the label, left of it, or above it; neighbours close enough that the nearest label
    in reading order is often the wrong one."""

    def __init__(self, seed: int, size: tuple[int, int], placement: str, dark: bool):
        self.rng = random.Random(seed)
        self.width, self.height = size
        self.placement, self.t = placement, DARK if dark else LIGHT
        self.unit = max(13, round(16 * self.height / 800))
        self.font, self.bold, self.small = _font(self.unit), _font(self.unit, bold=True), _font(self.unit - 2, True)
        self.image = Image.new("RGB", size, self.t["bg"])
        self.draw = ImageDraw.Draw(self.image)
        self.truth = Truth(self.width, self.height, "dark" if dark else "light", "en")
        self.shapes = dict(zip("1234", self.rng.sample(["square", "triangle", "diamond", "circle"], 4), strict=False))

    def paint(self) -> tuple[Image.Image, Truth]:
        u, d, t = self.unit, self.draw, self.t
        d.rectangle((0, 0, self.width, round(u * 2.4)), fill=t["title"])
        d.text((u, u * 1.2), "PLANT OVERVIEW", fill=t["title_ink"], font=_font(u + 3, bold=True), anchor="lm")
        spacing = round(u * 9.5)  # label (~4.5 u) + badge offset (~3 u) + a neighbour ~2 u further on
        columns = max(3, (self.width - 2 * u) // spacing)
        used = set()
        for y in range(round(u * 6), self.height - round(u * 4), round(u * 7)):
            for c in range(columns):
                x = round(u * 3 + c * spacing)
                tag = f"{self.rng.choice(['LT', 'PT', 'TT', 'FT', 'P', 'M'])}-{self.rng.randrange(100, 999)}"
                if tag in used or x + u * 8 > self.width:
                    continue
                used.add(tag)
                self.equipment(x, y, tag)
        return self.image, self.truth

    def equipment(self, x: int, y: int, tag: str) -> None:
        u, d, t = self.unit, self.draw, self.t
        d.rounded_rectangle((x, y + u * 2.2, x + u * 3.2, y + u * 4.6), radius=u // 2, outline=t["line"], width=2)
        d.text((x, y), tag, fill=t["text"], font=self.bold, anchor="lm")
        d.text((x, y + u * 1.3), f"{self.rng.uniform(0, 100):.1f} %", fill=t["text"], font=self.font, anchor="lm")
        if self.rng.random() < 0.45:
            return
        priority = self.rng.choice("1234")
        side = round(u * 1.4)
        label_w = d.textlength(tag, font=self.bold)
        if self.placement == "right":
            bx, by = round(x + label_w + u * 2.6), round(y + u * 0.65 - side / 2)
        elif self.placement == "left":
            bx, by = round(x - side - u * 0.6), round(y - side / 2)
        else:  # above the tag, shifted right
            bx, by = round(x + u * 1.2), round(y - u * 0.7 - side)
        box = (bx, by, bx + side, by + side)
        colour = {"1": (230, 20, 20), "2": (255, 140, 0), "3": (255, 220, 0), "4": (200, 0, 200)}[priority]
        draw_badge(d, box, self.shapes[priority], colour, priority, self.small)
        self.truth.indicators.append(dict(bbox=list(box), priority=priority, shape=self.shapes[priority],
                                          blinking=False, tag=tag))


def specs() -> list[dict]:
    out = []
    sizes = [(1280, 800), (1024, 768), (1920, 1080), (1280, 800), (1280, 1024), (1280, 800), (1600, 900)]
    for s, style in enumerate(STYLES):
        for i in range(7):
            out.append(dict(style=style, name=f"{style}_{i:02d}", seed=5000 + 100 * s + i, size=sizes[i],
                            rows=14 if i == 0 else 4 + (i * 5) % 11,  # _00: a full list, for calibration
                            variant="photo" if i == 6 else "jpeg" if i == 5 else "clean"))
    for i, placement in enumerate(["right", "right", "left", "left", "above", "right", "above", "left"]):
        out.append(dict(style="overview", name=f"overview_{i:02d}", seed=7000 + i, size=sizes[i % 7],
                        placement=placement, dark=i % 2 == 1, variant="photo" if i == 7 else "clean"))
    return out


def render(spec: dict, seen: set[str]) -> tuple[Image.Image, Truth]:
    if spec["style"] == "overview":
        image, truth = OverviewPainter(spec["seed"], spec["size"], spec["placement"], spec["dark"]).paint()
    else:
        image, truth = TablePainter(STYLES[spec["style"]], spec["seed"], spec["size"], spec["rows"], seen).paint()
    truth.variant = spec["variant"]
    rng = random.Random(spec["seed"] * 7 + 3)
    if spec["variant"] == "jpeg":
        image = jpeg_artefacts(image, quality=40)
    elif spec["variant"] == "photo":
        image = phone_photo(image, truth, rng)
    return image, truth


def plant_files(truths: list[Truth], folder: Path) -> None:
    """definitions.csv (tag, condition, description, priority) and journal.csv (the activation at the time shown,
    then the acknowledgement and return to normal the row's state implies) behind one style's screens."""
    definitions, journal = ["tag,condition,description,priority"], ["event_time,tag,condition,state"]
    for truth in truths:
        for row in truth.alarm_rows:
            tag, _, condition = row["tag"].partition(".")
            definitions.append(f'{tag},{condition},"{row["description"]}",{row["priority"]}')
            raised = datetime.fromisoformat(f"{row['date']}T{row['time']}+00:00")
            events = [(raised, "active")]
            events += [(raised + timedelta(seconds=40), "acknowledged")] if row["state"] in ("acked", "normal") else []
            events += [(raised + timedelta(seconds=90), "cleared")] if row["state"] in ("rtn_unacked", "normal") else []
            journal += [f"{moment:%Y-%m-%dT%H:%M:%SZ},{tag},{condition},{state}" for moment, state in events]
    (folder / "definitions.csv").write_text("\n".join(definitions) + "\n", encoding="utf-8")
    (folder / "journal.csv").write_text("\n".join(journal) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    out = parser.parse_args().out
    by_style: dict[str, list[Truth]] = {}
    seen: dict[str, set[str]] = {}
    for spec in specs():
        folder = out / spec["style"]
        folder.mkdir(parents=True, exist_ok=True)
        image, truth = render(spec, seen.setdefault(spec["style"], set()))
        suffix = ".jpg" if spec["variant"] in ("jpeg", "photo") else ".png"
        path = folder / f"{spec['name']}{suffix}"
        image.save(path, **({"quality": 85} if suffix == ".jpg" else {"optimize": True}))
        label = {"image": path.name, "style": spec["style"], **truth.__dict__}
        (folder / f"{spec['name']}.json").write_text(json.dumps(label, ensure_ascii=False, indent=1) + "\n")
        by_style.setdefault(spec["style"], []).append(truth)
        print(path)
    for style, truths in by_style.items():
        if any(t.alarm_rows for t in truths):
            plant_files(truths, out / style)


if __name__ == "__main__":
    main()
