"""What the screen parser returns: numbered elements (set-of-marks), as JSON for the UI and as text for the model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ElementKind = Literal["text", "button", "alarm_indicator", "alarm_row", "banner"]
# Where a priority or state came from: a word on screen (generic vocabulary), a colour (generic convention), the site
# profile's own words or colours, or the plant's alarm definition (set by the tools, never by the parser).
Source = Literal["word", "colour", "profile", "definition"]
BBox = tuple[int, int, int, int]

# When hints are cut to a limit, the alarm facts go first: they are what the operator asks about.
_HINT_RANK = {"banner": 0, "alarm_row": 1, "alarm_indicator": 2, "button": 3, "text": 4}


class Element(BaseModel):
    """One thing found on the screen. `bbox` is [x1, y1, x2, y2] in image pixels."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: ElementKind
    bbox: BBox
    text: str = ""
    priority: str | None = None  # "1" (critical) .. "4" (low), see perception.screen.colours.ALARM_COLOURS
    state: str | None = None  # unacked | acked | rtn_unacked | normal (rows); blinking | steady (indicators)
    tag: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    time: str | None = None  # alarm rows and banners: the alarm's time stamp as shown
    value: str | None = None  # alarm rows and banners: the process value shown with the alarm
    priority_source: Source | None = None
    priority_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    state_source: Source | None = None
    state_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    colour: str | None = None  # rows and badges: the alarm colour shown (badge, row fill or text), e.g. "pale red"
    cells: dict[str, str] | None = None  # alarm rows under a table header: column kind -> text (time, tag, state...)

    def hint(self) -> str:
        parts = [f"[{self.id}] {self.kind}"]
        if self.text:
            parts.append(f'"{self.text}"')
        parts += [f"tag={self.tag}"] if self.tag else []
        for name, value, source in (
            ("prio", self.priority, self.priority_source),
            ("state", self.state, self.state_source),
        ):
            if value:  # a reading not from a word on screen says where it came from: prio=2(colour)
                parts.append(f"{name}={value}" + (f"({source})" if source not in (None, "word") else ""))
        if self.value:
            parts.append(f'value="{self.value}"')
        parts.append("@({},{},{},{})".format(*self.bbox))
        return " ".join(parts)


class ScreenParse(BaseModel):
    """Every element found on one image, numbered in reading order (top to bottom, left to right) from 1."""

    width: int
    height: int
    elements: list[Element] = Field(default_factory=list)

    def element(self, id: int) -> Element | None:
        return next((e for e in self.elements if e.id == id), None)

    def of_kind(self, *kinds: ElementKind) -> list[Element]:
        return [e for e in self.elements if e.kind in kinds]

    def hints(self, limit: int = 60) -> str:
        """Compact numbered lines for the model prompt, alarm facts first when there are more than `limit`."""
        kept = sorted(self.elements, key=lambda e: (_HINT_RANK[e.kind], e.id))[:limit]
        lines = [e.hint() for e in sorted(kept, key=lambda e: e.id)]
        header = f"Screen {self.width}x{self.height}, {len(self.elements)} elements (bbox in image pixels):"
        if len(self.elements) > limit:
            lines.append(f"... {len(self.elements) - limit} more elements not listed (lowest priority: plain text)")
        return "\n".join([header, *lines])
