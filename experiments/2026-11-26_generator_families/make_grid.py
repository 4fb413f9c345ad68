"""Sample grid of the generator-family comparison: the same 8 held-out pairs for every family.

python experiments/2026-11-26_generator_families/make_grid.py /work/families
Columns: source | target | deepswap | simswap | faceshifter | ground truth.
"""

import sys
from pathlib import Path

import cv2

from deepswap.evaluation.report import comparison_grid

root = Path(sys.argv[1])
families = ("deepswap", "simswap", "faceshifter")
grid = comparison_grid({f: root / f"eval_{f}" for f in families}, pairs=list(range(8)), scale=2)
out = Path(__file__).parent / "samples_8_pairs.png"
cv2.imwrite(str(out), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
print(f"wrote {out} ({grid.shape[1]}x{grid.shape[0]})")
