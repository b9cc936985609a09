#!/usr/bin/env bash
# Install everything (tools/dev-install.sh) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/dev-install.sh
. .venv/bin/activate
exec python -m pytest "$@"
