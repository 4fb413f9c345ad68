#!/bin/bash
cd /tmp/wtF
PY=/work/main/.venv/bin/python
common="total_kimg=2 val_every_kimg=1 detector=off logger=csv final_eval.enabled=false"
run() { name=$1; shift; echo "== $name $(date)"; PYTHONPATH=/tmp/wtF $PY -m deepswap.train $common "$@" hydra.run.dir=/tmp/fam/$name > /tmp/fam/$name.log 2>&1; echo "rc $? $(date)"; }
run simswap_s0 experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 seed=0
run faceshifter_s0 experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 seed=0
run simswap_s1 experiment=simswap_synthetic generator.base_channels=32 generator.max_channels=256 seed=1
run faceshifter_s1 experiment=faceshifter_synthetic generator.n_down=5 generator.max_channels=256 seed=1
