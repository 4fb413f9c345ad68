"""The main job's detector as pre-training leaves it, before any co-training, saved as a detector file.

    python pretrained_detector.py OUT.pt [train overrides...]

Composes ``configs/train.yaml`` with the overrides (e.g. ``detector.pretrain.steps=2000``), runs (or loads
from the cache) :func:`deepswap.detection.pretrain.pretrain_detector` exactly as ``deepswap.train`` does,
and writes ``{"state_dict", "config"}``, which ``deepswap.detect lofo``'s ``+lofo.score.NAME=OUT.pt`` scores.
"""

import logging
import sys
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from deepswap.detection.pretrain import pretrain_detector

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def main(out: str, overrides: list[str]) -> None:
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    det = cfg.detector
    net = OmegaConf.to_container(det.net, resolve=True)
    state = pretrain_detector(
        net,
        OmegaConf.to_container(cfg.data.world, resolve=True),
        int(cfg.data.size),
        OmegaConf.to_container(det.pretrain, resolve=True),
        Path(str(cfg.paths.cache_dir)).expanduser() / "detector",
        sbi_options=OmegaConf.to_container(det.sbi, resolve=True) if det.get("sbi") else None,
    )
    torch.save({"state_dict": state, "config": net, "overrides": overrides}, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    main(sys.argv[1], sys.argv[2:])
