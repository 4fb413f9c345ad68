#!/bin/bash
# Third session: the co-trained detectors of the arms-race runs (4 kimg, committed co-training recipe)
# and of two co-training variants (detector.lr=1e-3, with and without post-processing), scored as they
# come out of training on every family's test fakes (families2.sh), no training: lofo.folds=false.
source "$(cd "$(dirname "$0")" && pwd)/families2.sh"  # before any cd
CODE=${CODE:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=${PY:-/work/main/.venv/bin/python}
cd /tmp && mkdir -p /tmp/lofo
S=()
for r in observer_s0 observer_s1 observer_s2 adversarial_s0 adversarial_s1 adversarial_s2; do S+=("+lofo.score.$r=$A/$r/checkpoints/last.ckpt"); done
for r in lr1e3 lr1e3_nopp; do S+=("+lofo.score.cot_$r=/tmp/cot/$r/checkpoints/last.ckpt"); done
PYTHONPATH=$CODE $PY -m deepswap.detect lofo lofo.folds=false lofo.probe=null detect_recipe=generalise "${FAMS[@]}" "${S[@]}" \
  output_dir=/tmp/lofo/cotrained_s3 > /tmp/lofo/cotrained_s3.log 2>&1
echo "rc $?"
