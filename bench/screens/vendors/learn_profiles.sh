#!/usr/bin/env bash
# Calibrates one site profile per vendor style from ONE screen (<style>_00) and that style's plant database
# (definitions.csv + journal.csv), the way a site would: `hmi-agent profile learn`. The bench then reads the
# style's other screens with it (bench/screen_parser.py --site-profiles).
#   bash bench/screens/vendors/learn_profiles.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
dir=bench/screens/vendors
for style in packed codes severity zh classic colour; do
    db="$(mktemp -d)/plant.sqlite"
    export HMI_AGENT_DB_URL="sqlite:///$db"
    .venv/bin/hmi-agent alarms import "$dir/$style/definitions.csv" >/dev/null
    .venv/bin/hmi-agent alarms import "$dir/$style/journal.csv" >/dev/null
    echo "== $style"
    .venv/bin/hmi-agent profile learn "$dir/$style/${style}_00.png" --name "$style" --out "$dir/$style/profile.yaml"
    rm -rf "$(dirname "$db")"
done
