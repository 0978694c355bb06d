#!/usr/bin/env bash
# Runs the test suite with the services it needs: a PostgreSQL server (when installed) for the storage suite.
#   bash deploy/test.sh                        # everything (what CI runs)
#   bash deploy/test.sh --quick [PYTEST ARGS]  # the inner loop: leaves out tests marked slow, stops at the first failure
#   bash deploy/test.sh tests/storage -q       # any other arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--quick" ]]; then
    shift
    set -- -m "not slow" -x -q "$@"
fi

if [[ -z "${HMI_AGENT_TEST_POSTGRES_URL:-}" ]] && command -v pg_ctlcluster >/dev/null && [[ $(id -u) -eq 0 ]]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    pg_lsclusters -h | grep -q "^$version main" || pg_createcluster "$version" main >/dev/null
    pg_ctlcluster "$version" main start >/dev/null 2>&1 || true  # already running is fine
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
    su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='hmi'\" | grep -q 1 || psql -q -c \"CREATE ROLE hmi LOGIN PASSWORD 'hmi'\""
    su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='hmi_test'\" | grep -q 1 || createdb -O hmi hmi_test"
    export HMI_AGENT_TEST_POSTGRES_URL="postgresql+psycopg://hmi:hmi@127.0.0.1:5432/hmi_test"
fi

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest "$@"
