#!/usr/bin/env bash
# Sets up hmi-agent in ./.venv: system packages (when run as root on Debian/Ubuntu) and Python packages.
#   bash deploy/setup.sh                        # runtime: agent, OCR, web UI
#   bash deploy/setup.sh --dev                  # + test tools, virtual screen, Chromium, PostgreSQL
#   bash deploy/setup.sh --wheelhouse DIR       # offline: Python packages only from DIR (deploy/wheelhouse.sh)
# Python packages are installed at the versions the tests passed with: deploy/constraints.txt (deploy/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
wheelhouse=""
while (( $# )); do
    case "$1" in
        --dev) dev=1 ;;
        --wheelhouse) wheelhouse=${2:?"--wheelhouse needs a folder"}; shift ;;
        *) echo "setup: unknown option '$1' (use --dev, --wheelhouse DIR)" >&2; exit 2 ;;
    esac
    shift
done
if [[ -n $wheelhouse && ! -d $wheelhouse ]]; then
    echo "setup: wheelhouse '$wheelhouse' is not a folder" >&2
    exit 2
fi

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
pip_from=(--constraint deploy/constraints.txt)
[[ -n $wheelhouse ]] && pip_from+=(--no-index --find-links "$wheelhouse")
.venv/bin/python -m pip install -q "${pip_from[@]}" --upgrade pip
extras="ocr,ui"
(( dev )) && extras="dev"
if ! .venv/bin/python -m pip install -q "${pip_from[@]}" -e ".[${extras}]"; then
    echo "setup: pip could not install the locked set; if pyproject.toml's dependencies changed, install them and re-run deploy/lock.sh" >&2
    exit 1
fi
echo "setup: done ($(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
