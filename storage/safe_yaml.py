"""YAML and text loading for files a user hands us (alarm definitions, routines): bounded in size and in alias
expansion, so a 1 KB "billion laughs" file is refused instead of growing into gigabytes, and with the real line
of a non-UTF-8 byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_ALIAS_GROWTH = 10_000  # nodes aliases may add beyond the document's own size (plus as many again as it has)
MAX_MESSAGE = 300  # characters of an error message shown to the user


class YAMLTooBig(yaml.MarkedYAMLError):
    """The document is larger than allowed, or its aliases expand it too far (or into itself)."""


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes the document has once every alias is expanded, counted without expanding; stops above `limit`."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise YAMLTooBig(
                problem="an alias refers to the node that holds it (recursive)", problem_mark=node.start_mark
            )
        visiting.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                raise YAMLTooBig(
                    problem=f"aliases expand the document beyond {limit} nodes", problem_mark=node.start_mark
                )
        visiting.discard(key)
        sizes[key] = total
        return total

    return size(root)


def _distinct_nodes(root: yaml.Node) -> int:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(part for pair in node.value for part in pair)
    return len(seen)


class BoundedSafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses documents whose aliases would more than double them (billion laughs)."""

    def get_single_node(self):
        try:
            node = super().get_single_node()
            if node is not None:
                _expanded_size(node, 2 * _distinct_nodes(node) + MAX_ALIAS_GROWTH)
        except RecursionError:
            raise YAMLTooBig(problem="the document is nested too deeply") from None
        return node


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """An error message fit for one line of a terminal or log: newlines folded, cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def yaml_problem(error: yaml.YAMLError) -> tuple[int | None, str]:
    """(1-based line or None, one-line message) of a YAML error (str(error) spans lines with a source excerpt)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [""])[0]
    where = f" at column {mark.column + 1}" if mark else ""
    return (mark.line + 1 if mark else None), one_line(f"{problem}{where}")


def non_utf8_line(path: Path) -> int:
    """The line of the first byte sequence in `path` that is not UTF-8 (1 when none is found). UTF-8 never uses the
    newline byte inside a character, so lines decode on their own."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


class UnusableText(ValueError):
    """A file too big to load, or not UTF-8; `line` is where the problem is (1 for the size)."""

    def __init__(self, line: int, message: str):
        self.line = line
        super().__init__(message)


def read_text(path: Path, max_bytes: int) -> str:
    """The UTF-8 text of a file of at most `max_bytes`.

    Raises:
        UnusableText: too big, or not UTF-8 (with the line).
        OSError: unreadable.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise UnusableText(1, f"file is {size} bytes, more than the {max_bytes} allowed")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UnusableText(non_utf8_line(path), "not UTF-8 text") from None


def load(text: str, loader: type[BoundedSafeLoader] = BoundedSafeLoader) -> Any:
    """Parses one YAML document with a bounded safe loader; raises yaml.YAMLError (YAMLTooBig for bombs)."""
    return yaml.load(text, Loader=loader)  # the loader is a SafeLoader subclass
