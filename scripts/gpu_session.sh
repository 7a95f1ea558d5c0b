#!/usr/bin/env bash
# Everything one lent GPU lease should do, in one call (a lease is 15 minutes; a machine's
# start costs one or two of them, so one long call beats several short ones):
#
#   bash scripts/gpu_session.sh OUT MINUTES
#
# One call may run 10 minutes: MINUTES=7 leaves ~2 minutes for the setup (lmdb wheel, fonts,
# the step profile, the synthetic eval set, the trainer's data check) and the final
# evaluation. Measured on an H100: the tests, the benchmark and the setup took ~110 s before
# the first step, so PROFILE=0 with MINUTES=8 ended at the 600-s limit during the final
# evaluation (the minute-old last/ came back, 250 steps short); with PROFILE=0 use 7.5. Then:
#   python scripts/ship_default_model.py OUT/train/last     (lines_seen: the trainer's count)
#   python benchmarks/default_model_progress.py src/duguang_ocr/hub/default --run "..."
# Extra arguments go to the trainer, e.g. --set train.batch_size=512.
#
# 1. the CUDA tests                                   -> OUT/cuda_tests.txt
#    and the GPU inference benchmark (bf16/fp16 vs fp32) -> OUT/bench_gpu.txt
# 2. with GROW=1: issue 10's vocabulary-growth measurement (benchmarks/grow_vocab.py, on 2
#    CPU workers and the same GPU, beside the training) -> OUT/grow_vocab.txt
# 3. with PROFILE=1 (the default): ~40 s timing a training step at batch 256, NCHW and
#    channels-last, with and without cudnn.benchmark (benchmarks/profile_train_step.py, with
#    its operator table for the first setting) -> OUT/profile.txt; the training then uses the
#    faster setting (train.channels_last, train.cudnn_benchmark)
# 4. MINUTES of the default model's training, continued from the shipped weights (or from
#    INIT=DIR: weights other than the shipped ones, e.g. an unshipped better candidate)
#    (scripts/train_default_model_gpu.sh, on the other cores) -> OUT/train/
# Carry .fonts, .gpudata and .whl (scripts/pack_gpu_carry.sh builds them; ~31 MB of the 64 MiB).
set -uo pipefail
out=${1:?OUT}
minutes=${2:?MINUTES}
mkdir -p "$out/train"
source scripts/gpu_env.sh || exit 1
python3 -m pytest -q -p no:cacheprovider -k "cuda or gpu" tests > "$out/cuda_tests.txt" 2>&1
tail -1 "$out/cuda_tests.txt"
# The shipped weights on this GPU: lines/s and strings equal to float32 in bf16 and fp16.
timeout 90 python3 benchmarks/bench_gpu.py --n 500 --model src/duguang_ocr/hub/default \
  --no-random > "$out/bench_gpu.txt" 2>&1
tail -4 "$out/bench_gpu.txt"
# Two recipes, each as GROW_A / GROW_B arguments: the whole model at a fine-tuning lr (with
# and without replay), and a fast head over a slow body.
grow() {
  timeout $(( ${minutes%.*} * 60 + 60 - SECONDS )) python3 benchmarks/grow_vocab.py /tmp/grow \
    --device cuda --precision bf16 --batch-size 128 --workers 2 --train-lines 8000 "$@" \
    >> "$out/grow_vocab.txt" 2>&1
  echo "grow_vocab exit $?" >> "$out/grow_vocab.txt"
}
grow_pid=
if [ "${GROW:-0}" = 1 ]; then
  ( grow ${GROW_A:---steps 300 --lr 1e-4 --replay 0 0.5}
    grow ${GROW_B:---steps 300 --lr 1e-3 --body-lr-scale 0.1 --replay 0.5} ) &
  grow_pid=$!
fi
faster=()
if [ "${PROFILE:-1}" = 1 ]; then
  timeout 120 python3 benchmarks/profile_train_step.py --device cuda --precision bf16 \
    --batch-size 256 --memory-format nchw,nhwc --cudnn-benchmark off,on --steps 10 \
    > "$out/profile.txt" 2>&1
  grep -E "lines/s|fastest|backward" "$out/profile.txt"
  grep -q "fastest memory format at batch 256: nhwc" "$out/profile.txt" &&
    faster+=(--set train.channels_last=true)
  grep -q "fastest cudnn.benchmark at batch 256: on" "$out/profile.txt" &&
    faster+=(--set train.cudnn_benchmark=true)
fi
n=$(nproc)
WORKERS=$(( n <= 4 ? 1 : grow_pid ? n - 3 : n - 1 )) bash scripts/train_default_model_gpu.sh "$out/train" "$minutes" \
  "${INIT:-src/duguang_ocr/hub/default}" "${faster[@]}" "${@:3}"
if [ -n "$grow_pid" ]; then
  wait "$grow_pid"
  grep -v "^20[0-9][0-9]-" "$out/grow_vocab.txt" | tail -12
fi
