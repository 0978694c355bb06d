"""What the screen parser returns: numbered elements (set-of-marks), as JSON for the UI and as text for the model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ElementKind = Literal["text", "button", "alarm_indicator", "alarm_row", "banner"]
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
    state: str | None = None  # unacked | acked | rtn_unacked (rows); blinking | steady (indicators, two frames)
    tag: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    time: str | None = None  # alarm rows and banners: the alarm's time stamp as shown
    value: str | None = None  # alarm rows and banners: the process value shown with the alarm

    def hint(self) -> str:
        parts = [f"[{self.id}] {self.kind}"]
        if self.text:
            parts.append(f'"{self.text}"')
        for name, value in (("tag", self.tag), ("prio", self.priority), ("state", self.state)):
            if value:
                parts.append(f"{name}={value}")
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
