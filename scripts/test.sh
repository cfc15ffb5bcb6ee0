#!/usr/bin/env bash
# The test suite (unit, store on SQLite and PostgreSQL, flows, tiny models), then `bon demo --quick` as the
# end-to-end smoke test in a throw-away directory.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q "$@"
