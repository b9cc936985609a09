#!/usr/bin/env bash
# The offline demo: SmolLM2-135M-Instruct (shipped in a PyPI package) on gsm8k and arc, 5 samples
# each, data from ../shared/data. Runs on the CPU; the first run converts the model once (~30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
# A user's environment: every evs package, no test fixture (no example plugin, no `hello` command).
VENV=.venv-demo EVS_TEST_FIXTURES=0 tools/dev-install.sh
. .venv-demo/bin/activate
exec evs eval --model smollm2-135m-instruct --datasets gsm8k arc --limit 5 \
  --dataset-dir ../shared/data --work-dir outputs "$@"
