#!/bin/bash
export PATH=/work/main/.venv/bin:$PATH
WT=/tmp/wt30 OUT=/tmp/x30 bash /tmp/wt30/experiments/2026-12-04_aad_decoder/run_lane.sh ghost_s0 experiment=ghost_swap seed=0
WT=/tmp/wt30 OUT=/tmp/x30 bash /tmp/wt30/experiments/2026-12-04_aad_decoder/run_lane.sh ghost_s1 experiment=ghost_swap seed=1
