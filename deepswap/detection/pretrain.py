"""A warm start for the co-trained detector: pre-training on generator-free pseudo-fakes (issue 11 §2).

The detector that trains inside the swap GAN sees a few hundred batches, mostly of one generator's
swaps, and learns that generator's fingerprint. Pre-trained first on self-blended reals (SBI) and on
reals regenerated whole by small autoencoders, it starts the game knowing the traces of pasting and of
re-synthesis, which is what transfers to manipulations it never sees (the leave-one-family-out table
of ``deepswap.detection.lofo``). Co-training then adds the generator's own swaps on top.

The pre-trained weights are cached like the identity encoders: ``<cache_dir>/<hash>.pt``, the hash over
the detector's config, the settings below, the world and the code that makes the pseudo-fakes. Only the
synthetic world has the face masks SBI needs here; real data starts the detector from scratch.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

import torch
from hydra.utils import instantiate
from torch import nn

from deepswap.utils.fresh_process import finished_ok, start_in_fresh_process

log = logging.getLogger(__name__)

KINDS = ("sbi", "autoencoder", "autoencoder_face", "tint")
PRETRAIN_KEYS = {"steps", "batch_size", "lr", "pairs", "kinds", "seed", "eval_every", "ema", "hflip",
                 "postprocess", "fresh_process"}  # fmt: skip
# settings that change how the warm start is computed, not what it is: left out of the cache key
NOT_KEYED = {"fresh_process"}


def check_pretrain(settings: dict | None) -> dict:
    """Validated ``detector.pretrain`` settings with defaults (``steps: 0`` = off)."""
    from deepswap.detection.train_detector import check_ema, check_hflip

    s = {"steps": 0, "batch_size": 32, "lr": 1e-3, "pairs": 2048, "kinds": list(KINDS), "seed": 0,
         "eval_every": 250, "ema": None, "hflip": 0.0, "postprocess": None, "fresh_process": False,
         **(settings or {})}  # fmt: skip
    unknown = set(s) - PRETRAIN_KEYS
    if unknown:
        raise ValueError(
            f"unknown detector.pretrain key(s) {sorted(unknown)}; valid: {sorted(PRETRAIN_KEYS)}"
        )
    bad = [k for k in s["kinds"] if k not in KINDS]
    if bad or not s["kinds"]:
        raise ValueError(
            f"detector.pretrain.kinds must be a non-empty list of {list(KINDS)}, got {s['kinds']}"
        )
    for key in ("steps", "batch_size", "pairs", "eval_every"):
        if int(s[key]) < 0 or (key != "steps" and int(s[key]) == 0):
            raise ValueError(f"detector.pretrain.{key} must be a positive integer, got {s[key]}")
    s["ema"], s["hflip"] = check_ema(s["ema"]), check_hflip(s["hflip"])
    if s["postprocess"] is not None:
        from deepswap.detection.postprocess import PostProcess

        try:
            PostProcess(**dict(s["postprocess"]))
        except (TypeError, ValueError) as err:
            raise ValueError(
                "detector.pretrain.postprocess must be PostProcess settings (p_jpeg, quality, p_blur, "
                f"sigma, p_resize, scale, p_noise, noise_std, rounding) or null: {err}"
            ) from err
        s["postprocess"] = dict(s["postprocess"])
    if not isinstance(s["fresh_process"], bool):
        raise ValueError(f"detector.pretrain.fresh_process must be true or false, got {s['fresh_process']!r}")
    return s


def _code_digest() -> str:
    """Digest of the renderer's and the detection package's code (pseudo-fakes, networks, training)."""
    import deepswap.data.synthetic as synthetic
    import deepswap.detection as detection
    from deepswap.training.identity import files_digest

    folders = (Path(synthetic.__file__).parent, Path(detection.__file__).parent)
    return files_digest([f for folder in folders for f in sorted(folder.glob("*.py"))])


def warm_start_path(
    net_config: dict, world_config: dict, size: int, settings: dict, cache_dir: str | Path,
    sbi_options: dict | None = None,
) -> Path:  # fmt: skip
    """The cache file of :func:`pretrain_detector` for these arguments (it may not exist yet)."""
    from deepswap.training.identity import config_hash

    s = check_pretrain(settings)
    # how it is computed (NOT_KEYED) stays out of the key, and so do zero flips and no post-processing
    # (older runs' keys hold)
    keyed = {k: v for k, v in s.items() if k not in NOT_KEYED and (k not in ("hflip", "postprocess") or v)}
    key = {"net": net_config, "world": world_config, "size": int(size), "sbi": sbi_options or {},
           "settings": keyed, "code": _code_digest()}  # fmt: skip
    return Path(cache_dir).expanduser() / f"{config_hash(key)}.pt"


def start_warm_start(
    net_config: dict, world_config: dict, size: int, settings: dict, cache_dir: str | Path,
    sbi_options: dict | None = None, threads: int = 1, grow_to: int | None = None,
) -> subprocess.Popen | None:  # fmt: skip
    """Start :func:`pretrain_detector` in a child process with ``threads`` torch threads and return it
    without waiting, so that other set-up work can share the machine; ``None`` when the cache file is
    already there. The caller waits for the child; :func:`pretrain_detector` then loads its file.
    ``grow_to``: the threads it takes on :func:`deepswap.utils.fresh_process.grow`."""
    if warm_start_path(net_config, world_config, size, settings, cache_dir, sbi_options).is_file():
        return None
    child = dict(net_config=net_config, world_config=world_config, size=int(size), cache_dir=str(cache_dir),
                 settings={**check_pretrain(settings), "fresh_process": False},
                 sbi_options=sbi_options)  # fmt: skip
    return start_in_fresh_process(
        "deepswap.detection.pretrain:pretrain_detector", child, "the detector's warm start", threads, grow_to
    )


def pretrain_detector(
    net_config: dict, world_config: dict, size: int, settings: dict, cache_dir: str | Path,
    sbi_options: dict | None = None,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """The state_dict of ``net_config``'s detector after ``settings["steps"]`` steps on the world's train
    identities (reals against the pseudo-fakes ``settings["kinds"]``), the step kept being the best val
    AUC on the val identities' reals against the same kinds. Cached.

    ``settings["fresh_process"]``: on a cache miss, train in a child Python process whose OpenMP threads
    busy-wait (``OMP_WAIT_POLICY=ACTIVE``), with this process's torch thread count, then load its cache
    file. The training process sets the passive policy for its data-loader workers, which makes this
    small network's steps about 1.4x slower (experiments/2026-12-07_flip §3)."""
    from deepswap.data.synthetic import SyntheticFaceWorld
    from deepswap.detection.data import synthetic_split
    from deepswap.detection.train_detector import fit, load_detector

    s = check_pretrain(settings)
    path = warm_start_path(net_config, world_config, size, s, cache_dir, sbi_options)
    if s["fresh_process"] and not path.is_file():
        # writes the cache file loaded below (or fails, and this process trains)
        child = start_warm_start(net_config, world_config, size, s, cache_dir, sbi_options,
                                 threads=torch.get_num_threads())  # fmt: skip
        if child is not None:
            finished_ok(child, "the detector's warm start")
    if path.is_file():
        log.info("co-trained detector: pre-trained weights loaded from cache %s", path)
        return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    log.info("co-trained detector: pre-training %d steps on %s pseudo-fakes; cached at %s", s["steps"],
             "+".join(s["kinds"]), path)  # fmt: skip
    world = SyntheticFaceWorld(**world_config)
    fakes = {f"pseudo:{k}": k for k in s["kinds"]}
    train = synthetic_split(world, "train", int(s["pairs"]), size, fakes, int(s["seed"]), fresh_sbi=True,
                            sbi_options=sbi_options)  # fmt: skip
    val = synthetic_split(world, "val", max(64, int(s["pairs"]) // 8), size, fakes, int(s["seed"]),
                          sbi_options=sbi_options)  # fmt: skip
    torch.manual_seed(int(s["seed"]))
    net: nn.Module = instantiate(net_config)
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(net, train, val, tmp, net_config, steps=int(s["steps"]), batch_size=int(s["batch_size"]),
                     lr=float(s["lr"]), eval_every=int(s["eval_every"]), seed=int(s["seed"]),
                     ema=s["ema"], hflip=s["hflip"], postprocess=s["postprocess"],
                     log=lambda m: log.info("detector pre-training: %s", m))  # fmt: skip
        state_dict = load_detector(Path(tmp) / "checkpoints" / "best.pt")[0].state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(".tmp")
    torch.save({"state_dict": state_dict, "val_auc": result["best"], "step": result["best_step"]}, tmp_path)
    tmp_path.replace(path)
    log.info("co-trained detector: pre-trained, val AUC %.3f at step %d", result["best"], result["best_step"])
    return state_dict


WARM_START_MEMBER = "warmstart:"


def warm_start_args(cfg) -> tuple:
    """The positional arguments of :func:`pretrain_detector` (and :func:`start_warm_start`) for a composed
    ``configs/train.yaml``: its detector's network and pre-training settings, its world and size."""
    from omegaconf import OmegaConf

    det = cfg.detector
    return (
        OmegaConf.to_container(det.net, resolve=True),
        OmegaConf.to_container(cfg.data.world, resolve=True),
        int(cfg.data.size),
        OmegaConf.to_container(det.pretrain, resolve=True),
        Path(str(cfg.paths.cache_dir)).expanduser() / "detector",
        OmegaConf.to_container(det.sbi, resolve=True) if det.get("sbi") else None,
    )


def warm_start_options() -> list[str]:
    """The detector options a ``warmstart:<option>`` ensemble member may name (every one but ``off``)."""
    from deepswap.utils.config_check import group_options

    return [o for o in group_options("detector") if o != "off"]


def warm_start_option(spec: str) -> str:
    """``"warmstart:<detector option>"`` (or the bare option) -> the option; a ValueError lists them."""
    name = spec[len(WARM_START_MEMBER) :] if spec.startswith(WARM_START_MEMBER) else spec
    options = warm_start_options()
    if name not in options:
        raise ValueError(
            f"{spec}: unknown detector option {name!r}; expected {WARM_START_MEMBER}<one of {options}>"
        )
    return name


def warm_start_member(
    spec: str, device: str = "cpu", cache_dir: str | Path | None = None
) -> tuple[nn.Module, dict]:
    """``"warmstart:<detector option>"`` (e.g. ``warmstart:resnet_post``) -> ``(network, metadata)``: the warm
    start that ``python -m deepswap.train detector=<option>`` would begin co-training from (the main job's
    world and size; trained on the world's train identities, or loaded from ``<cache_dir>/detector``),
    flip-averaged when the option sets ``tta: flip``. An ensemble member that needs no training run."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from deepswap.detection.networks import with_tta
    from deepswap.utils.config_check import CONFIG_DIR

    name = warm_start_option(spec)
    overrides = [f"detector={name}"] + ([f"paths.cache_dir={cache_dir}"] if cache_dir is not None else [])
    if GlobalHydra.instance().is_initialized():  # inside a deepswap Hydra app: its search path is configs/
        cfg = compose("train", overrides=overrides)
    else:
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            cfg = compose("train", overrides=overrides)
    det = cfg.detector
    if not int((det.get("pretrain") or {}).get("steps") or 0):
        raise ValueError(f"{spec!r}: detector={name} has no warm start (pretrain.steps is 0)")
    args = warm_start_args(cfg)
    net = instantiate(OmegaConf.create(args[0]))
    net.load_state_dict(pretrain_detector(*args))
    net = with_tta(net, det.get("tta")).eval().to(device)
    return net, {"path": f"{WARM_START_MEMBER}{name}", "step": None, "config": args[0], "size": args[2]}
