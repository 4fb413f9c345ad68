#!/bin/bash
# families for LOFO: default main job (deepswap-lite) 4 kimg s0, SimSwap-style and FaceShifter-style 2 kimg s0
export PATH=/work/main/.venv/bin:$PATH
while pgrep -f "deepswap.detect lofo" > /dev/null; do sleep 10; done
R="WT=/tmp/wt30 OUT=/tmp/x30"
WT=/tmp/wt30 OUT=/tmp/x30 bash /tmp/wt30/experiments/2026-12-04_aad_decoder/run_lane.sh simswap_s0 experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 total_kimg=2 val_every_kimg=1 detector=off final_eval.enabled=false seed=0
WT=/tmp/wt30 OUT=/tmp/x30 bash /tmp/wt30/experiments/2026-12-04_aad_decoder/run_lane.sh faceshifter_s0 experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 total_kimg=2 val_every_kimg=1 detector=off final_eval.enabled=false seed=0
WT=/tmp/wt30 OUT=/tmp/x30 bash /tmp/wt30/experiments/2026-12-04_aad_decoder/run_lane.sh deepswap_s0 seed=0
