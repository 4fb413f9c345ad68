#!/bin/bash
# The sub-pixel shift (PostProcess.p_shift) in the `deepswap.detect` recipes (issue 11 §2). One torch thread per
# call; run two side by side on the 2 cores.
#   CODE=<frozen worktree> OUT=/tmp/x190 bash run.sh train TAG [overrides...]   # detect train, generalise_post, sbi fakes
#   CODE=... OUT=... X=/tmp/x170 bash run.sh score NAME CONDITIONS TAG=FILE ... # every family, clean + CONDITIONS
#   CODE=... OUT=... X=/tmp/x170 bash run.sh fold TAG HELDOUT [overrides...]    # one LOFO fold, generalise, families.sh
# The generator families are ../2026-12-07_ensemble_bf16's (X: its OUT, with fp32_s0-2, ghost, simswap and
# faceshifter trained).
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:?set CODE to a frozen worktree of the commit under test}
OUT=${OUT:-/tmp/x190}; X=${X:-/tmp/x170}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUT" && cd "$CODE" || exit 1
what="$1 ${2:-}"
case $1 in
train)
  tag=$2; shift 2
  $PY -m deepswap.detect train detect_recipe=generalise_post detect_net=resnet train.steps=3000 train.eval_every=500 \
    train.lr=0.001 seed=0 "data.fakes=[sbi]" "$@" output_dir="$OUT/$tag" > "$OUT/$tag.log" 2>&1 ;;
score)  # ../2026-12-07_mild_blur's scoring: deepswap seed 0 at 4 kimg, ghost, simswap; clean + CONDITIONS
  name=$2; conds=$3; shift 3
  CODE=$CODE OUT=$OUT X=$X PY=$PY CONDITIONS=$conds bash "$HERE/../2026-12-07_mild_blur/run.sh" score "$name" "$@" ;;
fold)
  tag=$2; held=$3; shift 3
  X170=$X source "$HERE/families.sh"
  $PY -m deepswap.detect lofo detect_recipe=generalise lofo.probe=null detect_net=resnet train.steps=3000 \
    train.eval_every=500 train.lr=0.001 seed=0 "${FAMS[@]}" "lofo.holdout=[$held]" "$@" output_dir="$OUT/$tag" \
    > "$OUT/$tag.log" 2>&1 ;;
*) echo "usage: run.sh train TAG [overrides...] | score NAME CONDITIONS TAG=FILE ... | fold TAG HELDOUT [overrides...]"; exit 2 ;;
esac
rc=$?; echo "$(date +%T) $what rc=$rc" >> "$OUT/lane.log"; exit $rc
