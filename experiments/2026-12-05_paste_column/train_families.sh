#!/bin/bash
# The generator families, one torch thread per run, from a frozen worktree WT (default /tmp/wt50, at 7741f00).
export PATH=/work/main/.venv/bin:$PATH
WT=${WT:-/tmp/wt50}; export WT OUT=${X:-/tmp/x52}
L=$WT/experiments/2026-12-05_restore/run_lane.sh
bash $L ghost_s0 experiment=ghost_swap seed=0
bash $L simswap_s0 experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 total_kimg=2 val_every_kimg=1 detector=off final_eval.enabled=false seed=0
bash $L faceshifter_s0 experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 total_kimg=2 val_every_kimg=1 detector=off final_eval.enabled=false seed=0
bash $L deepswap_s0 seed=0   # the main job as it ships (also the make-train detector scored below)
