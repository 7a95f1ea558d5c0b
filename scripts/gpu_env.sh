# Sourced by the GPU scripts (gpu_session.sh, train_default_model_gpu.sh): the environment a
# lent GPU machine needs, made once per machine. Carried beside the checkout (git-ignored):
# .whl/lmdb-*.whl (py-lmdb for that machine's Python) and .fonts/fonts.tar.xz.
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD/src:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
# Only the carried fonts: the machine's own may include a held-out check set's fonts.
export DUGUANG_OCR_FONTS=/tmp/fonts DUGUANG_OCR_SYSTEM_FONTS=0
python3 -c "import lmdb" 2>/dev/null ||
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl || return 1
if [ -z "$(ls -A /tmp/fonts 2>/dev/null)" ]; then
  mkdir -p /tmp/fonts && tar xJf .fonts/fonts.tar.xz -C /tmp/fonts || return 1
fi
