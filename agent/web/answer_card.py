"""The answer card: what is on screen, which alarm, what it means, its recent history, what to do and the evidence in
words, with labels in the operator's language; a parser draft and the answer's notes are said plainly."""

from __future__ import annotations

import re
from html import escape

from agent.answer import Answer, Evidence, answer_labels
from agent.web.words import words_for

FIELDS = ("on_screen", "alarm_tag", "meaning", "recent_history", "recommended_action")
_ELEMENT_NUMBER = re.compile(r"^\[\d+\]\s*")

CARD_CSS = """
.hmi-card { border: 1px solid #c9ced6; border-radius: 8px; padding: 12px 16px; background: #fff; color: #1d2430; }
.hmi-card dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; }
.hmi-card dt { font-weight: 600; color: #4a5566; }
.hmi-card dd { margin: 0; white-space: pre-wrap; }
.hmi-card dd.hmi-action { font-weight: 600; }
.hmi-card h4 { margin: 12px 0 4px; font-size: 0.95em; color: #4a5566; }
.hmi-card ul { margin: 0; padding-left: 20px; }
.hmi-banner { border-radius: 6px; padding: 6px 10px; margin-bottom: 10px; background: #eef1f5; color: #1d2430; }
.hmi-banner.hmi-warn { background: #fff4d6; }
.hmi-error { border: 2px solid #b3261e; border-radius: 8px; padding: 10px 14px; background: #fff; color: #1d2430; }
.hmi-error strong { color: #b3261e; }
.hmi-trail ol { margin: 0; padding-left: 22px; }
.hmi-trail li { margin: 3px 0; }
.hmi-trail .hmi-status { font-size: 0.85em; padding: 0 6px; border-radius: 4px; background: #eef1f5; margin-left: 6px; }
.hmi-trail .hmi-result { color: #4a5566; font-size: 0.9em; white-space: pre-wrap; }
.hmi-approval dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0 0 8px; }
.hmi-approval dt { font-weight: 600; color: #4a5566; }
.hmi-approval dd { margin: 0; }
"""


def answer_card(answer: Answer | None) -> str:
    """The card as HTML ('' without an answer). Every text from the model or the data is escaped."""
    if answer is None:
        return ""
    labels, words = answer_labels(answer.language), words_for(answer.language)
    parts = [f'<div class="hmi-card" lang="{answer.language}" id="answer-card-body">']
    if answer.source == "parser":
        parts.append(f'<div class="hmi-banner">{escape(words["draft"])}</div>')
    if answer.limited:
        parts.append(f'<div class="hmi-banner hmi-warn">{escape(words["limited"])}</div>')
    rows = [(field, getattr(answer, field)) for field in FIELDS if getattr(answer, field)]
    parts.append(
        "<dl>"
        + "".join(
            f"<dt>{escape(labels[field])}</dt><dd{' class=hmi-action' if field == 'recommended_action' else ''}>{escape(value)}</dd>"
            for field, value in rows
        )
        + "</dl>"
    )
    if answer.evidence:
        items = "".join(f"<li>{escape(evidence_words(e, answer.language))}</li>" for e in answer.evidence)
        parts.append(f'<h4>{escape(labels["evidence"])}</h4><ul class="hmi-evidence">{items}</ul>')
    if answer.notes:
        items = "".join(f"<li>{escape(note)}</li>" for note in answer.notes)
        parts.append(f'<h4>{escape(words["notes"])}</h4><ul class="hmi-notes">{items}</ul>')
    parts.append("</div>")
    return "".join(parts)


def evidence_words(evidence: Evidence, language: str) -> str:
    """One piece of evidence as a sentence: a screen element is "Seen on screen: TI-101.HI"; tool results and
    citations already carry their words (agent.answer.tool_evidence_label, citation_label)."""
    if evidence.kind in ("element", "grounding"):
        return words_for(language)["seen"].format(label=_ELEMENT_NUMBER.sub("", evidence.label))
    return evidence.label


def error_card(message: str, language: str) -> str:
    """One clear message where the operator looks (the question stays in its box)."""
    return f'<div class="hmi-error" role="alert"><strong>{escape(words_for(language)["error_title"])}</strong><br>{escape(message)}</div>'
