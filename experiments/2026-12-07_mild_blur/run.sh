#!/bin/bash
# Why a post-processed detector (detector=resnet_post) scores worse under a 0.5 px blur than under a 1 px one
# (issue 11 §2; ../2026-12-07_robust_detector): warm starts that differ in one option, each scored on every
# family at several blur sigmas (both classes blurred alike, flip TTA, 1000 reals + 1000 fakes per family).
# One torch thread per call; run two side by side on the 2 cores.
#   CODE=<frozen worktree> OUT=/tmp/x180 bash run.sh warm TAG [train overrides...]   # -> OUT/TAG.pt
#   CODE=... OUT=/tmp/x180 X=/tmp/x170 bash run.sh score NAME TAG=FILE ...           # -> OUT/NAME/lofo.md
# The families are ../2026-12-07_ensemble_bf16's (X: its OUT, with fp32_s0, ghost and simswap trained).
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:?set CODE to a frozen worktree of the commit under test}
OUT=${OUT:-/tmp/x180}; X=${X:-/tmp/x170}; CACHE=${CACHE:-/root/.cache/deepswap}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUT" && cd "$CODE" || exit 1
CONDITIONS=${CONDITIONS:-[blur_0.25,blur_0.5,blur_0.75,blur_1,blur_1.5]}
case $1 in
warm)
  tag=$2; shift 2
  $PY "$HERE/../2026-12-06_make_train_paste/pretrained_detector.py" "$OUT/${tag}_raw.pt" paths.cache_dir="$CACHE" \
    "$@" > "$OUT/$tag.log" 2>&1 || { echo "warm $tag failed"; exit 1; }
  # scored with flip TTA, as the main job's detector is
  $PY -c "import torch,sys; b=torch.load(sys.argv[1]); b.update(tta='flip', size=64); torch.save(b, sys.argv[2])" \
    "$OUT/${tag}_raw.pt" "$OUT/$tag.pt" ;;
score)
  name=$2; shift 2
  rows=(); for r in "$@"; do rows+=("+lofo.score.$r"); done
  $PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null seed=0 detect_recipe=none tta=null \
    "+lofo.families.deepswap=[$X/fp32_s0/checkpoints/last.ckpt]" \
    "+lofo.families.ghost=[$X/ghost/checkpoints/kimg00002.000.ckpt,$X/ghost/checkpoints/last.ckpt]" \
    "+lofo.families.simswap=[$X/simswap/checkpoints/kimg00001.008.ckpt,$X/simswap/checkpoints/last.ckpt]" \
    "${rows[@]}" "lofo.conditions=$CONDITIONS" output_dir="$OUT/$name" > "$OUT/$name.log" 2>&1 ;;
*) echo "usage: run.sh warm TAG [overrides...] | score NAME TAG=FILE ..."; exit 2 ;;
esac
