#!/bin/bash
# The paste fold (LOFO, this folder's families, ResNet recipe of ../2026-12-05_paste_column: 3000 steps,
# lr 1e-3, detect_recipe=generalise) with and without training flips, each scored with and without flip
# test-time augmentation (tta=flip writes both). Seeds 0 and 1, one torch thread per lane, two lanes:
#   CODE=<frozen worktree> OUTDIR=/tmp/x131 bash run.sh
HERE=$(cd "$(dirname "$0")" && pwd)
R="bash $HERE/../2026-12-05_detector_recipe/run_lofo.sh"
RESNET=(detect_net=resnet train.steps=3000 train.eval_every=500 train.lr=0.001)
export FULL=1 FAMILIES=$HERE/families.sh THREADS=1
( $R base_s0 "${RESNET[@]}" 'lofo.holdout=[paste]' tta=flip seed=0
  $R base_s1 "${RESNET[@]}" 'lofo.holdout=[paste]' tta=flip seed=1 ) &
( $R hflip_s0 "${RESNET[@]}" 'lofo.holdout=[paste]' tta=flip recipe.hflip=0.5 seed=0
  $R hflip_s1 "${RESNET[@]}" 'lofo.holdout=[paste]' tta=flip recipe.hflip=0.5 seed=1 ) &
wait
