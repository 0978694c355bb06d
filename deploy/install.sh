#!/usr/bin/env bash
# One command on a fresh box: checks Python and GPU, installs hmi-agent into ./.venv (deploy/setup.sh), fetches the
# chosen Qwen3-VL into the local Hugging Face cache, and installs + starts the systemd service.
#   sudo bash deploy/install.sh --model 4b                  # Qwen3-VL-4B-Instruct
#   sudo bash deploy/install.sh --model 8b --thinking --quant 4bit
# Options: --model 2b|4b|8b (default 4b)  --thinking  --quant 8bit|4bit  --user NAME (service user)  --no-service
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "install: error: $*" >&2; exit 2; }

size=4b thinking=0 quant=none service=1 user=${SUDO_USER:-$(id -un)}
while (( $# )); do
    case "$1" in
        --model) size=${2:-}; shift ;;
        --thinking) thinking=1 ;;
        --quant) quant=${2:-}; shift ;;
        --user) user=${2:-}; shift ;;
        --no-service) service=0 ;;
        -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done
[[ $size =~ ^(2b|4b|8b)$ ]] || die "--model '$size' is not one of 2b, 4b, 8b"
[[ $quant =~ ^(none|8bit|4bit)$ ]] || die "--quant '$quant' is not one of 8bit, 4bit"

python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "$python not found; install Python 3.11 or newer"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11 or newer needed, found $("$python" -V 2>&1)"
echo "install: $("$python" -V)"

if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    echo "install: GPU: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)"
else
    echo "install: no NVIDIA GPU found (nvidia-smi); the model will run on CPU, slowly" >&2
    [[ $quant == none ]] || die "--quant $quant needs an NVIDIA GPU (bitsandbytes)"
fi

PYTHON=$python bash deploy/setup.sh
[[ $quant == none ]] || .venv/bin/python -m pip install -q --constraint deploy/constraints.txt -e ".[quant]"  # quant itself is unpinned

pull_args=("$size")
(( thinking )) && pull_args+=(--thinking)
HF_HUB_OFFLINE=0 .venv/bin/hmi-agent model pull "${pull_args[@]}"
model=$(.venv/bin/python -c "from agent.models_hub import model_id; print(model_id('$size', thinking=bool($thinking)))")

if (( ! service )) || ! command -v systemctl >/dev/null || [[ ! -d /run/systemd/system ]]; then
    echo "install: done; start it with: HMI_AGENT_MODEL=$model HMI_AGENT_QUANTIZATION=$quant .venv/bin/hmi-agent serve"
    exit 0
fi
[[ $(id -u) -eq 0 ]] || die "installing the systemd service needs root (sudo), or pass --no-service"

env_file=/etc/hmi-agent.env
touch "$env_file" && chmod 640 "$env_file" && chgrp "$(id -gn "$user")" "$env_file"
set_env() { grep -q "^$1=" "$env_file" && sed -i "s|^$1=.*|$1=$2|" "$env_file" || echo "$1=$2" >>"$env_file"; }
set_env HMI_AGENT_MODEL "$model"
set_env HMI_AGENT_QUANTIZATION "$quant"
sed -e "s|@USER@|$user|g" -e "s|@DIR@|$PWD|g" deploy/hmi-agent.service >/etc/systemd/system/hmi-agent.service
systemctl daemon-reload
systemctl enable --now hmi-agent.service
systemctl restart hmi-agent.service  # picks up a changed model on re-install
echo "install: service started: systemctl status hmi-agent; UI at http://127.0.0.1:7860 (settings: $env_file)"
