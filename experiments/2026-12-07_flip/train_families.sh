#!/bin/bash
# The generator families of families.sh (seed 0, one torch thread), regenerated into one folder:
#   CODE=<frozen worktree> X=/tmp/x141 bash train_families.sh
# then X90=$X X100=$X X130=$X for families.sh. The deepswap family (the default main job, deepswap_s0) is
# trained by make_train.sh's `job` (OUTDIR=$X), which also scores its co-trained detector.
CODE=${CODE:?set CODE to a frozen worktree}; X=${X:-/tmp/x141}
PY=${PY:-/work/main/.venv/bin/python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE WANDB_MODE=disabled PYTHONPATH=$CODE
mkdir -p "$X" && cd "$CODE" || exit 1
run() {
  name=$1; shift
  echo "$(date +%T) start $name $*" >> "$X/lane.log"
  $PY -m deepswap.train logger=csv detector=off final_eval.enabled=false seed=0 paths.cache_dir="${CACHE:-$X/cache}" \
    paths.output_dir="$X/$name" "$@" > "$X/$name.log" 2>&1
  echo "$(date +%T) end $name rc=$?" >> "$X/lane.log"
}
run simswap_s0 experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 total_kimg=2 val_every_kimg=1
run faceshifter_s0b experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 total_kimg=2 val_every_kimg=1
run ghost_swap_12k experiment=ghost_swap val_every_kimg=4
