"""The draft answer: composed from the screen parser and the alarm tools alone, no model — the first of the two
speeds (docs/two-speeds.md).

Which alarm: a tag named in the question (matched as the tools match: case, separators, O/0 and I/1), else the
alarm banner, else the highest-priority unacknowledged alarm row, else the highest-priority row; the answer's notes
say which rule picked it. Then `alarm_definition` and `alarm_history` through `lookup` (the agent's real tools, or a
recording's answers on replay), and the Answer in the operator's language with `source="parser"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel

from agent.answer import Answer, Evidence, citation_evidence, tool_evidence_label
from storage.models import PRIORITY_NAMES
from storage.timeutil import format_duration
from tools.alarm_results import DefinitionResult, HistoryResult, stamp
from tools.result import ToolResult
from tools.screen_check import is_screen_check, screen_vs_definitions

HISTORY_WINDOW = "30d"
Lookup = Callable[[str, dict[str, Any]], ToolResult]  # (tool name, arguments) -> its result
Rule = Literal["question", "banner", "unacked_row", "row"]

# a plant tag as typed in a question: letters, an optional separator, digits, an optional ".CONDITION"
_TAG_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,6}[-_ ]?\d{1,6}[A-Za-z]?(?:\.[A-Za-z]{1,6})?)(?![A-Za-z0-9])")
_UNACKED = ("unacked", "rtn_unacked")

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "question": "the tag named in the question",
        "banner": "the alarm banner",
        "unacked_row": "the highest-priority unacknowledged alarm row",
        "row": "the highest-priority alarm row",
        "picked": "Alarm picked by the screen parser from {rule}.",
        "banner_kind": "Alarm banner",
        "alarm_row_kind": "Alarm list row",
        "unacked": "active, unacknowledged",
        "acked": "active, acknowledged",
        "rtn_unacked": "returned to normal, not acknowledged",
        "priority": "priority {p} ({name})",
        "not_on_screen": "{tag} (named in the question) is not read on this screen.",
        "nothing": "No alarm banner or alarm row was read on this screen ({n} elements found).",
        "cause": "Probable cause",
        "consequence": "Consequence",
        "respond": "respond within {t}",
        "activations": "{n} activation(s) in the last 30 days",
        "last": "last {at}",
        "not_acked": "{n} not acknowledged",
        "state": "state now: {s}",
        "active_unacked": "active, unacknowledged",
        "active_acked": "active, acknowledged",
        "cleared_unacked": "cleared, awaiting acknowledgement",
        "chattering": "CHATTERING",
        "stale": "STALE (active > 24 h)",
        "flood": "part of an alarm flood",
        "lookup_failed": "{tool}: {error}",
    },
    "zh": {
        "question": "问题中提到的位号",
        "banner": "报警横幅",
        "unacked_row": "优先级最高的未确认报警行",
        "row": "优先级最高的报警行",
        "picked": "由屏幕解析器按{rule}选出的报警。",
        "banner_kind": "报警横幅",
        "alarm_row_kind": "报警列表行",
        "unacked": "报警中，未确认",
        "acked": "报警中，已确认",
        "rtn_unacked": "已恢复，未确认",
        "priority": "优先级{p}（{name}）",
        "not_on_screen": "画面上未读到{tag}（问题中提到）。",
        "nothing": "画面上未读到报警横幅或报警行（共找到{n}个元素）。",
        "cause": "可能原因",
        "consequence": "后果",
        "respond": "须在{t}内响应",
        "activations": "近30天触发{n}次",
        "last": "最近一次 {at}",
        "not_acked": "{n}次未确认",
        "state": "当前状态：{s}",
        "active_unacked": "报警中，未确认",
        "active_acked": "报警中，已确认",
        "cleared_unacked": "已恢复，待确认",
        "chattering": "抖动报警",
        "stale": "长期报警（超过24小时）",
        "flood": "属于报警泛滥",
        "lookup_failed": "{tool}：{error}",
    },
}
_PRIORITY_ZH = {1: "紧急", 2: "高", 3: "中", 4: "低"}


@dataclass(frozen=True)
class Pick:
    """The alarm the question is taken to be about: its tag as read, the rule that chose it, its screen element."""

    tag: str
    rule: Rule
    element: Any = None  # perception.screen.Element, None when the question names a tag not on screen


@dataclass(frozen=True)
class DraftLookup:
    """One tool call the draft made, as recorded (the structured data too, so a replay composes the same draft)."""

    name: str
    arguments: dict[str, Any]
    result: ToolResult

    def record(self) -> dict[str, Any]:
        data = self.result.data
        return {
            "name": self.name,
            "arguments": self.arguments,
            "output": self.result.output,
            "error": self.result.error,
            "data": data.model_dump(mode="json") if isinstance(data, BaseModel) else data,
            **({"citations": [asdict(c) for c in self.result.citations]} if self.result.citations else {}),
        }


def plain(tag: str) -> str:
    """A tag without case and separators: TIC-101.HH, tic101hh and TIC 101 HH compare alike."""
    return re.sub(r"[^0-9A-Z]", "", tag.upper())


def _base(tag: str) -> str:
    return plain(tag.split(".", 1)[0])


def tags_in(question: str) -> list[str]:
    """Tag-like words of the question, in order (without duplicates)."""
    return list(dict.fromkeys(m.group(1) for m in _TAG_IN_TEXT.finditer(question)))


def _alarm_elements(screen: Any) -> list[Any]:
    return [e for e in screen.elements if e.kind in ("banner", "alarm_row") and e.tag] if screen is not None else []


def _on_screen(tag: str, screen: Any) -> Any:
    """The banner or row showing `tag` (the full spelling first, then the tag without its condition)."""
    elements = sorted(_alarm_elements(screen), key=lambda e: e.kind != "banner")
    return next((e for e in elements if plain(e.tag) == plain(tag)), None) or next(
        (e for e in elements if _base(e.tag) == _base(tag)), None
    )


def _by_priority(elements: list[Any]) -> Any:
    return min(elements, key=lambda e: (int(e.priority) if (e.priority or "").isdigit() else 9, e.id), default=None)


def pick_alarm(question: str, screen: Any, lookup: Lookup | None) -> Pick | None:
    """The alarm the question is about, by the first rule that finds one (see the module docstring)."""
    for candidate in tags_in(question):
        element = _on_screen(candidate, screen)
        if element is not None:
            return Pick(element.tag, "question", element)
        if lookup is not None and _known(candidate, lookup):
            return Pick(candidate, "question", None)
    alarms = _alarm_elements(screen)
    banner = next((e for e in alarms if e.kind == "banner"), None)
    if banner is not None:
        return Pick(banner.tag, "banner", banner)
    rows = [e for e in alarms if e.kind == "alarm_row"]
    unacked = _by_priority([e for e in rows if e.state in _UNACKED])
    if unacked is not None:
        return Pick(unacked.tag, "unacked_row", unacked)
    row = _by_priority(rows)
    return Pick(row.tag, "row", row) if row is not None else None


def _known(candidate: str, lookup: Lookup) -> bool:
    """Whether the plant knows the tag: any match but a loose fuzzy one (a question's '7 days' is no tag)."""
    result = lookup("alarm_definition", {"tag": candidate})
    data = _data(result, DefinitionResult)
    if data is None:
        return False
    return data.match.how != "fuzzy" or (data.match.confidence >= 0.85 and " " not in candidate)


def _data(result: ToolResult, model: type[BaseModel]) -> Any:
    """The structured result as `model` (a recording holds it as JSON), or None after an error."""
    if result.error or result.data is None:
        return None
    return result.data if isinstance(result.data, model) else model.model_validate(result.data)


class _Composer:
    """Builds one draft Answer; collects the tool calls made and the notes."""

    def __init__(self, language: str, lookup: Lookup | None):
        self.language = language
        self.words = _WORDS[language]
        self.lookup = lookup
        self.lookups: list[DraftLookup] = []
        self.notes: list[str] = []
        self.evidence: list[Evidence] = []

    def call(self, name: str, arguments: dict[str, Any], *, silent: bool = False) -> ToolResult:
        """Calls a tool and records the call; unless `silent` (trying a question's words as tags), its error goes to
        the notes and its output to the evidence."""
        if self.lookup is None:
            return ToolResult(error="no alarm database tools")
        result = self.lookup(name, arguments)
        self.lookups.append(DraftLookup(name, arguments, result))
        if silent:
            return result
        if result.error:
            self.notes.append(self.words["lookup_failed"].format(tool=name, error=result.error))
        else:
            self.evidence.append(
                Evidence(
                    kind="tool",
                    label=tool_evidence_label(name, arguments, self.language),
                    detail=(result.output or "")[:500],
                    tool=name,
                    arguments=arguments,
                )
            )
            self.evidence += citation_evidence(result.citations, self.language, name)  # the procedure's page
        return result

    def compose(self, question: str, screen: Any) -> Answer:
        quiet = (lambda name, arguments: self.call(name, arguments, silent=True)) if self.lookup else None
        pick = pick_alarm(question, screen, quiet)
        if pick is None:
            count = len(screen.elements) if screen is not None else 0
            return Answer(
                language=self.language,
                on_screen=self.words["nothing"].format(n=count),
                source="parser",
                evidence=self.evidence,
                notes=self.notes,
            )
        self.notes.insert(0, self.words["picked"].format(rule=self.words[pick.rule]))
        if pick.element is not None:
            e = pick.element
            self.evidence.insert(
                0, Evidence(kind="element", label=f"[{e.id}] {e.text or e.tag}", bbox=e.bbox, detail=e.kind)
            )
        definition = _data(self.call("alarm_definition", {"tag": pick.tag}), DefinitionResult)
        name = definition.match.matches[0].name if definition and definition.match.matches else pick.tag
        history = _data(self.call("alarm_history", {"tag": name, "since": HISTORY_WINDOW}), HistoryResult)
        definitions = definition.definitions if definition else []
        self.notes += screen_vs_definitions(pick.element, definitions, self.language)  # screen vs plant database
        return Answer(
            language=self.language,
            on_screen=self.on_screen(pick),
            alarm_tag=name,
            meaning=self.meaning(definitions),
            recent_history=self.history(history),
            recommended_action=self.action(definitions),
            evidence=self.evidence,
            source="parser",
            notes=self.notes,
        )

    def on_screen(self, pick: Pick) -> str:
        w, e = self.words, pick.element
        if e is None:
            return w["not_on_screen"].format(tag=pick.tag)
        facts = []
        if (e.priority or "").isdigit() and int(e.priority) in PRIORITY_NAMES:
            p = int(e.priority)
            facts.append(
                w["priority"].format(p=p, name=_PRIORITY_ZH[p] if self.language == "zh" else PRIORITY_NAMES[p])
            )
        if e.state in w:
            facts.append(w[e.state])
        joiner = "，" if self.language == "zh" else ", "
        colon = "：" if self.language == "zh" else ": "
        text = f"{w[e.kind + '_kind']}{colon}{e.text or e.tag}"
        return text + (f" — {joiner.join(facts)}" if facts else "")

    def _pick_lang(self, english: str | None, chinese: str | None) -> str | None:
        text = (chinese or english) if self.language == "zh" else (english or chinese)
        return text.rstrip(" .。") if text else None

    def meaning(self, definitions: list[Any]) -> str | None:
        w, stop = self.words, "。" if self.language == "zh" else ". "
        parts = []
        for d in definitions[:3]:
            text = self._pick_lang(d.description, d.description_zh) or ""
            for label, english, chinese in (
                ("cause", d.probable_cause, d.probable_cause_zh),
                ("consequence", d.consequence, d.consequence_zh),
            ):
                value = self._pick_lang(english, chinese)
                if value:
                    text += f"{stop}{w[label]}{'：' if self.language == 'zh' else ': '}{value}"
            parts.append(f"{d.name}: {text}" if len(definitions) > 1 else text)
        return " | ".join(parts) or None

    def action(self, definitions: list[Any]) -> str | None:
        parts = []
        for d in definitions[:3]:
            text = self._pick_lang(d.corrective_action, d.corrective_action_zh)
            if not text:
                continue
            if d.response_time_s:
                respond = self.words["respond"].format(t=format_duration(d.response_time_s))
                text += f"（{respond}）" if self.language == "zh" else f" ({respond})"
            parts.append(f"{d.name}: {text}" if len(definitions) > 1 else text)
        return " | ".join(parts) or None

    def history(self, h: HistoryResult | None) -> str | None:
        if h is None:
            return None
        w = self.words
        parts = [w["activations"].format(n=h.activations)]
        if h.last_activation:
            parts.append(w["last"].format(at=stamp(h.last_activation)))
        if h.unacknowledged:
            parts.append(w["not_acked"].format(n=h.unacknowledged))
        parts += [w[flag] for flag in ("chattering", "stale", "flood") if getattr(h.flags, flag)]
        states = [f"{s.condition} {w[s.state]}".strip() for s in h.states if s.state != "normal"]
        if states:
            parts.append(w["state"].format(s="; ".join(states)))
        return ("，" if self.language == "zh" else "; ").join(parts)


def compose_draft(
    question: str, screen: Any, lookup: Lookup | None, *, language: str
) -> tuple[Answer, list[DraftLookup]]:
    """The draft Answer for `question` about the parsed `screen` (None: not parsed), and the tool calls it made."""
    composer = _Composer(language, lookup)
    return composer.compose(question, screen), composer.lookups


def disagreements(draft: Answer, answer: Answer) -> list[str]:
    """Where the model's answer and the parser's draft differ on the alarm; empty when they agree."""
    if not draft.alarm_tag:
        return []
    zh = answer.language == "zh"
    if not answer.alarm_tag:
        return [
            f"屏幕解析器读到的报警是{draft.alarm_tag}，模型的回答未指明位号。"
            if zh
            else f"The screen parser read {draft.alarm_tag}; the model's answer names no alarm tag."
        ]
    if _base(draft.alarm_tag) != _base(answer.alarm_tag):
        return [
            f"模型回答的是{answer.alarm_tag}，而屏幕解析器读到的是{draft.alarm_tag}，请核对画面。"
            if zh
            else f"The model answered about {answer.alarm_tag}, but the screen parser read {draft.alarm_tag}: "
            "check the screen."
        ]
    return [note for note in draft.notes if is_screen_check(note)]  # the screen and the plant's database disagree
