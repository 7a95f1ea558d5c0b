#!/usr/bin/env bash
# Continue the embedded default model's training on this machine's CPU, in the background
# beside other work (niced; two torch threads and one rendering worker, which at ~30 lines/s
# is busy a tenth of the time: one torch thread trained 17 lines/s, two 29; the CTC softmax
# over a per-step subset of the classes, train.softmax_top=4, makes that ~1.6x), for MINUTES:
#
#   bash scripts/continue_default_model_cpu.sh WORK MINUTES [REAL_DIR] [--set key=value ...]
#
# It starts from the package's weights (src/duguang_ocr/hub/default) at a fine-tuning
# learning rate with the cosine annealed by the deadline, reads REAL_DIR/{ic15,ic13,iiit5k,
# svt,plates,svt_test,cute80}.lmdb (default data/real, see docs/DATA.md) and evaluates on
# data/synth_val.lmdb (made here when missing). `--resume` semantics: rerunning with the same
# WORK continues the run. Every 1,500 steps (~13 min) it keeps the weights in
# WORK/run/steps/: the snapshots to fall back on when the last one misreads something.
# Ship the result only if it beats the package on every realtest
# subset and zh_browser (benchmarks/default_model_progress.py), with
#   python scripts/ship_default_model.py WORK/run/last   (the trainer records lines_seen)
set -euo pipefail
work=${1:?WORK}
minutes=${2:?MINUTES}
real=${3:-data/real}
shift $(( $# >= 3 ? 3 : $# ))
mkdir -p "$work"
[ -d "$work/init" ] || cp -r src/duguang_ocr/hub/default "$work/init"
# The run imports some modules late (the evaluation's recognizer), so editing this checkout
# while it trains once crashed a run with an ImportError: it runs a copy of the package, made
# at its first start (delete WORK/src to resume on newer code).
[ -d "$work/src" ] || cp -r src "$work/src"
export PYTHONPATH="$work/src${PYTHONPATH:+:$PYTHONPATH}"
# bf16 autocast where the CPU computes it natively (AVX512-BF16/AMX), with the same float32
# master weights as the GPU's bf16 runs. On the 2-core dev machine the step alone ran 1.5x as
# fast (benchmarks/profile_train_step.py --precision fp32|bf16, batch 32, softmax_top 4: 40-48
# against 63-69 lines/s), the whole run beside its rendering worker only ~5% (42-45 against
# 39-45 lines/s, alternating on the same run).
precision=$(python3 -c "from duguang_ocr.fused import cpu_has_native_bf16
print('bf16' if cpu_has_native_bf16() else 'fp32')")
[ -d data/synth_val.lmdb ] || duguang-ocr synth data/synth_val.lmdb --n 1000 --seed 777
sets=
for name in ic15 ic13 iiit5k svt plates svt_test cute80; do sets+="$real/$name.lmdb,"; done
# Appended to: a resumed run keeps the earlier runs' log.
nohup nice -n 19 duguang-ocr train --config default_model --work-dir "$work/run" --resume \
  --set "model.init=$work/init" --set model.vocab=null --set "model.arch={}" \
  --set optim.lr=1e-4 --set optim.warmup_steps=50 --set "data.synth.curriculum={}" \
  --set "data.train=[${sets%,}]" --set "data.eval=[data/synth_val.lmdb]" \
  --set train.threads=2 --set data.num_workers=1 --set "train.time_limit=$minutes" \
  --set train.max_steps=100000 --set eval.every_steps=500 --set eval.max_samples=300 \
  --set train.save_every=100 --set train.keep_every=1500 --set train.softmax_top=4 --set "train.precision=$precision" "$@" >> "$work/train.out" 2>&1 &
echo "training in the background (pid $!): tail -f $work/train.out"
