"""What the operator UI says, in English and Chinese: progress lines, trail, approval panel and card headings.

Plain text only: no emoji (a control-room PC often has no emoji font and shows empty boxes)."""

from __future__ import annotations

from agent.answer import Language, detect_language

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "observe": "Looked at the screen",
        "verify": "Looked again after the action",
        "model": "Model: {text}",
        "writing": "Writing the answer",
        "looking_up": "Looking up: {what}",
        "planning": "Planning: {what}",
        "result": "  found: {text}",
        "problem": "  problem: {text}",
        "waiting": "Waiting for an operator to approve the action",
        "progress_done": "{steps} step(s), {tools} tool call(s)",
        "working": "Working",
        "draft": "Read by the screen parser, no model",
        "limited": "Stopped at the step/time limit: this is what was found so far",
        "seen": "Seen on screen: {label}",
        "notes": "Notes",
        "trail": "What the agent did",
        "trail_empty": "No tool calls yet.",
        "done": "done",
        "simulated": "simulated, nothing moved",
        "failed": "problem",
        "approved_by": "approved by {who}",
        "rejected_by": "rejected by {who}",
        "pending": "waiting for approval",
        "approval_title": "A live action is waiting for your approval",
        "action": "Action",
        "acts_on": "Acts on alarm",
        "expects": "The model expects",
        "asked": "Question",
        "expires": "Approve before",
        "expired": "Expired: it can only be rejected now (ask again for a fresh look)",
        "no_expectation": "(the model said nothing about it)",
        "edit_hint": "To change the target, click on the picture, then Approve the edited target.",
        "edited": "Edited target: ({x}, {y}) on the 0-1000 scale of the picture",
        "decided": "{decision} by {who}",
        "approve": "Approve",
        "reject": "Reject",
        "busy": "The model is {busy}.",
        "error_title": "The question could not be answered",
    },
    "zh": {
        "observe": "查看了画面",
        "verify": "操作后再次查看画面",
        "model": "模型：{text}",
        "writing": "正在写回答",
        "looking_up": "查询：{what}",
        "planning": "计划：{what}",
        "result": "  结果：{text}",
        "problem": "  问题：{text}",
        "waiting": "等待操作员批准该操作",
        "progress_done": "{steps} 步，{tools} 次工具调用",
        "working": "处理中",
        "draft": "由屏幕解析器读取，未使用模型",
        "limited": "已达到步数/时间上限：以下为目前查到的信息",
        "seen": "画面上：{label}",
        "notes": "注",
        "trail": "智能体的操作记录",
        "trail_empty": "尚无工具调用。",
        "done": "已完成",
        "simulated": "模拟，未实际操作",
        "failed": "出错",
        "approved_by": "由 {who} 批准",
        "rejected_by": "由 {who} 拒绝",
        "pending": "等待批准",
        "approval_title": "有一个实际操作等待您的批准",
        "action": "操作",
        "acts_on": "针对报警",
        "expects": "模型预期",
        "asked": "问题",
        "expires": "批准截止",
        "expired": "已过期：只能拒绝（请重新提问以重新查看画面）",
        "no_expectation": "（模型未说明）",
        "edit_hint": "如需更改目标，请在图片上点击，然后批准修改后的目标。",
        "edited": "修改后的目标：图片 0-1000 坐标 ({x}, {y})",
        "decided": "{decision}（{who}）",
        "approve": "批准",
        "reject": "拒绝",
        "busy": "模型{busy}。",
        "error_title": "无法回答该问题",
    },
}


def words_for(language: str | None) -> dict[str, str]:
    return WORDS.get(language or "en", WORDS["en"])


def language_of(text: str | None) -> Language:
    return detect_language(text or "")
