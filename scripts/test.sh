#!/usr/bin/env bash
# Set up, then run the quality gates and the whole test suite (unit, integration, acceptance);
# the integration tests run a second time on a throwaway PostgreSQL (--vcp-database postgres).
# Gates: ruff lint, ruff format, mypy on vcpsdk/, no import cycles in vcpsdk/, no repeated
# code in vcpsdk/ (the workplace's `duplicates` command, where it exists).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

gate() { echo "== $1" >&2; }
gate "ruff check"
.venv/bin/ruff check .
gate "ruff format --check"
.venv/bin/ruff format --check .
gate "mypy (vcpsdk/)"
.venv/bin/mypy
gate "import cycles (vcpsdk/)"
.venv/bin/python scripts/check_import_cycles.py vcpsdk
gate "repeated code (vcpsdk/)"
if command -v duplicates >/dev/null 2>&1; then
    report=$(duplicates --repo vcpsdk --seconds 120)
    case "$report" in
        "no duplicates"*) echo "$report" | head -n 1 ;;
        *) echo "$report"; echo "test: repeated code in vcpsdk/ (see the rows above)" >&2; exit 1 ;;
    esac
else
    echo "test: the 'duplicates' command is not on this machine; repeated-code gate not run" >&2
fi

gate "docs site (strict build)"; bash scripts/build-docs.sh
gate "pytest tests/integration on PostgreSQL"
.venv/bin/python -m pytest -n 2 -q tests/integration --vcp-database postgres
gate "pytest"
set +e
.venv/bin/python -m pytest -n 2 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests; that is a failure" >&2
    exit 1
fi
exit "$status"
