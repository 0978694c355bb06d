#!/usr/bin/env bash
# Writes deploy/constraints.txt: the exact package set of the tested ./.venv, which deploy/setup.sh and
# deploy/wheelhouse.sh install. Re-run it whenever pyproject.toml's dependencies change, once the new set is installed
# (`bash deploy/setup.sh --dev` or `pip install -e '.[dev]'`) and the tests pass:
#   bash deploy/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -x .venv/bin/python ]] || { echo "lock: no .venv here; run bash deploy/setup.sh --dev first" >&2; exit 2; }
.venv/bin/python -m pip check >/dev/null || { .venv/bin/python -m pip check >&2; echo "lock: the venv's set is broken; not locked" >&2; exit 1; }

frozen=$(.venv/bin/python -m pip freeze --all --exclude-editable --disable-pip-version-check | grep -v '^#' | grep -iv '^hmi-agent[= ]')
if grep -q ' @ ' <<<"$frozen"; then
    echo "lock: packages installed from a URL or path can't be locked by version:" >&2
    grep ' @ ' <<<"$frozen" >&2
    exit 1
fi
out=deploy/constraints.txt
{
    echo "# The package set the tests passed with, for pip's --constraint (-c): deploy/setup.sh installs exactly these"
    echo "# versions. Written by deploy/lock.sh from .venv ($(.venv/bin/python -V 2>&1), $(uname -sm)); don't edit by hand."
    echo "# Local version labels (torch's +cpu / +cu130) are dropped: the same release, CPU or CUDA build, satisfies the pin."
    sed -E 's/^([^=]+==[^+]+)\+.*$/\1/' <<<"$frozen"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "lock: $(grep -vc '^#' "$out") packages pinned in $out"
