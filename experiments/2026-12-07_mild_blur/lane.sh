#!/bin/bash
# lane.sh TAG [overrides]: the main job at seed 0 with the given detector overrides, one thread
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE WANDB_MODE=disabled PYTHONPATH=/tmp/wt182
cd /tmp/wt182 && tag=$1; shift
/work/main/.venv/bin/python -m deepswap.train logger=csv seed=0 paths.cache_dir=/root/.cache/deepswap \
  paths.output_dir=/tmp/x180/$tag "$@" > /tmp/x180/$tag.log 2>&1
echo "$tag rc=$?" >> /tmp/x180/lanes.txt
