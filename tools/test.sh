#!/usr/bin/env bash
# Install everything (tools/dev-install.sh) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/dev-install.sh
# The dashboard's browser tests drive Debian's Chromium (never a browser downloaded by playwright).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: could not install chromium; browser tests will be skipped"
fi
. .venv/bin/activate
exec python -m pytest "$@"
