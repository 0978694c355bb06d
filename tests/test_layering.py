"""The owner's import rule, over every Python file in the checkout outside tests/:

    agent -> tools -> {storage, perception}, agent -> perception; storage and perception import neither of the others;
    examples/ and bench/ may use the packages; nothing imports examples/, bench/ or tests/ upward.

Relative imports count (resolved against the file's package), lazy imports inside functions count, and so does
`importlib.import_module("...")` with a literal name. No package edits `sys.path` to reach code it may not import.
Inside each package, the modules and subpackages of one folder import each other without cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "tools", "perception", "storage")
ALLOWED = {
    "agent": {"agent", "tools", "perception", "storage"},
    "tools": {"tools", "storage", "perception"},
    "perception": {"perception"},
    "storage": {"storage"},
    "examples": {"examples", *PACKAGES},
    "bench": {"bench", "examples", *PACKAGES},
}
OURS = set(ALLOWED) | {"tests"}
NOT_OURS = {".venv", "tests", "build", "dist", ".git", "node_modules"}


def _source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if not NOT_OURS.intersection(parts) and not any(p.endswith(".egg-info") for p in parts):
            yield path


def _module_name(path: Path, root: Path = ROOT) -> tuple[str, ...]:
    parts = path.relative_to(root).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, relative imports resolved to absolute names. `from a import b` gives `a` and
    `a.b`, since `b` may be a module (`from agent import service`)."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            prefix = package[: len(package) - (node.level - 1)] if node.level else ()
            base = ".".join((*prefix, *([node.module] if node.module else [])))
            found |= {base, *(f"{base}.{alias.name}" for alias in node.names)} if base else set()
        elif _is_import_module_call(node):
            found.add(node.args[0].value)
    return found


def _is_import_module_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
    return name in {"import_module", "__import__"} and isinstance(node.args[0].value, str)


def test_every_source_folder_has_an_import_rule():
    folders = {path.relative_to(ROOT).parts[0] for path in _source_files() if len(path.relative_to(ROOT).parts) > 1}
    assert folders <= set(ALLOWED), f"folders with Python code but no import rule: {sorted(folders - set(ALLOWED))}"
    loose = [p.name for p in _source_files() if len(p.relative_to(ROOT).parts) == 1]
    assert not loose, f"Python files at the checkout's top level, outside any package: {loose}"


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_imports_flow_one_way(folder):
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"{folder}/ has no modules"
    violations = []
    for path in files:
        ours = {name.split(".")[0] for name in imported_modules(path)} & OURS
        if ours - ALLOWED[folder]:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(ours - ALLOWED[folder])}")
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_edits_sys_path(package):
    edits = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / package).rglob("*.py"))
        if any(
            isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", None) == "sys"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    ]
    assert not edits, f"sys.path used to reach code outside the import rule: {edits}"


def import_cycles(root: Path, package: str) -> list[list[str]]:
    """Cycles among the children (modules and subpackages) of each folder of `package`, imports aggregated per child."""
    modules = {_module_name(p, root): imported_modules(p, root) for p in sorted((root / package).rglob("*.py"))}
    folders = {name[:-1] for name in modules if len(name) > 1}
    cycles = []
    for folder in sorted(folders):
        edges: dict[str, set[str]] = {}
        for name, imports in modules.items():
            if len(name) > len(folder) and name[: len(folder)] == folder:
                child = name[len(folder)]
                for imported in imports:
                    target = tuple(imported.split("."))
                    if len(target) > len(folder) and target[: len(folder)] == folder and target[len(folder)] != child:
                        edges.setdefault(child, set()).add(target[len(folder)])
        cycles += [[".".join(folder), *cycle] for cycle in _find_cycles(edges)]
    return cycles


def _find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            groups.append(sorted([*group, node]))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [group for group in groups if len(group) > 1]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles_inside_a_package(package):
    cycles = import_cycles(ROOT, package)
    assert not cycles, "modules that import each other (folder, then the members of the cycle):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles
    )


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_relative_and_lazy_imports_are_resolved(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from . import sub\n",
            "pkg/sub/mod.py": "from ..other import thing\nfrom .sibling import x\n\ndef f():\n    import tests.helper\n",
            "pkg/sub/__init__.py": "from .. import other\nimportlib.import_module('bench.x')\n",
        },
    )
    assert imported_modules(tmp_path / "pkg/__init__.py", tmp_path) == {"pkg", "pkg.sub"}
    assert imported_modules(tmp_path / "pkg/sub/mod.py", tmp_path) == {
        "pkg.other",
        "pkg.other.thing",
        "pkg.sub.sibling",
        "pkg.sub.sibling.x",
        "tests.helper",
    }
    assert imported_modules(tmp_path / "pkg/sub/__init__.py", tmp_path) == {"pkg", "pkg.other", "bench.x"}


def test_a_cycle_between_two_subpackages_is_found(tmp_path):
    _write(
        tmp_path,
        {
            "agent/__init__.py": "",
            "agent/service/app.py": "def build():\n    from agent.web.ui import build_ui\n",
            "agent/web/ui.py": "from ..service.queue import QueueFull\n",
            "agent/runner.py": "from agent import service\n",
        },
    )
    assert import_cycles(tmp_path, "agent") == [["agent", "service", "web"]]
