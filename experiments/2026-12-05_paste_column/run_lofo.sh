#!/bin/bash
# One LOFO run: run_lofo.sh TAG [overrides...] -> $OUTDIR/TAG/{lofo.json,lofo.md}, log $OUTDIR/TAG.log.
# The ResNet recipe of ../2026-12-05_detector_recipe (3000 steps, lr 1e-3), THREADS torch threads
# (default 1), the generator families of families.sh when FULL=1 (else only sbi and paste).
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:-$(cd "$HERE/../.." && pwd)}
OUTDIR=${OUTDIR:-/tmp/x54}
PY=${PY:-/work/main/.venv/bin/python}
source "$HERE/families.sh"
[ "${FULL:-0}" = 1 ] || FAMS=()
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1} WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUTDIR" && cd /tmp || exit 1
tag=$1; shift
echo "$(date +%T) start $tag $*" >> "$OUTDIR/lane.log"
$PY -m deepswap.detect lofo seed=0 detect_recipe=generalise lofo.probe=null detect_net=resnet \
  train.steps=3000 train.eval_every=500 train.lr=0.001 "${FAMS[@]}" "$@" output_dir="$OUTDIR/$tag" > "$OUTDIR/$tag.log" 2>&1
echo "$(date +%T) end $tag rc=$?" >> "$OUTDIR/lane.log"
