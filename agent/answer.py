"""The structured answer the operator gets: what is on screen, which alarm, what it means, recent history,
what to do, and the evidence behind it — rendered as text in the operator's language (English or Chinese)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Language = Literal["en", "zh"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "on_screen": "On screen",
        "alarm_tag": "Alarm",
        "meaning": "Meaning",
        "recent_history": "Recent history",
        "recommended_action": "Recommended action",
        "evidence": "Evidence",
        "limited": "(Stopped at the step/time limit; this is what was found so far.)",
    },
    "zh": {
        "on_screen": "画面内容",
        "alarm_tag": "报警",
        "meaning": "含义",
        "recent_history": "近期记录",
        "recommended_action": "建议操作",
        "evidence": "依据",
        "limited": "（已达到步数/时间上限，以下为目前查到的信息。）",
    },
}


def detect_language(question: str) -> Language:
    """Chinese when the question contains CJK characters, English otherwise."""
    return "zh" if _CJK.search(question) else "en"


class Evidence(BaseModel):
    """Something the answer rests on: a parsed screen element, a grounded box, or a tool result."""

    kind: Literal["element", "grounding", "tool"]
    label: str
    bbox: tuple[int, int, int, int] | None = None  # image pixels of the frame the question was asked about
    detail: str = ""


class Answer(BaseModel):
    """The agent's answer. `text` is filled from the fields when not given."""

    language: Language
    on_screen: str
    alarm_tag: str | None = None
    meaning: str | None = None
    recent_history: str | None = None
    recommended_action: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    text: str = ""
    limited: bool = False

    @model_validator(mode="after")
    def _render_text(self) -> "Answer":
        if not self.text:
            self.text = self.render()
        return self

    def render(self) -> str:
        labels = _LABELS[self.language]
        colon = "：" if self.language == "zh" else ": "
        lines = [labels["limited"]] if self.limited else []
        for field in ("on_screen", "alarm_tag", "meaning", "recent_history", "recommended_action"):
            value = getattr(self, field)
            if value:
                lines.append(f"{labels[field]}{colon}{value}")
        if self.evidence:
            lines.append(f"{labels['evidence']}{colon}" + "; ".join(e.label for e in self.evidence))
        return "\n".join(lines)
