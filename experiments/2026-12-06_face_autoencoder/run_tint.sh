#!/bin/bash
# As run.sh, with the tint pseudo-fake added to the recipe's (deepswap and paste folds, one lane each).
#   CODE=<frozen worktree> OUTDIR=/tmp/x91 bash run_tint.sh
HERE=$(cd "$(dirname "$0")" && pwd)
R="bash $HERE/../2026-12-05_detector_recipe/run_lofo.sh"
export FULL=1 FAMILIES=$HERE/families.sh THREADS=1
COMMON=(detect_net=resnet train.steps=3000 train.eval_every=500 train.lr=0.001 'recipe.pseudo_fakes=[sbi,autoencoder,tint]')
$R tint_deepswap "${COMMON[@]}" 'lofo.holdout=[deepswap]' &
$R tint_paste "${COMMON[@]}" 'lofo.holdout=[paste]' &
wait
