#!/usr/bin/env bash
# Build the three git-ignored folders a lent GPU machine needs beside the checkout (it has no
# network; `run` carries at most 64 MiB), from a machine that has the fonts and real data:
#
#   bash scripts/pack_gpu_carry.sh [REAL_DIR] [GPU_PYTHON]      # ~2 min, ~31 MB
#
# .fonts/fonts.tar.xz  every face of scripts/install_fonts.sh's packages, cut down to the
#                      charset (pack_fonts.sh)
# .gpudata/real/NAME/  each REAL_DIR/NAME.lmdb (default data/real, built by
#                      scripts/prepare_real_data.py) shrunk to <= 40 px high, JPEG q85
# .whl/                py-lmdb for the GPU machine's Python (GPU_PYTHON, default 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
real=${1:-data/real}
py=${2:-3.12}
bash scripts/pack_fonts.sh
rm -rf .gpudata/real && mkdir -p .gpudata/real
for lmdb in "$real"/*.lmdb; do
  name=$(basename "$lmdb" .lmdb)
  python3 scripts/shrink_lmdb.py "$lmdb" ".gpudata/real/$name" --max-height 40 --quality 85
done
rm -rf .whl && mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" \
  --platform manylinux2014_x86_64 -d .whl "lmdb==$(python3 -c 'import lmdb; print(lmdb.__version__)')"
du -sh .fonts .gpudata .whl
