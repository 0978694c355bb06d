"""Typed Python functions as model tools: the signature and Google-style docstring *are* the schema the model sees.

Arguments are bounded with `Annotated[int, Field(ge=1, le=50)]`; a call whose arguments break the schema comes
back as a `ToolResult` error naming the bad value, so the model can correct itself.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from tools.result import ToolResult

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_SECTION_HEADER = re.compile(r"^\s*(Returns|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def parse_google_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Returns (summary, {argument: description}) from a Google-style docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    args: dict[str, str] = {}
    section, current = "summary", None
    for line in lines:
        if _ARGS_HEADER.match(line):
            section = "args"
        elif _SECTION_HEADER.match(line):
            section = "other"
        elif section == "summary":
            summary.append(line)
        elif section == "args":
            m = _ARG_LINE.match(line)
            if m:
                current = m.group(1)
                args[current] = m.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
    return " ".join(s.strip() for s in summary if s.strip()), args


def _check_documented(tool: str, summary: str, params: list[str], arg_docs: dict[str, str]) -> None:
    if not summary:
        raise ValueError(f"tool {tool!r} has no docstring summary: the model would not know what it does")
    undocumented = [p for p in params if not arg_docs.get(p)]
    if undocumented:
        raise ValueError(
            f"tool {tool!r}: argument(s) {', '.join(undocumented)} have no description in the docstring's Args section"
        )
    unknown = sorted(set(arg_docs) - set(params))
    if unknown:
        raise ValueError(
            f"tool {tool!r}: the docstring describes {', '.join(unknown)}, which the function does not take"
        )


@dataclass(frozen=True)
class Tool:
    """A function the model may call, with the pydantic model that validates its arguments."""

    name: str
    description: str
    args_model: type[BaseModel]
    function: Callable[..., ToolResult]

    @classmethod
    def from_function(cls, function: Callable[..., ToolResult], name: str | None = None) -> Tool:
        """The tool for `function`. ValueError (our bug, not the model's) when the docstring lacks the summary or an
        argument's description, or describes an argument the function doesn't take: the model would see a schema
        with a silent gap."""
        tool_name = name or function.__name__
        summary, arg_docs = parse_google_docstring(function.__doc__)
        params = [
            p
            for p in inspect.signature(function).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        _check_documented(tool_name, summary, [p.name for p in params], arg_docs)
        hints = get_type_hints(function, include_extras=True)
        fields: dict[str, Any] = {}
        for param in params:
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (hints[param.name], Field(default, description=arg_docs[param.name]))
        args_model = create_model(f"{tool_name}_args", __config__=ConfigDict(extra="forbid"), **fields)
        return cls(tool_name, summary, args_model, function)

    def schema(self) -> dict[str, Any]:
        """The OpenAI/Qwen function-calling schema of this tool."""
        parameters = self.args_model.model_json_schema()
        parameters.pop("title", None)
        for prop in parameters.get("properties", {}).values():
            prop.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": parameters},
        }

    def __call__(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            args = self.args_model.model_validate(arguments)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or 'arguments'}={err.get('input')!r}: {err['msg']}"
                for err in e.errors()
            )
            return ToolResult(error=f"bad arguments for {self.name}: {problems}")
        return self.function(**{name: getattr(args, name) for name in type(args).model_fields})
