#!/usr/bin/env bash
# The GPU checks of issue 5 as one prepared command for a lent GPU machine (a few minutes):
#   1. one epoch of the default config on the GPU (bf16), counting host-device syncs
#   2. the whole default recipe (word vectors learned on the CPU cores, 8 epochs, early stopping) on the GPU
#   3. the tests that exercise CUDA (tests/training/test_cuda.py; device/training/encoder tests run on CUDA there)
#   4. one epoch in fp32, for the autocast speed-up
#   5. a throughput probe of configs/ulmfit.toml's language model (issue 6's GPU recipe), cut off
#      by a timeout: its progress lines give tokens/s on the full data and vocabulary
#   6. issue 13's GPU recipe (configs/gpu.toml), start to finish, with its test accuracy as JSON
#      (`STEPS=gpu_recipe` runs that step alone: about 10 minutes)
# Each step has its own time limit and log; a failing step does not stop the others.
#
#   bash benchmarks/gpu_check.sh ARCHIVE OUT_DIR
#   DEVICE=cpu QUICK=1 PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh ARCHIVE /tmp/check   # dry run
set -u
archive=${1:?usage: gpu_check.sh ARCHIVE OUT_DIR}
out=${2:?usage: gpu_check.sh ARCHIVE OUT_DIR}
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
quick=()
[ -n "${QUICK:-}" ] && quick=(--limit 1000 --test-limit 500)
mkdir -p "$out"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to OUT/NAME.log, print its status
    local name=$1 limit=$2 started=$SECONDS
    shift 2
    if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then return; fi  # STEPS="a b": only those
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    echo "== $name: exit $? after $((SECONDS - started)) s"
}

{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv,noheader 2>&1
    "$py" -c 'import sys, torch, tokenizers, onnxruntime; print(sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "tokenizers", tokenizers.__version__,
"onnxruntime", onnxruntime.__version__)'
    nproc
} >"$out/env.log" 2>&1
cat "$out/env.log"

step epoch_bf16 150 "$py" benchmarks/gpu_epoch.py --archive "$archive" --device "$device" --sync-check "${quick[@]}"
step recipe_bf16 300 "$py" benchmarks/gpu_epoch.py --archive "$archive" --device "$device" --epochs 8 "${quick[@]}"
step tests 150 "$py" -m pytest -q -p no:cacheprovider tests/training/ \
    tests/models/test_encoder.py
step epoch_fp32 120 "$py" benchmarks/gpu_epoch.py --archive "$archive" --device "$device" --precision fp32 \
    "${quick[@]}"
lm_limit=()
[ -n "${QUICK:-}" ] && lm_limit=(--limit 300 --set lm.hidden_size=64 --set lm.embedding_dim=32)
step lm_probe 90 "$py" -m sentiment_rnn pretrain-lm --config configs/ulmfit.toml --archive "$archive" \
    --set "lm.device=\"$device\"" --epochs 1 --out "$out/lm" "${lm_limit[@]}"
rm -rf "$out/lm"
# Issue 13's GPU recipe, start to finish (data, word vectors, training, official test score); its
# summary line is JSON.
recipe_limit=()
[ -n "${QUICK:-}" ] && recipe_limit=(--limit 600 --set data.unlabeled_limit=600 --epochs 1
    --set model.hidden_size=16 --set model.embedding_dim=16 --set embeddings.epochs=1 --set embeddings.workers=2)
step gpu_recipe 570 "$py" benchmarks/recipe.py --config configs/gpu.toml --archive "$archive" \
    --set "training.device=\"$device\"" "${recipe_limit[@]}"

for name in epoch_bf16 recipe_bf16 epoch_fp32 tests lm_probe gpu_recipe; do  # the steps that ran
    [ -f "$out/$name.log" ] || continue
    echo "== $name"
    case $name in
        tests) tail -n 5 "$out/$name.log" ;;
        lm_probe) grep -E "tokens/s|Error|error" "$out/$name.log" | tail -n 4 ;;
        *) tail -n 1 "$out/$name.log" ;;
    esac
done
