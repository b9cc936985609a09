#!/usr/bin/env bash
# Build (once) the environment the VLMEvalKit backend runs in: torch 2.14.1 + torchvision 0.29.1 +
# ms-vlmeval (~7 GB). It lives outside the checkout and is reused: the default environment keeps
# CPU torch 2.13, beside which `import vlmeval` fails (torchvision::nms does not exist).
# Usage: tools/vlmeval-venv.sh [DIR]   (default: $EVS_VLMEVAL_VENV or ~/.cache/evs/vlmeval-venv)
set -euo pipefail
DIR=${1:-${EVS_VLMEVAL_VENV:-$HOME/.cache/evs/vlmeval-venv}}
if [ -x "$DIR/bin/python" ] && "$DIR/bin/python" -c "import vlmeval.run" 2>/dev/null; then
  echo "$DIR"
  exit 0
fi
PY=${PYTHON:-python3}
TMP="$DIR.tmp$$"
rm -rf "$TMP"
mkdir -p "$(dirname "$DIR")"
"$PY" -m venv "$TMP"
"$TMP/bin/python" -m pip install -q torch==2.14.1 torchvision==0.29.1 ms-vlmeval
"$TMP/bin/python" -c "import vlmeval.run, vlmeval.utils.arguments"
rm -rf "$DIR"
mv "$TMP" "$DIR"
echo "$DIR"
