#!/usr/bin/env bash
# Builds a wheelhouse for an air-gapped box: every Python package of the tested set (deploy/constraints.txt) as
# wheels in one folder, plus pip and setuptools. Run it on a connected machine with the plant box's Python version
# and platform, carry the folder and a copy of this checkout over, and install there with
#   bash deploy/setup.sh --wheelhouse DIR
# usage: bash deploy/wheelhouse.sh DIR [--dev] [--extra NAME]...   (--extra quant for a quantized model)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:?"usage: bash deploy/wheelhouse.sh DIR [--dev] [--extra NAME]..."}
shift
extras="ocr,ui"
while (( $# )); do
    case "$1" in
        --dev) extras="dev" ;;
        --extra) extras+=",${2:?"--extra needs a name"}"; shift ;;
        *) echo "wheelhouse: unknown option '$1' (use --dev, --extra NAME)" >&2; exit 2 ;;
    esac
    shift
done

python=${PYTHON:-python3}
mkdir -p "$dir"
# `pip wheel`: packages published only as source (pyautogui and its helpers) are built here, so the plant box
# builds nothing but the checkout itself; pip and setuptools too, which setup.sh uses from the wheelhouse alone
"$python" -m pip wheel -q --constraint deploy/constraints.txt --wheel-dir "$dir" pip setuptools wheel ".[${extras}]"
rm -f "$dir"/hmi_agent-*.whl  # the checkout itself is installed from source (editable), not from here
echo "wheelhouse: $(find "$dir" -maxdepth 1 -name '*.whl' | wc -l) wheels in $dir ($(du -sh "$dir" | cut -f1)) for $("$python" -V 2>&1), $(uname -sm)"
