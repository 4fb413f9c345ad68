#!/bin/bash
# The deepswap and paste folds (sbi, paste and deepswap families; ResNet, 3000 steps, lr 1e-3, seed 0), with
# the recipe's pseudo-fakes as they ship and with autoencoder_face added. One torch thread per lane.
#   CODE=<frozen worktree> OUTDIR=/tmp/x91 bash run.sh
HERE=$(cd "$(dirname "$0")" && pwd)
R="bash $HERE/../2026-12-05_detector_recipe/run_lofo.sh"
export FULL=1 FAMILIES=$HERE/families.sh THREADS=1
COMMON=(detect_net=resnet train.steps=3000 train.eval_every=500 train.lr=0.001)
( $R base_deepswap "${COMMON[@]}" 'lofo.holdout=[deepswap]'
  $R base_paste "${COMMON[@]}" 'lofo.holdout=[paste]' ) &
( $R aeface_deepswap "${COMMON[@]}" 'lofo.holdout=[deepswap]' 'recipe.pseudo_fakes=[sbi,autoencoder,autoencoder_face]'
  $R aeface_paste "${COMMON[@]}" 'lofo.holdout=[paste]' 'recipe.pseudo_fakes=[sbi,autoencoder,autoencoder_face]' ) &
wait
