"""The owner's import rule: agent -> tools -> {storage, perception}, agent -> perception; storage and perception
import neither of the other two, and nothing imports upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "agent": {"agent", "tools", "perception", "storage"},
    "tools": {"tools", "storage", "perception"},
    "perception": {"perception"},
    "storage": {"storage"},
}


def _our_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {n.split(".")[0] for n in names if n.split(".")[0] in ALLOWED}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    violations = [
        f"{f.relative_to(ROOT)} imports {sorted(_our_imports(f) - ALLOWED[package])}"
        for f in files
        if _our_imports(f) - ALLOWED[package]
    ]
    assert not violations, "\n".join(violations)
