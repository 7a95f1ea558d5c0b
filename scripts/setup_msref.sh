#!/usr/bin/env bash
# Builds .venv-msref: ModelScope's own OCR recognition code, used only by the parity tests
# (tests/test_parity_modelscope.py) as a reference. Follows ../shared/msref/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if .venv-msref/bin/python -c "import modelscope.models.cv.ocr_recognition" 2>/dev/null; then
  exit 0
fi
python3 -m venv .venv-msref
.venv-msref/bin/pip install -q torch==2.13.0
echo "torch==2.13.0" > .venv-msref/constraints.txt
.venv-msref/bin/pip install -q -c .venv-msref/constraints.txt modelscope opencv-python-headless \
  addict attrs einops pillow python-dateutil pyyaml scipy simplejson sortedcontainers
