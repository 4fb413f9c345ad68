#!/bin/bash
# One LOFO run: run_lofo.sh TAG [overrides...] -> $OUTDIR/TAG/{lofo.json,lofo.md}, log $OUTDIR/TAG.log.
# ../2026-12-05_detector_recipe/run_lofo.sh with this folder's families (FULL=1) and the ResNet recipe
# of that folder (3000 steps, lr 1e-3); CODE, THREADS as there.
HERE=$(cd "$(dirname "$0")" && pwd)
export FAMILIES="$HERE/families.sh" OUTDIR=${OUTDIR:-/tmp/x54}
tag=$1; shift
exec bash "$HERE/../2026-12-05_detector_recipe/run_lofo.sh" "$tag" detect_net=resnet \
  train.steps=3000 train.eval_every=500 train.lr=0.001 "$@"
