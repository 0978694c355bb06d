"""What the agent did, in words: live progress lines while a question runs, and the whole trail of a question (every
lookup and action, who approved it) read back from its session record, so an approval or a page reload keeps it."""

from __future__ import annotations

from html import escape
from typing import Any

from agent.answer import tool_evidence_label
from agent.graph import ACTION_TOOLS
from agent.tool_binding import FINAL_ANSWER
from agent.web.words import words_for


def progress_line(event: Any, calls: dict[str, str], language: str) -> str | None:
    """One line per agent event ('' events say nothing). `calls`: tool call id -> tool name, filled here."""
    words, data = words_for(language), event.data
    if event.kind == "step":
        return words["observe"] if data.get("node") == "observe" else words["verify"]
    if event.kind == "model":
        text = " ".join((data.get("text") or "").split())
        return words["model"].format(text=text[:240]) if text else None
    if event.kind == "tool_call":
        calls[data["id"]] = data["name"]
        return _call_line(data["name"], data["arguments"], words, language)
    if event.kind == "tool_result":
        if calls.get(data["id"]) == FINAL_ANSWER or not data.get("text"):
            return None  # the answer itself shows up in the card, not as JSON here
        first = data["text"].strip().splitlines()[0][:200] if data["text"].strip() else ""
        return words["problem" if data.get("error") else "result"].format(text=first)
    if event.kind == "approval":
        return words["waiting"]
    return None


def _call_line(name: str, arguments: dict, words: dict[str, str], language: str) -> str:
    if name == FINAL_ANSWER:
        return words["writing"]
    if name in ACTION_TOOLS:
        target = arguments.get("element_id") or ", ".join(
            str(arguments[k]) for k in ("x", "y", "text", "key") if arguments.get(k) is not None
        )
        return words["planning"].format(what=f"{name.replace('_', ' ')} {target}".strip())
    return words["looking_up"].format(what=tool_evidence_label(name, arguments, language))


def trail_html(manifest: dict | None, language: str, pending: Any = None) -> str:
    """Every tool call of the question's session (lookups, actions, who approved them) as an ordered list."""
    words = words_for(language)
    rows = []
    approvals = {}
    for event in (manifest or {}).get("events", []):
        if event.get("kind") == "approval":
            approvals[event.get("step")] = event
        if event.get("kind") != "tool" or event.get("name") == FINAL_ANSWER:
            continue
        rows.append(_trail_row(event, approvals.get(event.get("step")), words, language))
    if pending is not None:
        rows.append(f'<li>{escape(pending.reason)}<span class="hmi-status">{escape(words["pending"])}</span></li>')
    if not rows:
        return f'<div class="hmi-trail" id="trail-body">{escape(words["trail_empty"])}</div>'
    return f'<div class="hmi-trail" id="trail-body"><ol>{"".join(rows)}</ol></div>'


def _trail_row(event: dict, approval: dict | None, words: dict[str, str], language: str) -> str:
    name = event.get("name", "?")
    planned = event.get("planned") or (approval or {}).get("planned") or {}  # a rejected action was never carried out
    reason = planned.get("reason", name.replace("_", " ")) if name in ACTION_TOOLS else None
    what = reason or tool_evidence_label(
        name, event.get("arguments") or {}, language
    )  # an action: its status says what became of it
    status = _status(event, approval, words)
    result = (event.get("error") or event.get("output") or "").strip()
    detail = f'<div class="hmi-result">{escape(chr(10).join(result.splitlines()[:6])[:600])}</div>' if result else ""
    return f'<li>{escape(what)}<span class="hmi-status">{escape(status)}</span>{detail}</li>'


def _status(event: dict, approval: dict | None, words: dict[str, str]) -> str:
    if approval is not None and approval.get("decision") == "reject":
        return words["rejected_by"].format(who=approval.get("operator", "?"))
    if event.get("error"):
        return words["failed"]
    if event.get("approved_by"):
        return words["approved_by"].format(who=event["approved_by"])
    if event.get("executed") and "simulated" in (event.get("output") or ""):
        return words["simulated"]
    return words["done"]
