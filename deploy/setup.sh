#!/usr/bin/env bash
# Sets up hmi-agent in ./.venv: system packages (when run as root on Debian/Ubuntu) and Python packages.
#   bash deploy/setup.sh          # runtime: agent, OCR, web UI
#   bash deploy/setup.sh --dev    # + test tools, virtual screen, Chromium, PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

apt_packages=(python3-tk fonts-noto-cjk)
(( dev )) && apt_packages+=(xvfb xauth xdotool scrot x11-utils chromium postgresql)

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    missing=()
    for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if (( ${#missing[@]} )); then
        echo "setup: installing system packages: ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
else
    echo "setup: not root or no apt-get; make sure these are installed: ${apt_packages[*]}" >&2
fi

python=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extras="ocr,ui"
(( dev )) && extras="dev"
# torch==2.13.0 first: a CPU wheel of it is on our build boxes, and pinning it keeps pip from pulling a CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0" || .venv/bin/python -m pip install -q "torch>=2.5,<2.14"
.venv/bin/python -m pip install -q -e ".[${extras}]"
echo "setup: done ($(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
