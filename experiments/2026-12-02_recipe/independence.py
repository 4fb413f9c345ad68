"""Independence of the evaluation oracle from each synthetic training encoder, at full size (64 px):
PGD (eps 8/255, 20 steps) on 64 test renders towards other identities through the training encoder,
and how much the oracle's cosine to those identities rises (issue 9: less than a quarter as much).

    python experiments/2026-12-02_recipe/independence.py   # writes independence_64px.json here
"""

import json
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from deepswap.data.synthetic import SyntheticFaceWorld  # noqa: E402
from deepswap.evaluation.independence import attack_renders, attack_transfer  # noqa: E402

HERE = Path(__file__).resolve().parent
out = {}
with initialize_config_dir(str(HERE.parents[1] / "configs"), version_base=None):
    oracle = world = None
    for name in ("synthetic", "synthetic_factors"):
        cfg = compose("train", overrides=[f"identity={name}"])
        enc = instantiate(cfg.identity).eval()
        if oracle is None:
            oracle = instantiate(cfg.eval_identity).eval()
            world = SyntheticFaceWorld(**cfg.data.world)
            images, chosen = attack_renders(world, 64, n=64)
        r = attack_transfer(enc, oracle, images, chosen, eps=8 / 255, steps=20)
        r["encoder_top1"] = getattr(enc, "test_top1", None)
        out[name] = r
        print(
            f"identity={name}: top-1 {r['encoder_top1']}, encoder gain {r['encoder_gain']:.3f}, "
            f"oracle gain {r['scorer_gain']:.3f}, ratio {r['ratio']:.3f} (bar < 0.25)",
            flush=True,
        )
(HERE / "independence_64px.json").write_text(json.dumps(out, indent=1))
