#!/bin/bash
# One LOFO table: run_lofo.sh TAG [overrides...] -> $OUTDIR/TAG/{lofo.json,lofo.md}, log $OUTDIR/TAG.log.
# Code from CODE (default: this checkout), THREADS torch threads (default 1), families from families.sh
# when FULL=1 (otherwise only the built-in sbi and paste families; FAMILIES: another families file).
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:-$(cd "$HERE/../.." && pwd)}
OUTDIR=${OUTDIR:-/tmp/lofo}
PY=${PY:-$CODE/.venv/bin/python}
[ -x "$PY" ] || PY=/work/main/.venv/bin/python
source "${FAMILIES:-$HERE/families.sh}"
[ "${FULL:-0}" = 1 ] || FAMS=()
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1} WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUTDIR" && cd /tmp || exit 1
tag=$1; shift
echo "$(date +%T) start $tag $*" >> "$OUTDIR/lane.log"
$PY -m deepswap.detect lofo train.steps=1500 train.eval_every=250 seed=0 detect_recipe=generalise lofo.probe=null \
  "${FAMS[@]}" "$@" output_dir="$OUTDIR/$tag" > "$OUTDIR/$tag.log" 2>&1
rc=$?; echo "$(date +%T) end $tag rc=$rc" >> "$OUTDIR/lane.log"
