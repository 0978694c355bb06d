"""The structured answer the operator gets: what is on screen, which alarm, what it means, recent history,
what to do, and the evidence behind it — rendered as text in the operator's language (English or Chinese)."""

from __future__ import annotations

import re
from typing import Any, Literal

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
        "parser": "(Draft read by the screen parser, no model.)",
        "note": "Note",
    },
    "zh": {
        "on_screen": "画面内容",
        "alarm_tag": "报警",
        "meaning": "含义",
        "recent_history": "近期记录",
        "recommended_action": "建议操作",
        "evidence": "依据",
        "limited": "（已达到步数/时间上限，以下为目前查到的信息。）",
        "parser": "（草稿：由屏幕解析器读取，未使用模型。）",
        "note": "注",
    },
}


_TOOL_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "alarm_definition": "Plant definition of {tag}",
        "alarm_history": "Alarm journal of {tag}, {window}",
        "search_manuals": 'Plant manuals searched for "{query}"',
        "lookup_equipment": "Equipment lists, model {model}",
        "action": "Carried out: {reason}",
        "other": "Looked up {name}",
    },
    "zh": {
        "alarm_definition": "{tag} 的报警定义",
        "alarm_history": "{tag} 的报警记录（{window}）",
        "search_manuals": "在工厂手册中查找“{query}”",
        "lookup_equipment": "设备台账中的型号 {model}",
        "action": "已执行：{reason}",
        "other": "已查询 {name}",
    },
}
_WINDOW_WORDS = {
    "en": {"h": "last {n} hours", "d": "last {n} days", "w": "last {n} weeks", "since": "since {date}"},
    "zh": {"h": "最近 {n} 小时", "d": "最近 {n} 天", "w": "最近 {n} 周", "since": "自 {date} 起"},
}


def window_words(since: str | None, language: Language) -> str:
    """A history window as the operator would say it: "30d" -> "last 30 days" / "最近 30 天"."""
    words = _WINDOW_WORDS[language]
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", since or "7d")
    if match:
        return words[match[2]].format(n=match[1])
    return words["since"].format(date=since)


def tool_evidence_label(name: str, arguments: dict, language: Language, *, reason: str | None = None) -> str:
    """What a tool result shows, in words: "Alarm journal of TI-101.HI, last 30 days", not call syntax."""
    words = _TOOL_WORDS[language]
    if reason is not None:
        return words["action"].format(reason=reason)
    if name in ("alarm_definition", "alarm_history"):
        return words[name].format(tag=arguments.get("tag", "?"), window=window_words(arguments.get("since"), language))
    if name in ("search_manuals", "lookup_equipment"):
        return words[name].format(query=arguments.get("query", "?"), model=arguments.get("model", "?"))
    return words["other"].format(name=name.replace("_", " "))


def citation_label(document: str, page: int | None, heading: str | None, language: Language) -> str:
    """A manual passage as the answer cites it: "manual.pdf p. 7 (4.1 ...)" / "manual.pdf 第 7 页（4.1 ...）"."""
    if language == "zh":
        return document + (f" 第 {page} 页" if page is not None else "") + (f"（{heading}）" if heading else "")
    return document + (f" p. {page}" if page is not None else "") + (f" ({heading})" if heading else "")


def answer_labels(language: Language) -> dict[str, str]:
    """The answer's field labels in the operator's language (the text rendering and the UI's answer card)."""
    return _LABELS[language]


def citation_evidence(citations: Any, language: Language, tool: str) -> list[Evidence]:
    """The manual passages a tool result quotes (tools.result.Citation), as the answer's citations."""
    return [
        Evidence(
            kind="citation",
            label=citation_label(c.document, c.page, c.heading, language),
            detail=c.excerpt[:500],
            tool=tool,
            document=c.document,
            page=c.page,
        )
        for c in citations
    ]


def detect_language(question: str) -> Language:
    """Chinese when the question contains CJK characters, English otherwise."""
    return "zh" if _CJK.search(question) else "en"


class Evidence(BaseModel):
    """Something the answer rests on: a parsed screen element, a grounded box, or a tool result."""

    kind: Literal["element", "grounding", "tool", "citation"]
    label: str  # in words, in the operator's language (see tool_evidence_label)
    bbox: tuple[int, int, int, int] | None = None  # image pixels of the frame the question was asked about
    detail: str = ""
    tool: str | None = None  # kind "tool": which tool, and the arguments it was called with (e.g. the history window)
    arguments: dict = Field(default_factory=dict)
    document: str | None = None  # kind "citation": the manual passage's document and page (None: no pages)
    page: int | None = None


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
    # "parser": the draft composed from the screen parser and alarm tools alone, no model.
    source: Literal["model", "parser"] = "model"
    # Disagreements between the draft and the model, cross-checks, the "install the model with ..." hint.
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _render_text(self) -> Answer:
        if not self.text:
            self.text = self.render()
        return self

    def render(self) -> str:
        labels = _LABELS[self.language]
        colon = "：" if self.language == "zh" else ": "
        lines = [labels["limited"]] if self.limited else []
        if self.source == "parser":
            lines.append(labels["parser"])
        for field in ("on_screen", "alarm_tag", "meaning", "recent_history", "recommended_action"):
            value = getattr(self, field)
            if value:
                lines.append(f"{labels[field]}{colon}{value}")
        if self.evidence:
            lines.append(f"{labels['evidence']}{colon}" + "; ".join(e.label for e in self.evidence))
        lines += [f"{labels['note']}{colon}{note}" for note in self.notes]
        return "\n".join(lines)
