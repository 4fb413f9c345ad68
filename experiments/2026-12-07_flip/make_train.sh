#!/bin/bash
# The make-train detector with flips (issue 11 §2, second exit): warm starts and main jobs, each scored on
# the generator-free families (sbi, paste) that the main job never sees, flip TTA and single pass.
#   CODE=<frozen worktree> OUTDIR=/tmp/x140 bash make_train.sh pre TAG [train overrides...]
#       -> OUTDIR/TAG.pt (the warm start alone) and OUTDIR/score_TAG/{lofo.md,scored_TAG.csv,...}
#   CODE=<frozen worktree> OUTDIR=/tmp/x140 bash make_train.sh job TAG [train overrides...]
#       -> OUTDIR/TAG (the main job, seed 0) and OUTDIR/score_TAG (its co-trained detector)
#   CODE=... OUTDIR=/tmp/x140 X=/tmp/x141 bash make_train.sh score TAG NAME=FILE [NAME=FILE ...]
#       -> OUTDIR/score_TAG: detector files or checkpoints scored on every family, the generator families of
#          families.sh included (trained into X by train_families.sh and `job deepswap_s0`)
# One torch thread per call; run two calls side by side on the 2 cores.
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:?set CODE to a frozen worktree of the commit under test}
OUTDIR=${OUTDIR:-/tmp/x140}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUTDIR" && cd "$CODE" || exit 1
what=$1 tag=$2; shift 2
log() { echo "$(date +%T) $*" >> "$OUTDIR/lane.log"; }
log "start $what $tag $*"
if [ "$what" = score ]; then
  X=${X:-/tmp/x141}; X90=$X X100=$X X130=$X source "$HERE/families.sh"
  rows=(); for r in "$@"; do rows+=("+lofo.score.$r"); done
  $PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null seed=0 detect_recipe=generalise tta=flip \
    "${FAMS[@]}" "${rows[@]}" output_dir="$OUTDIR/score_$tag" > "$OUTDIR/score_$tag.log" 2>&1
  log "end $tag rc=$?"; exit
fi
if [ "$what" = pre ]; then
  $PY "$HERE/../2026-12-06_make_train_paste/pretrained_detector.py" "$OUTDIR/$tag.pt" \
    paths.cache_dir="${CACHE:-$OUTDIR/cache}" "$@" > "$OUTDIR/$tag.log" 2>&1 || { log "fail $tag"; exit 1; }
  row="$OUTDIR/$tag.pt"
else
  seed=seed=0; for a in "$@"; do [[ $a == seed=* ]] && seed=; done   # seed 0 unless given
  $PY -m deepswap.train logger=csv $seed paths.cache_dir="${CACHE:-$OUTDIR/cache}" paths.output_dir="$OUTDIR/$tag" "$@" \
    > "$OUTDIR/$tag.log" 2>&1 || { log "fail $tag"; exit 1; }
  row="$OUTDIR/$tag/checkpoints/last.ckpt"
fi
log "trained $tag"
$PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null seed=0 detect_recipe=generalise tta=flip \
  "+lofo.score.$tag=$row" output_dir="$OUTDIR/score_$tag" > "$OUTDIR/score_$tag.log" 2>&1
log "end $tag rc=$?"
