"""pyproject.toml declares what the code imports, and deploy/constraints.txt (the tested set, deploy/lock.sh) pins
every declared dependency at a version inside its declared range."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "tools", "perception", "storage")
# Imported for their public API, installed and pinned by the package named: declaring them would only repeat its pin.
COMES_WITH = {"pydantic_core": "pydantic", "tokenizers": "transformers", "starlette": "fastapi"}


def declared_requirements(extras: tuple[str, ...] | None = None) -> list[Requirement]:
    """The runtime dependencies plus those of `extras` (all extras when None), self-references followed."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    todo, seen, found = (
        list(optional if extras is None else extras),
        set(),
        [Requirement(r) for r in project["dependencies"]],
    )
    while todo:
        if (extra := todo.pop()) in seen:
            continue
        seen.add(extra)
        for requirement in map(Requirement, optional[extra]):
            if canonicalize_name(requirement.name) == "hmi-agent":
                todo += sorted(requirement.extras)
            else:
                found.append(requirement)
    return found


def constraints() -> dict[str, str]:
    lines = (ROOT / "deploy" / "constraints.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pins}


def third_party_imports() -> dict[str, str]:
    """Top-level modules the packages import that are neither ours nor the standard library -> a file importing it."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return {m: f for m, f in found.items() if m not in sys.stdlib_module_names and m not in {*PACKAGES, "__future__"}}


def test_every_imported_package_is_declared_in_pyproject():
    declared = {canonicalize_name(r.name) for r in declared_requirements()}
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for module, where in sorted(third_party_imports().items()):
        names = {canonicalize_name(d) for d in distributions.get(module, [])}
        if module in COMES_WITH:
            names = {canonicalize_name(COMES_WITH[module])}
        if not names & declared:
            undeclared.append(f"{module} (imported in {where}; distribution {sorted(names) or 'not installed'})")
    assert not undeclared, "imported but not declared in pyproject.toml:\n" + "\n".join(undeclared)


def test_the_lock_pins_every_declared_dependency_inside_its_range():
    pins = constraints()
    problems = []
    for requirement in declared_requirements(("dev",)):  # the tested set; `quant` is not part of it
        if requirement.marker and not requirement.marker.evaluate():
            continue
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name}: not in deploy/constraints.txt")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} is outside the declared '{requirement.specifier}'")
    assert not problems, "re-run bash deploy/lock.sh after installing the declared set:\n" + "\n".join(problems)


def test_the_lock_matches_the_installed_versions():
    """The venv the tests run in is the locked set (a fresh `deploy/setup.sh --dev` installs exactly it)."""
    drift = []
    for name, version in constraints().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # pinned for another platform's extras (e.g. triton), not installed here
        if installed.split("+")[0] != version:
            drift.append(f"{name}: locked {version}, installed {installed}")
    assert not drift, "the venv differs from deploy/constraints.txt:\n" + "\n".join(drift)
