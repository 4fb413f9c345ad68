#!/bin/bash
# The main job's detector before and after co-training, scored on every family's test fakes:
#   score_pretrained.sh TAG [train overrides for the pre-training...]
# -> $OUTDIR/TAG.pt (pretrained_detector.py) and $OUTDIR/score_TAG/lofo.{json,md} with the rows
# "pre" (pre-training only) and, when MK is set, "mk" (the co-trained detector of the checkpoint MK).
# Families: ../2026-12-05_paste_column/families.sh (X=/tmp/x52). CODE, PY, THREADS as in run_lofo.sh.
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:-$(cd "$HERE/../.." && pwd)}
OUTDIR=${OUTDIR:-/tmp/x60}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1} WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUTDIR" && cd /tmp || exit 1
tag=$1; shift
echo "$(date +%T) start pre_$tag $*" >> "$OUTDIR/lane.log"
$PY "$HERE/pretrained_detector.py" "$OUTDIR/$tag.pt" \
  paths.cache_dir="${CACHE:-$OUTDIR/cache}" "$@" > "$OUTDIR/pre_$tag.log" 2>&1
rc=$?; echo "$(date +%T) end pre_$tag rc=$rc" >> "$OUTDIR/lane.log"
[ $rc = 0 ] || exit $rc
source "$HERE/../2026-12-05_paste_column/families.sh"
rows=("+lofo.score.pre=$OUTDIR/$tag.pt")
[ -n "$MK" ] && rows+=("+lofo.score.mk=$MK")
$PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null seed=0 detect_recipe=generalise \
  "${FAMS[@]}" "${rows[@]}" output_dir="$OUTDIR/score_$tag" > "$OUTDIR/score_$tag.log" 2>&1
rc=$?; echo "$(date +%T) end score_$tag rc=$rc" >> "$OUTDIR/lane.log"
