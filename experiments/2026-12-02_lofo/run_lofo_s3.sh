#!/bin/bash
# Third session: the recipe with and without SBI's frequency jitter on the new families (families2.sh).
#   CODE=/tmp/wtL bash run_lofo_s3.sh TAG [overrides]   -> /tmp/lofo/TAG/{lofo.json,lofo.md}
source "$(cd "$(dirname "$0")" && pwd)/families2.sh"  # before any cd
CODE=${CODE:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${PY:-/work/main/.venv/bin/python}
cd /tmp && mkdir -p /tmp/lofo
COMMON="train.steps=1500 train.eval_every=250 seed=0 detect_recipe=generalise"
tag=$1; shift
echo "== $tag $(date)"
PYTHONPATH=$CODE $PY -m deepswap.detect lofo $COMMON "${FAMS[@]}" "$@" output_dir=/tmp/lofo/$tag > /tmp/lofo/$tag.log 2>&1
echo "rc $? $(date)"
