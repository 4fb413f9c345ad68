#!/usr/bin/env bash
# The arms-race report over the runs of train_runs.sh: CODE=/tmp/wtX OUT=/tmp/arms [SEEDS="0 1 2"] bash report.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:-$(cd "$HERE/../.." && pwd)}
OUT=${OUT:-/tmp/arms}
PY=${PY:-/work/main/.venv/bin/python}
SEEDS=${SEEDS:-0 1 2}
runs=()
for seed in $SEEDS; do for mode in observer adversarial; do runs+=("--run" "${mode}_s${seed}=$OUT/${mode}_s${seed}"); done; done
cd /tmp
/usr/bin/time -v env PYTHONPATH="$CODE" "$PY" -m deepswap.detection.arms_race "${runs[@]}" --out "$OUT/report" \
  --num-pairs 200 --seed 0 > "$OUT/report.log" 2>&1
