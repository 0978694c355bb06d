"""Renders the labelled HMI screens in this folder: PNG/JPEG screens with a ground-truth JSON beside each.

    .venv/bin/python examples/screens/generate.py [--out examples/screens]

Every screen shows the demo plant (storage/demo.py, `hmi-agent alarms demo-data`) at 10:45 UTC: its alarm rows
and banner are the plant's standing alarms with their tag, priority, state, activation time, value and the HMI's
short text, and the process graphic labels plant tags. Deterministic (fixed seeds). Screens mix light, dark and grey (ISA-101) themes, 1024x768 / 1280x800 / 1920x1080,
English and Chinese, an alarm list (3-12 rows), an alarm banner, priority badges, buttons and process graphics,
plus degraded copies: JPEG artefacts, blur and phone-photo style (perspective, glare, noise).

Ground truth (`<name>.json`): width, height, theme, language, variant, alarm_rows [{tag, priority, state, time,
description, value, bbox}], banner {tag, priority, bbox}, indicators [{bbox, priority, shape, blinking}],
buttons [{text, bbox}].
Priorities are "1" (critical, red) .. "4" (low, magenta/purple/blue); states "unacked", "acked", "rtn_unacked".
"""

from __future__ import annotations

import argparse
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from storage.demo import AREAS, STANDING, demo_tags, hmi_priority, hmi_text, hmi_value

HERE = Path(__file__).resolve().parent
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_BOLD = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_SC_INDEX = 2  # face index of "Noto Sans CJK SC" inside the .ttc

THEMES = {
    "light": dict(bg=(236, 238, 240), panel=(252, 252, 252), text=(25, 25, 25), muted=(105, 105, 110),
                  line=(170, 172, 176), title_bg=(52, 64, 84), title_fg=(245, 245, 245), button=(222, 224, 228),
                  border=(80, 84, 90), vessel=(205, 208, 212), liquid=(150, 170, 190), header=(215, 218, 222)),
    "dark": dict(bg=(24, 27, 32), panel=(36, 40, 47), text=(228, 230, 232), muted=(150, 155, 160),
                 line=(90, 96, 104), title_bg=(14, 16, 20), title_fg=(230, 230, 230), button=(58, 64, 72),
                 border=(150, 156, 164), vessel=(70, 76, 84), liquid=(60, 84, 108), header=(48, 53, 61)),
    "grey": dict(bg=(192, 192, 192), panel=(208, 208, 208), text=(0, 0, 0), muted=(70, 70, 70),
                 line=(128, 128, 128), title_bg=(150, 150, 150), title_fg=(0, 0, 0), button=(180, 180, 180),
                 border=(60, 60, 60), vessel=(170, 170, 170), liquid=(140, 150, 160), header=(175, 175, 175)),
}
# Vendors vary the exact hue; priority 4 is magenta, purple or blue depending on the plant.
PRIORITY_COLOURS = {
    "1": [(230, 20, 20), (210, 0, 0), (255, 40, 40)],
    "2": [(255, 140, 0), (245, 120, 20), (255, 160, 30)],
    "3": [(255, 220, 0), (240, 210, 20), (255, 235, 60)],
    "4": [(200, 0, 200), (140, 60, 200), (30, 90, 230)],
}
SHAPES = ["square", "triangle", "diamond", "circle"]

# Process values the graphic shows for instruments without a standing alarm: their normal values.
NORMAL_VALUES = [(tag, f"{kind.normal:.1f} {kind.units.replace('³', '3')}") for tag, _, kind in demo_tags()
                 if kind.units and kind.prefix != "AI" and tag not in {a.tag for a in STANDING}]
PRIORITY_WORDS = {"en": {"1": "Critical", "2": "High", "3": "Medium", "4": "Low"},
                  "zh": {"1": "紧急", "2": "高", "3": "中", "4": "低"}}
STATE_WORDS = {"en": {"unacked": "UNACK", "acked": "ACKED", "rtn_unacked": "RTN UNACK"},
               "zh": {"unacked": "未确认", "acked": "已确认", "rtn_unacked": "恢复未确认"}}
HEADERS = {"en": ["Time", "Tag", "Description", "Priority", "State", "Value"],
           "zh": ["时间", "位号", "描述", "优先级", "状态", "数值"]}
BUTTONS = {"en": ["ACK", "ACK ALL", "SILENCE", "RESET"], "zh": ["确认", "全部确认", "消音", "复位"]}
NAV = {"en": ["OVERVIEW", "TRENDS", "ALARMS"], "zh": ["总览", "趋势", "报警"]}
TITLES = {"en": "Demo plant - Alarm overview", "zh": "演示装置 - 报警总览"}


def _font(size: int, bold: bool = False) -> ImageFont.ImageFont:
    path = CJK_BOLD if bold else CJK_FONT
    try:
        return ImageFont.truetype(str(path), size, index=CJK_SC_INDEX)
    except OSError:  # no Noto CJK here: Latin-only font (Chinese glyphs will be boxes), then PIL's built-in
        try:
            return ImageFont.truetype(str(LATIN_FONT), size)
        except OSError:
            return ImageFont.load_default(size)


@dataclass
class Alarm:
    time: str
    tag: str
    description: str
    priority: str
    state: str
    value: str


@dataclass
class Truth:
    width: int
    height: int
    theme: str
    language: str
    variant: str = "clean"
    alarm_rows: list[dict] = field(default_factory=list)
    banner: dict | None = None
    indicators: list[dict] = field(default_factory=list)
    buttons: list[dict] = field(default_factory=list)

    def boxes(self):
        """Every ground-truth bbox list (mutable), for geometric transforms."""
        items = self.alarm_rows + self.indicators + self.buttons + ([self.banner] if self.banner else [])
        return [item["bbox"] for item in items]


def plant_alarms(rng: random.Random, language: str, count: int, names: list[str] | None = None) -> list[Alarm]:
    """`count` of the plant's standing alarms (or those `names`), newest first as alarm lists sort them."""
    chosen = [a for a in STANDING if a.name in names] if names else rng.sample(STANDING, count)
    chosen.sort(key=lambda a: (-a.days_before, a.clock), reverse=True)
    return [Alarm(time=a.clock, tag=a.name, description=hmi_text(a, language), priority=hmi_priority(a),
                  state=a.state, value=hmi_value(a)) for a in chosen]


def draw_badge(draw: ImageDraw.ImageDraw, box, shape: str, colour, label: str, font) -> None:
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    edge = (0, 0, 0)
    if shape == "square":
        draw.rectangle(box, fill=colour, outline=edge)
    elif shape == "circle":
        draw.ellipse(box, fill=colour, outline=edge)
    elif shape == "triangle":
        draw.polygon([(cx, y1), (x2, y2), (x1, y2)], fill=colour, outline=edge)
    else:
        draw.polygon([(cx, y1), (x2, cy), (cx, y2), (x1, cy)], fill=colour, outline=edge)
    ink = (255, 255, 255) if sum(colour) < 400 else (0, 0, 0)
    draw.text((cx, cy + (y2 - y1) * (0.12 if shape == "triangle" else 0)), label, fill=ink, font=font, anchor="mm")


class ScreenPainter:
    """Draws one HMI screen and records the ground truth of what it drew."""

    def __init__(self, seed: int, size: tuple[int, int], theme: str, language: str, rows: int, blink_on: bool = True,
                 names: list[str] | None = None):
        self.rng = random.Random(seed)
        self.width, self.height = size
        self.theme, self.t = theme, THEMES[theme]
        self.language = language
        self.blink_on = blink_on  # False: the "off" phase of blinking (unacknowledged) badges
        self.unit = max(12, round(14 * self.height / 800))  # font px; HMIs keep text small even on big screens
        self.font = _font(self.unit)
        self.bold = _font(self.unit, bold=True)
        self.small = _font(max(10, self.unit - 3), bold=True)
        self.big = _font(self.unit + 4, bold=True)
        self.colours = {p: self.rng.choice(c) for p, c in PRIORITY_COLOURS.items()}
        self.shapes = dict(zip("1234", self.rng.sample(SHAPES, 4)))  # each vendor pairs shapes differently
        self.row_fill = self.rng.random() < 0.6  # unacked rows on a priority-coloured background
        self.alarms = plant_alarms(self.rng, language, rows, names)
        self.image = Image.new("RGB", size, self.t["bg"])
        self.draw = ImageDraw.Draw(self.image)
        self.truth = Truth(self.width, self.height, theme, language)

    def badge(self, x: int, y_mid: int, priority: str, blinking: bool) -> int:
        """Draws a priority badge at (x, y_mid); returns its right edge."""
        side = round(self.unit * 1.35)
        box = (x, y_mid - side // 2, x + side, y_mid - side // 2 + side)
        if blinking and not self.blink_on:
            return box[2]
        draw_badge(self.draw, box, self.shapes[priority], self.colours[priority], priority, self.small)
        self.truth.indicators.append(dict(bbox=list(box), priority=priority, shape=self.shapes[priority],
                                          blinking=blinking))
        return box[2]

    def button(self, x: int, y: int, label: str, font=None) -> int:
        font = font or self.bold
        w = self.draw.textlength(label, font=font) + self.unit * 1.6
        box = (x, y, round(x + w), y + round(self.unit * 2.1))
        self.draw.rounded_rectangle(box, radius=3, fill=self.t["button"], outline=self.t["border"], width=2)
        self.draw.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), label, fill=self.t["text"], font=font,
                       anchor="mm")
        self.truth.buttons.append(dict(text=label, bbox=list(box)))
        return box[2]

    def paint(self) -> tuple[Image.Image, Truth]:
        u, w = self.unit, self.width
        title_h = round(u * 2.4)
        self.draw.rectangle((0, 0, w, title_h), fill=self.t["title_bg"])
        self.draw.text((u, title_h / 2), TITLES[self.language], fill=self.t["title_fg"], font=self.big, anchor="lm")
        x = w - u
        for label in reversed(NAV[self.language]):
            x = self._nav_button_right_aligned(x, label, title_h)
        banner_bottom = self.paint_banner(title_h + u // 2)
        list_h = round((len(self.alarms) + 1) * u * 2.0 + u * 3.2)
        list_top = self.height - list_h - u // 2
        self.paint_graphics(banner_bottom + u // 2, list_top - u // 2)
        self.paint_alarm_list(list_top)
        return self.image, self.truth

    def _nav_button_right_aligned(self, right: int, label: str, title_h: int) -> int:
        width = self.draw.textlength(label, font=self.bold) + self.unit * 1.6
        x = round(right - width)
        y = (title_h - round(self.unit * 2.1)) // 2
        self.button(x, y, label)
        return x - self.unit // 2

    def paint_banner(self, top: int) -> int:
        u, t = self.unit, self.t
        height = round(u * 2.6)
        box = (u // 2, top, self.width - u // 2, top + height)
        order = {"unacked": 0, "rtn_unacked": 1, "acked": 2}
        alarm = min(self.alarms, key=lambda a: (a.priority, order[a.state]))
        coloured = self.rng.random() < 0.5
        fill = self.colours[alarm.priority] if coloured else t["panel"]
        self.draw.rectangle(box, fill=fill, outline=t["border"])
        ink = ((255, 255, 255) if sum(fill) < 400 else (0, 0, 0)) if coloured else t["text"]
        x = box[0] + u // 2
        if not coloured:
            x = self.badge(x, (box[1] + box[3]) // 2, alarm.priority, alarm.state != "acked") + u // 2
        text = f"{alarm.time}  {alarm.tag}  {alarm.description}  {alarm.value}"
        self.draw.text((x, (box[1] + box[3]) / 2), text, fill=ink, font=self.bold, anchor="lm")
        self.truth.banner = dict(tag=alarm.tag, priority=alarm.priority, bbox=list(box))
        bx = box[2] - u // 2
        for label in reversed(BUTTONS[self.language][:2]):
            width = self.draw.textlength(label, font=self.bold) + u * 1.6
            bx = round(bx - width)
            self.button(bx, box[1] + (height - round(u * 2.1)) // 2, label)
            bx -= u // 2
        return box[3]

    def paint_graphics(self, top: int, bottom: int) -> None:
        rng, u, t, d = self.rng, self.unit, self.t, self.draw
        panel = (u // 2, top, self.width - u // 2, bottom)
        d.rectangle(panel, fill=t["panel"], outline=t["line"])
        vessels = rng.randint(2, 4)
        span = (panel[2] - panel[0]) / vessels
        vessel_h = min(bottom - top - u * 5, round(u * 11))
        # active unacknowledged alarms, at the value they came in at (a cleared one would be back to normal)
        alarms_on_graphic = [a for a in self.alarms if a.state == "unacked"][:vessels]
        shown = [(a.tag.split(".")[0], a.value, a) for a in alarms_on_graphic]
        shown += [(*rng.choice(NORMAL_VALUES), None) for _ in range(vessels - len(shown))]
        centres = []
        for i, (tag, _, _) in enumerate(shown):
            cx = round(panel[0] + span * (i + 0.5))
            vw = round(min(span * 0.35, u * 6))
            vt = top + max(u * 2, (bottom - top - vessel_h) // 2)
            box = (cx - vw // 2, vt, cx + vw // 2, vt + vessel_h)
            d.rounded_rectangle(box, radius=vw // 3, fill=t["vessel"], outline=t["border"], width=2)
            level = rng.uniform(0.2, 0.8)
            d.rectangle((box[0] + 3, round(box[3] - vessel_h * level), box[2] - 3, box[3] - vw // 4),
                        fill=t["liquid"])
            area = int(tag.split("-")[1][0])  # TIC-101 measures on the area-1 equipment, R-101
            equipment = AREAS[area - 1][2].format(n=area).split()[0]
            d.text((cx, vt - u), equipment, fill=t["text"], font=self.bold, anchor="mm")
            centres.append((cx, box))
        for (ax, abox), (bx, bbox) in zip(centres, centres[1:]):  # pipes with a valve and a pump between vessels
            y = abox[3] - u * 2
            d.line((abox[2], y, bbox[0], y), fill=t["border"], width=3)
            vx = (abox[2] + bbox[0]) // 2
            s = u * 0.7
            d.polygon([(vx - s, y - s), (vx + s, y + s), (vx + s, y - s), (vx - s, y + s)], fill=t["vessel"],
                      outline=t["border"])
            px = (abox[2] + vx) // 2
            running = rng.random() < 0.5  # green "running" lamp: a saturated colour that is NOT an alarm
            d.ellipse((px - u, y - u, px + u, y + u), fill=(40, 170, 60) if running else t["vessel"],
                      outline=t["border"], width=2)
        for (cx, box), (tag, value, alarm) in zip(centres, shown):
            label = f"{tag}  {value}"
            lw = d.textlength(label, font=self.font)
            lx, ly = box[2] + u // 2, box[1] + u * 2
            if lx + lw + u * 3.5 > panel[2]:  # no room right of the last vessel (label + badge): left and lower
                lx, ly = round(box[0] - u // 2 - lw - u * 3.5), box[1] + u * 5
            d.rectangle((lx, ly - u, lx + lw + u, ly + u), fill=t["panel"], outline=t["line"])
            d.text((lx + u // 2, ly), label, fill=t["text"], font=self.font, anchor="lm")
            if alarm:
                self.badge(round(lx + lw + u * 1.5), ly, alarm.priority, alarm.state != "acked")

    def paint_alarm_list(self, top: int) -> None:
        u, t, d = self.unit, self.t, self.draw
        box = (u // 2, top, self.width - u // 2, self.height - u // 2)
        d.rectangle(box, fill=t["panel"], outline=t["line"])
        bx = box[0] + u // 2
        for label in BUTTONS[self.language][1:]:
            bx = self.button(bx, top + u // 2, label) + u // 2
        header_top = top + round(u * 3)
        row_h = round(u * 2.0)
        fractions = [0.0, 0.11, 0.25, 0.62, 0.72, 0.84]
        inner_left, inner_w = box[0] + u * 2.6, box[2] - box[0] - u * 3
        columns = [round(inner_left + f * inner_w) for f in fractions]
        d.rectangle((box[0] + 1, header_top, box[2] - 1, header_top + row_h), fill=t["header"])
        for x, label in zip(columns, HEADERS[self.language]):
            d.text((x, header_top + row_h / 2), label, fill=t["muted"], font=self.bold, anchor="lm")
        for i, alarm in enumerate(self.alarms):
            y1 = header_top + row_h * (i + 1)
            row_box = (box[0] + 1, y1, box[2] - 1, y1 + row_h)
            ink = t["text"]
            filled = self.row_fill and alarm.state == "unacked" and self.blink_on
            if filled:
                colour = self.colours[alarm.priority]
                d.rectangle(row_box, fill=colour)
                ink = (255, 255, 255) if sum(colour) < 400 else (0, 0, 0)
            elif i % 2:
                d.line((row_box[0], row_box[3], row_box[2], row_box[3]), fill=t["line"])
            mid = y1 + row_h // 2
            self.badge(box[0] + u // 2, mid, alarm.priority, alarm.state != "acked")
            words = PRIORITY_WORDS[self.language]
            cells = [alarm.time, alarm.tag, alarm.description, words[alarm.priority],
                     STATE_WORDS[self.language][alarm.state], alarm.value]
            for x, cell in zip(columns, cells):
                d.text((x, mid), cell, fill=ink, font=self.font, anchor="lm")
            self.truth.alarm_rows.append(dict(tag=alarm.tag, priority=alarm.priority, state=alarm.state,
                                              time=alarm.time, description=alarm.description, value=alarm.value,
                                              bbox=list(row_box)))


# ---- degradations -------------------------------------------------------------------------------------------------

def jpeg_artefacts(image: Image.Image, quality: int = 30) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def blur(image: Image.Image, radius: float = 1.1) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius))


def phone_photo(image: Image.Image, truth: Truth, rng: random.Random) -> Image.Image:
    """Mild perspective warp onto a dark bezel, a glare blob, soft focus, sensor noise; moves the truth boxes too."""
    import cv2

    w, h = image.size
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    inset = [(0.06, 0.06), (0.94, 0.06), (0.94, 0.94), (0.06, 0.94)]  # the panel fills ~88% of the photo
    dst = np.float32([[w * (fx + rng.uniform(-0.03, 0.03)), h * (fy + rng.uniform(-0.03, 0.03))] for fx, fy in inset])
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(np.asarray(image), matrix, (w, h), borderValue=(18, 18, 20)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    gx, gy, radius = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, rng.uniform(0.15, 0.3) * w
    glare = rng.uniform(0.3, 0.5) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius**2))
    warped = warped * (1 - glare[..., None]) + 255 * glare[..., None]
    warped *= rng.uniform(0.9, 1.05)  # exposure
    warped = cv2.GaussianBlur(warped, (0, 0), rng.uniform(0.4, 0.9))  # phone focus and shake
    warped += np.random.default_rng(rng.randrange(2**32)).normal(0, 6, warped.shape)
    for bbox in truth.boxes():
        corners = np.float32([[bbox[0], bbox[1]], [bbox[2], bbox[1]], [bbox[2], bbox[3]], [bbox[0], bbox[3]]])
        moved = cv2.perspectiveTransform(corners[None], matrix)[0]
        bbox[:] = [round(float(moved[:, 0].min())), round(float(moved[:, 1].min())),
                   round(float(moved[:, 0].max())), round(float(moved[:, 1].max()))]
    return Image.fromarray(np.clip(warped, 0, 255).astype(np.uint8))


# ---- the committed set --------------------------------------------------------------------------------------------

SIZES = [(1024, 768), (1280, 800), (1920, 1080)]
THEME_NAMES = ["light", "dark", "grey"]


def screen_specs() -> list[dict]:
    """12 clean screens (every theme x size, both languages), and 4 jpeg, 4 blur, 6 photo copies of some of them."""
    specs = []
    for i in range(12):
        specs.append(dict(name=f"clean_{i:02d}", seed=1000 + i, size=SIZES[i % 3], theme=THEME_NAMES[(i // 3) % 3],
                          language="zh" if i % 2 else "en", rows=3 + (i * 7) % 10, variant="clean"))
    for variant, count in (("jpeg", 4), ("blur", 4), ("photo", 6)):
        for k in range(count):
            base = specs[(k * 5 + len(variant)) % 12]
            specs.append({**base, "name": f"{variant}_{k:02d}", "seed": base["seed"] + 100 * (k + 1),
                          "variant": variant})
    return specs


def render(spec: dict, blink_on: bool = True) -> tuple[Image.Image, Truth]:
    painter = ScreenPainter(spec["seed"], spec["size"], spec["theme"], spec["language"], spec["rows"], blink_on)
    image, truth = painter.paint()
    truth.variant = spec["variant"]
    rng = random.Random(spec["seed"] * 7 + 1)
    if spec["variant"] == "jpeg":
        image = jpeg_artefacts(image, quality=rng.choice([25, 35, 45]))
    elif spec["variant"] == "blur":
        image = blur(image, radius=rng.uniform(0.8, 1.3))
    elif spec["variant"] == "photo":
        image = phone_photo(image, truth, rng)
    return image, truth


def save(image: Image.Image, truth: Truth, out: Path, name: str) -> Path:
    suffix = ".jpg" if truth.variant in ("jpeg", "photo") else ".png"
    path = out / f"{name}{suffix}"
    if suffix == ".jpg":
        image.save(path, quality=85 if truth.variant == "photo" else 95)
    else:
        image.save(path, optimize=True)
    truth_dict = {"image": path.name, **truth.__dict__}
    (out / f"{name}.json").write_text(json.dumps(truth_dict, ensure_ascii=False, indent=1) + "\n")
    return path


DEMO_ALARMS = ["TIC-101.HH", "TIC-201.H", "LIC-403.H", "PIC-102.L", "VI-505.HH", "FIC-204.L"]


def demo_screen() -> tuple[Image.Image, Truth]:
    """The README's screen: 1280x800 ISA-101 grey, English, TIC-101.HH critical + unacknowledged in banner and list."""
    painter = ScreenPainter(23, (1280, 800), "grey", "en", rows=len(DEMO_ALARMS), names=DEMO_ALARMS)
    return painter.paint()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for spec in screen_specs():
        image, truth = render(spec)
        print(save(image, truth, out, spec["name"]))
    blink_spec = dict(seed=77, size=(1280, 800), theme="dark", language="en", rows=5, variant="clean")
    for phase, blink_on in (("on", True), ("off", False)):
        image, truth = render(blink_spec, blink_on=blink_on)
        print(save(image, truth, out, f"blink_{phase}"))
    image, truth = demo_screen()
    print(save(image, truth, out, "demo"))


if __name__ == "__main__":
    main()
