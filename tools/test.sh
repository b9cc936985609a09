#!/usr/bin/env bash
# Install everything (tools/dev-install.sh) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/dev-install.sh
# The dashboard's browser tests drive Debian's Chromium (never a browser downloaded by playwright);
# the code sandbox (humaneval, live_code_bench) runs programs under Debian's bubblewrap.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v bwrap >/dev/null || missing+=(bubblewrap)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "warning: could not install ${missing[*]}; the tests that need them fail in CI"
fi
. .venv/bin/activate
exec python -m pytest "$@"
