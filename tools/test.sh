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
# MultiPL-E's languages tested here (multiple_humaneval / multiple_mbpp): their Debian toolchains,
# where the code sandbox sees them (/usr/bin), without recommended extras.
langs=()
for pair in g++:g++ node:nodejs lua5.4:lua5.4 php:php-cli ruby:ruby perl:perl rustc:rustc Rscript:r-base-core; do
  [ -x "/usr/bin/${pair%%:*}" ] || langs+=("${pair#*:}")
done
[ -f /usr/include/boost/any.hpp ] || langs+=(libboost-dev)
[ -f /usr/share/lua/5.4/luaunit.lua ] || langs+=(lua-unit)
[ -f /usr/share/perl5/Test/Deep.pm ] || langs+=(libtest-deep-perl)
if [ ${#langs[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${langs[@]}" >/dev/null) \
    || echo "warning: could not install ${langs[*]}; the MultiPL-E tests that need them fail in CI"
fi
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "warning: could not install ${missing[*]}; the tests that need them fail in CI"
fi
. .venv/bin/activate
exec python -m pytest "$@"
