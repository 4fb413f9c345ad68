#!/bin/bash
# Score detectors as they are on every family's test fakes (no training):
#   score_rows.sh TAG NAME=FILE [NAME=FILE ...]   (FILE: a detector file or a training checkpoint)
# -> $OUTDIR/score_TAG/{lofo.json,lofo.md,scored_NAME.csv}. Families: ../2026-12-05_paste_column/families.sh.
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:-$(cd "$HERE/../.." && pwd)}
OUTDIR=${OUTDIR:-/tmp/x60}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1} WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUTDIR" && cd /tmp || exit 1
tag=$1; shift
rows=(); for r in "$@"; do rows+=("+lofo.score.$r"); done
source "$HERE/../2026-12-05_paste_column/families.sh"
echo "$(date +%T) start score_$tag $*" >> "$OUTDIR/lane.log"
$PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null seed=0 detect_recipe=generalise \
  "${FAMS[@]}" "${rows[@]}" output_dir="$OUTDIR/score_$tag" > "$OUTDIR/score_$tag.log" 2>&1
rc=$?; echo "$(date +%T) end score_$tag rc=$rc" >> "$OUTDIR/lane.log"
