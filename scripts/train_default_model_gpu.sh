#!/usr/bin/env bash
# Train the default model on one CUDA GPU within a time budget, rendering synthetic lines on
# every CPU core, with no network (a lent GPU machine). The same trainer and config as on a
# CPU (`duguang-ocr train --config default_model`), with GPU settings:
#
#   bash scripts/train_default_model_gpu.sh OUT MINUTES [INIT_DIR] [--set key=value ...]
#
# INIT_DIR (optional, "-" for none): continue from these weights (a model dir, e.g. the
# package's hub/default) with a fresh schedule. Carried beside the checkout (git-ignored;
# scripts/pack_gpu_carry.sh builds all three):
#   .fonts/fonts.tar.xz   the synth fonts (scripts/pack_fonts.sh)
#   .gpudata/real/NAME/   the real crops, shrunk (scripts/shrink_lmdb.py), labels.tsv each
#   .whl/lmdb-*.whl       py-lmdb for that machine's Python
# OUT gets train.log, metrics.jsonl, errors.tsv and last/ (the final weights; refreshed every
# minute while the run goes on).
set -uo pipefail
out=${1:?OUT}
minutes=${2:?MINUTES}
init=${3:--}
shift $(( $# >= 3 ? 3 : $# ))
mkdir -p "$out"
source scripts/gpu_env.sh || exit 1
# One rendering worker per core but the main process's (WORKERS: fewer, to share the CPU).
workers=${WORKERS:-$(( $(nproc) - 1 ))}
# Also fills the font coverage cache that every DataLoader worker then reads.
python3 -m duguang_ocr.cli synth /tmp/synth_val.lmdb --n 1000 --seed 777 \
  --workers "$workers" --overwrite || exit 1
real=$(ls -d .gpudata/real/*/ 2>/dev/null | sed 's:/$::' | paste -sd, -)
init_set=()
# Continuing trained weights: a gentler peak learning rate (2e-3 undid much of the training
# in a CPU check) and no curriculum.
[ "$init" != "-" ] && init_set=(--set "model.init=$init" --set model.vocab=null
  --set model.arch={} --set optim.lr=5e-4 --set optim.warmup_steps=100
  --set "data.synth.curriculum={}")
# What the run has saved so far goes to OUT every minute, so a call cut off by the lease's
# time limit still brings the latest weights back (a lease once lost a finished run that way).
mkdir -p "$out/last"
copy_out() {
  for f in /tmp/run/last/*; do
    [ -f "$f" ] && cp "$f" "$out/last/.part" && mv -f "$out/last/.part" "$out/last/${f##*/}"
  done
  cp /tmp/run/metrics.jsonl /tmp/run/errors.tsv "$out/" 2>/dev/null
}
( while sleep 60; do copy_out 2>/dev/null; done ) &
copier=$!
# Batch 256 at lr 2e-3; the digit stage of the curriculum lasts 250 steps at this batch size.
# train.row_multiple=32: a batch's chunk count changes with every batch and cuDNN builds
# plans for each new one; an H100 run spent its first 250 steps at a third of its speed
# (docs/DEFAULT_MODEL.md). Rounded up to 32 rows, ~20 shapes cover a run, for ~3% more rows.
# data.echo=2: each rendered batch trains two steps. With one, the step waited for the 15
# rendering workers half the time; with two an 8-minute H200 run trained 8,284 steps with 0%
# waiting and moved every accuracy more than any run before it (docs/DEFAULT_MODEL.md).
timeout $(( ${minutes%.*} * 60 + 120 )) python3 -m duguang_ocr.cli train \
  --config default_model --work-dir /tmp/run \
  --set "data.train=[$real]" --set "data.eval=[/tmp/synth_val.lmdb]" \
  --set train.device=cuda --set train.precision=bf16 --set train.batch_size=256 \
  --set optim.lr=2e-3 --set optim.warmup_steps=300 --set "data.num_workers=$workers" \
  --set "train.time_limit=$minutes" --set train.max_steps=100000 \
  --set "data.synth.curriculum={digits: 64000, mixed: 256000}" \
  --set eval.every_steps=1000 --set train.save_every=250 --set train.log_every=50 \
  --set data.echo=2 --set train.row_multiple=32 \
  "${init_set[@]}" "$@" > "$out/train.log" 2>&1
echo "train exit $?" >> "$out/train.log"
kill "$copier" 2>/dev/null
copy_out 2>/dev/null
rm -f "$out/last/.part"
tail -5 "$out/train.log"
exit 0
