#!/usr/bin/env bash
# Lint, format and type checks over the packages (configured in pyproject.toml); .ci/run runs them before the tests.
#   bash deploy/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(agent tools perception storage)
status=0
.venv/bin/ruff check "${packages[@]}" || status=1
.venv/bin/ruff format --check "${packages[@]}" || status=1
.venv/bin/mypy || status=1  # the packages listed under [tool.mypy] files
exit $status
