#!/bin/bash
# SimSwap-style and FaceShifter-style families for the LOFO table: 2 seeds, checkpoints at 1 and 2 kimg.
# CODE: a frozen worktree of the code (default: this checkout); OUT: where the runs go (default /tmp/fam).
CODE=${CODE:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${OUT:-/tmp/fam}
PY=${PY:-/work/main/.venv/bin/python}
mkdir -p "$OUT" && cd "$CODE" || exit 1
common="total_kimg=2 val_every_kimg=1 detector=off logger=csv final_eval.enabled=false"
run() { name=$1; shift; echo "== $name $(date)"; PYTHONPATH=$CODE $PY -m deepswap.train $common "$@" hydra.run.dir=$OUT/$name > $OUT/$name.log 2>&1; echo "rc $? $(date)"; }
run simswap_s0 experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 seed=0
run faceshifter_s0 experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 seed=0
run simswap_s1 experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 seed=1
run faceshifter_s1 experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 seed=1
