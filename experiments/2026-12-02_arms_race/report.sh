#!/usr/bin/env bash
# The arms-race report over the 6 runs of train_runs.sh: CODE=/tmp/wtX OUT=/tmp/arms bash report.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CODE=${CODE:-$(cd "$HERE/../.." && pwd)}
OUT=${OUT:-/tmp/arms}
PY=${PY:-/work/main/.venv/bin/python}
runs=()
for seed in 0 1 2; do for mode in observer adversarial; do runs+=("--run" "${mode}_s${seed}=$OUT/${mode}_s${seed}"); done; done
cd /tmp
/usr/bin/time -v env PYTHONPATH="$CODE" "$PY" -m deepswap.detection.arms_race "${runs[@]}" --out "$OUT/report" \
  --num-pairs 200 --seed 0 > "$OUT/report.log" 2>&1
