#!/usr/bin/env bash
# Set up, then run the sandbox tutorial (seed notebook 101) against the embedded sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/sandbox_tutorial.py "$@"
