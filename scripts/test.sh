#!/usr/bin/env bash
# The test suite: unit tests, the store on SQLite and PostgreSQL, flows under Prefect's test harness, tiny models.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q "$@"
