"""World v2's instruments, measured: the footprint table, the training encoder's and the oracle's test
top-1 and per-factor R^2, the independence test, and the reference rows of the protocol with intervals.

    python experiments/2026-12-01_world_v2/instruments.py [--out experiments/2026-12-01_world_v2]

Trains (or loads from ~/.cache/deepswap/identity) the default encoders of configs/identity/synthetic.yaml
and configs/oracle/residual.yaml, exactly as `make train` does, and writes instruments.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from deepswap.data.synthetic import SyntheticFaceWorld  # noqa: E402
from deepswap.data.synthetic.footprint import footprint_table, identity_footprint  # noqa: E402
from deepswap.evaluation import protocol, report  # noqa: E402
from deepswap.evaluation.independence import attack_renders, attack_transfer  # noqa: E402
from deepswap.evaluation.scorers import OracleScorer  # noqa: E402
from deepswap.training.identity import identity_retrieval  # noqa: E402

CONFIGS = str(Path(__file__).resolve().parents[2] / "configs")


@torch.no_grad()
def linear_probe_r2(embed, world, size: int, n: int = 1024) -> dict[str, float]:
    """Per-factor R^2 of a ridge regression from an embedding to the identity factors: fit on renders of
    the val identities, scored on renders of the test identities."""

    def data(split, seed):
        ids = list(world.identity_ids(split))
        picks = [ids[i % len(ids)] for i in range(n)]
        images = world.views(split, picks, 1, size, seed=seed).image * 2 - 1
        x = torch.cat([F.normalize(embed(b).float(), dim=1) for b in images.split(128)])
        return x, torch.stack([world.identity_factors(i) for i in picks])

    xv, yv = data("val", 21)
    xt, yt = data("test", 22)
    xv1, xt1 = torch.cat([xv, torch.ones(len(xv), 1)], 1), torch.cat([xt, torch.ones(len(xt), 1)], 1)
    w = torch.linalg.solve(xv1.T @ xv1 + 1e-2 * torch.eye(xv1.shape[1]), xv1.T @ yv)
    r2 = 1 - (xt1 @ w - yt).square().mean(0) / yt.var(0, unbiased=False)
    return {k: round(float(v), 3) for k, v in zip(world.identity_names, r2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent))
    ap.add_argument("--pairs", type=int, default=200)
    args = ap.parse_args()
    with initialize_config_dir(CONFIGS, version_base="1.3"):
        cfg = compose("train")
    world = SyntheticFaceWorld(**cfg.data.world)
    size = int(cfg.data.size)
    out: dict = {"footprint": identity_footprint(world, attribute_draws=16)}
    print(footprint_table(out["footprint"]), flush=True)

    timings = {}
    for key, node in (("encoder", cfg.identity), ("oracle", cfg.eval_identity)):
        t0, c0 = time.time(), time.process_time()
        net = instantiate(node)
        timings[key] = {"wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1)}
        out[key] = net
    encoder, oracle = out.pop("encoder"), out.pop("oracle")
    out["timings_this_run"] = timings  # zero-ish when loaded from the cache
    out["encoder_test_top1"] = identity_retrieval(encoder, world, size, "test")
    out["oracle_test_top1"] = identity_retrieval(oracle, world, size, "test")
    out["encoder_probe_r2"] = linear_probe_r2(encoder, world, size)
    out["oracle_r2"] = {k: round(float(v), 3) for k, v in zip(world.identity_names, oracle.r2)}
    print(
        f"test top-1 over {len(world.identity_ids('test'))} identities: encoder "
        f"{100 * out['encoder_test_top1']:.1f}%, oracle {100 * out['oracle_test_top1']:.1f}%",
        flush=True,
    )
    print("oracle R^2:", out["oracle_r2"], "\nencoder linear-probe R^2:", out["encoder_probe_r2"], flush=True)

    images, chosen = attack_renders(world, size, n=64)
    for eps in (4 / 255, 8 / 255):
        key = f"attack_eps{round(eps * 255)}"
        out[key] = attack_transfer(encoder, oracle, images, chosen, eps=eps, steps=20)
        print(key, json.dumps(out[key]), flush=True)

    pairs = protocol.synthetic_pairs(world, args.pairs, size, seed=0, split="test")
    scorer = OracleScorer(oracle, factor_names=world.identity_names)
    per_pair = protocol.score_outputs(protocol.reference_outputs(pairs), pairs, scorer)
    rows, unc = protocol.summarize(per_pair), protocol.uncertainty(per_pair)
    out["reference_rows"], out["reference_intervals"] = rows, unc["intervals"]
    out["noise_floor"] = protocol.oracle_noise_floor(scorer, pairs)
    print(report.format_table(rows, "reference rows, test identities", unc["intervals"]))
    print(report.format_noise_floor(out["noise_floor"]))
    md = report.format_markdown(rows, unc["intervals"])
    Path(args.out, "instruments.json").write_text(json.dumps(out, indent=2, default=float))
    Path(args.out, "reference_rows.md").write_text(md + "\n")


if __name__ == "__main__":
    main()
