#!/bin/bash
# The main job at seed 0 with extra overrides (the co-trained detector options of §4), one torch thread:
#   CODE=<frozen worktree> OUT=/tmp/x180 bash lane.sh TAG [train overrides...]   # -> OUT/TAG, OUT/TAG.log
CODE=${CODE:?set CODE to a frozen worktree of the commit under test}
OUT=${OUT:-/tmp/x180}; CACHE=${CACHE:-/root/.cache/deepswap}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$OUT" && cd "$CODE" || exit 1
tag=$1; shift
$PY -m deepswap.train logger=csv seed=0 paths.cache_dir="$CACHE" paths.output_dir="$OUT/$tag" "$@" > "$OUT/$tag.log" 2>&1
echo "$tag rc=$?" >> "$OUT/lanes.txt"
