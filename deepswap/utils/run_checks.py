"""What each command checks before it starts: ``check_train``, ``check_evaluate``, ``check_detect``.

Each raises a :class:`deepswap.errors.DeepswapError` naming the options and the fix (helpers in
:mod:`deepswap.utils.config_rules`).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from deepswap.errors import CheckpointError, MissingFileError, UsageError
from deepswap.utils.config_rules import (
    DETECT_SELECT,
    MISSING,
    SYNTHETIC_ENCODER,
    SYNTHETIC_ONLY_KEYS,
    THRESHOLD_RULES,
    choice,
    existing,
    flag,
    gpu_needed,
    number,
    one_of,
    size_for_generator,
    torch_file,
    value,
)

REAL_ENCODER_HINT = (
    "with real faces use identity=arcface identity.path=<arcface_torch backbone.pth> (or identity=onnx "
    "identity.path=<w600k_r50.onnx>) and eval_identity=null"
)
PATH_HINTS = {  # the encoder's loader -> (what its path is, where it comes from)
    "load_arcface_backbone": ("backbone.pth", "an arcface_torch backbone.pth, or set DEEPSWAP_ARCFACE"),
    "load_recognizer": (
        "w600k_r50.onnx",
        "an insightface recognition model, or set DEEPSWAP_RECOGNIZER_ONNX",
    ),
}


def detector_mode(cfg: DictConfig) -> str:
    """``cfg.detector.mode`` checked; a bare YAML ``off`` (read as false) and a missing group mean off."""
    from deepswap.training.detector_step import MODES

    det = cfg.get("detector")
    mode = "off" if not det or det.get("mode") in (None, False) else str(det.mode)
    if mode not in MODES:
        raise UsageError(f"detector.mode={mode!r} is not an option; valid: {', '.join(MODES)}")
    if mode != "off" and not det.get("net"):
        raise UsageError(f"detector.mode={mode} needs detector.net: pick one, e.g. detector=small")
    pre = det.get("pretrain") if det else None
    if mode != "off" and pre is not None:
        from deepswap.detection.pretrain import check_pretrain

        try:
            check_pretrain(OmegaConf.to_container(pre, resolve=True))
        except (ValueError, TypeError) as e:
            raise UsageError(str(e)) from None
    return mode


def check_train(cfg: DictConfig) -> None:
    """Everything ``train(cfg)`` needs that can be checked before any work."""
    number(cfg, "total_kimg", 0, above=True)
    number(cfg, "val_every_kimg", 0, above=True)
    for key in ("data.batch_size", "data.val_pairs"):
        number(cfg, key, 1, integer=True)
    number(cfg, "data.num_workers", 0, integer=True)
    if value(cfg, "data.train_length") is not None:
        number(cfg, "data.train_length", 1, integer=True)
    if value(cfg, "final_eval.enabled"):
        number(cfg, "final_eval.num_pairs", 1, integer=True)
        number(cfg, "final_eval.batch_size", 1, integer=True)
        flag(cfg, "final_eval.paste")
    _data(cfg)
    _identity(cfg, "identity")
    _identity(cfg, "eval_identity")
    size_for_generator(cfg, value(cfg, "data.size"))
    _id_dim(cfg)
    detector_mode(cfg)
    trainer = choice(cfg, "trainer", "trainer.accelerator=gpu")
    gpu_needed(
        value(cfg, "trainer.accelerator"), trainer, "use trainer=cpu (or ddp_cpu), or run on a GPU machine"
    )
    _resume(cfg)


def _data(cfg: DictConfig) -> None:
    target = str(value(cfg, "data._target_", ""))
    data = choice(cfg, "data", "data")
    if target.endswith("FolderDataModule") or value(cfg, "data.root", None) is not None:
        root = value(cfg, "data.root")
        if root is MISSING or root in (None, ""):
            raise UsageError(
                f"{data} needs data.root=<folder with one sub-folder of aligned face crops per identity> "
                "(or set DEEPSWAP_DATA)"
            )
        existing(root, "data.root", "a folder with one sub-folder per identity", folder=True)
        for key in ("data.val_root", "data.test_root"):
            if value(cfg, key) not in (None, ""):
                existing(value(cfg, key), key, "a folder of held-out identities", True)
    if value(cfg, "data.world") is not None:
        one_of(cfg, "data.world.skin_tone_side", ("target", "source"))
    weights = value(cfg, "loss.weights", None) or {}
    if any(weights.get(k, 0) for k in ("truth", "truth_perceptual")) and value(cfg, "data.world") is None:
        raise UsageError(
            f"loss={choice(cfg, 'loss', 'loss')} trains on the ground-truth swap, which only the synthetic "
            f"world has; use data=synthetic, or another loss (e.g. loss=deepswap)"
        )
    if weights.get("outside", 0) and value(cfg, "model.face_region", None) is None:
        raise UsageError(
            "loss.weights.outside > 0 needs a face region: set model.face_region={dilate_px: 4} "
            "(or loss.weights.outside=0)"
        )


def _identity(cfg: DictConfig, key: str) -> None:
    node = cfg.get(key)
    if node is None:
        return
    name = choice(cfg, "identity" if key == "identity" else "identity@eval_identity", key)
    target = str(node.get("_target_") or "")
    if not target:
        raise UsageError(
            f"{key} has settings ({', '.join(map(str, node.keys()))}) but no encoder (_target_): debug=fast "
            f"shrinks the synthetic encoders and an experiment turned {key} off; add {key}=null to the "
            f"command line, or pick an encoder, e.g. {key}=synthetic"
        )
    if target.endswith(SYNTHETIC_ENCODER):
        try:
            world = value(cfg, f"{key}.world")
        except InterpolationResolutionError:
            world = None
        if world is None:
            raise UsageError(
                f"{name} is trained on the synthetic world, and {choice(cfg, 'data', 'this data')} has none: "
                + (REAL_ENCODER_HINT if key == "identity" else "add eval_identity=null")
            )
        return
    extra = [k for k in SYNTHETIC_ONLY_KEYS if k in node]
    if extra:
        raise UsageError(
            f"{key}.{extra[0]} is a setting of the synthetic encoders, and {name} has none: debug=fast "
            f"(which sets {', '.join(f'{key}.{k}' for k in extra)}) cannot be combined with {name}; "
            "drop debug=fast and shrink the run yourself, e.g. total_kimg=0.064 data.batch_size=4"
        )
    file, hint = next((h for fn, h in PATH_HINTS.items() if target.endswith(fn)), ("file", "its weights"))
    path = value(cfg, f"{key}.path")
    if path in (None, "", MISSING):
        raise UsageError(f"{name} needs {key}.path=<{file}> ({hint}); deepswap never downloads weights")
    p = existing(path, f"{key}.path", hint)
    if p.suffix != ".onnx":
        torch_file(p, f"{key}.path", hint)


def _embedding_dim(cfg: DictConfig) -> tuple[int | None, str]:
    target = str(value(cfg, "identity._target_", ""))
    if target.endswith(SYNTHETIC_ENCODER):
        return value(cfg, "identity.encoder.embedding_size"), "identity.encoder.embedding_size"
    if target.endswith("load_arcface_backbone"):
        return value(cfg, "identity.num_features", 512), "the ArcFace backbone's embedding"
    return None, ""  # an ONNX graph: known once loaded


def _id_dim(cfg: DictConfig) -> None:
    id_dim = number(cfg, "generator.id_dim", 1, integer=True)
    dim, where = _embedding_dim(cfg)
    if isinstance(dim, int) and dim != id_dim:
        raise UsageError(
            f"generator.id_dim={id_dim} does not match the identity encoder's {dim}-d embedding "
            f"({choice(cfg, 'identity', 'identity')}, {where}={dim}): set generator.id_dim={dim}"
        )


def resume_path(cfg: DictConfig) -> Path | None:
    """``ckpt_path`` as a file (``last``: ``<paths.output_dir>/checkpoints/last.ckpt``), or None."""
    path = value(cfg, "ckpt_path")
    if path in (None, ""):
        return None
    if path == "last":
        try:
            out = value(cfg, "paths.output_dir")
        except InterpolationResolutionError:
            out = None
        if not isinstance(out, str):
            return None  # the run folder is known once Hydra starts; train() checks it then
        path = str(Path(out) / "checkpoints" / "last.ckpt")
    if not Path(path).is_file():
        raise MissingFileError(
            f"ckpt_path={path} does not exist. Pass the last.ckpt of an earlier run "
            "(<run>/checkpoints/last.ckpt) to resume it."
        )
    return Path(path)


def _resume(cfg: DictConfig) -> None:
    from deepswap.utils.safeload import load_weights

    path = resume_path(cfg)
    if path is None:
        return
    torch_file(path, "ckpt_path", "a deepswap training checkpoint (<run>/checkpoints/last.ckpt)")
    try:
        ckpt = load_weights(path, "deepswap training checkpoint")
    except CheckpointError as e:
        raise CheckpointError(f"ckpt_path={e}") from None
    meta = ckpt.get("deepswap") if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or not meta.get("config"):
        raise CheckpointError(
            f"ckpt_path={path} is not a deepswap training checkpoint (no 'deepswap' metadata)"
        )
    for group in ("generator", "discriminator"):
        was, now = meta["config"].get(group) or {}, value(cfg, group) or {}
        keys = sorted({*was, *now}, key=str)
        diff = [
            f"{group}.{k}: {was.get(k)!r} there, {now.get(k)!r} here"
            for k in keys
            if was.get(k) != now.get(k)
        ]
        if diff:
            raise UsageError(
                f"ckpt_path={path} was trained with another {group} ({'; '.join(diff[:3])}): resume with "
                f"the checkpoint's {group} settings, or start a new run without ckpt_path"
            )


def check_evaluate(cfg: DictConfig) -> None:
    """``configs/evaluate.yaml`` composed: a checkpoint that exists, counts, device."""
    ckpt = value(cfg, "checkpoint")
    what = (
        "a training checkpoint (RUN/checkpoints/last.ckpt) or an export folder of python -m deepswap.export"
    )
    if ckpt is MISSING or ckpt in (None, ""):
        raise UsageError(f"evaluate needs checkpoint=<path>: {what}")
    path = Path(str(ckpt)).expanduser()
    if not path.exists():
        raise MissingFileError(f"checkpoint={ckpt} does not exist; give {what}")
    if path.is_file():
        torch_file(path, "checkpoint", what)
    if value(cfg, "num_pairs") is not None:  # null: one pair per identity of the split
        number(cfg, "num_pairs", 1, integer=True)
    number(cfg, "batch_size", 1, integer=True)
    number(cfg, "seed", 0, integer=True)
    one_of(cfg, "split", ("val", "test"))
    flag(cfg, "paste")
    gpu_needed(value(cfg, "device"), f"device={value(cfg, 'device')}", "use device=cpu")


def _check_fake_kinds(cfg: DictConfig, command: str, kind: str) -> None:
    """Recipe pseudo-fakes are generator-free kinds; every LOFO family member is one or a path."""
    from deepswap.detection.data import GENERATOR_FREE

    for p in value(cfg, "recipe.pseudo_fakes") or []:
        if p not in GENERATOR_FREE:
            raise UsageError(f"recipe.pseudo_fakes has {p!r}; choose from {list(GENERATOR_FREE)}")
    if command != "lofo":
        return
    if kind != "synthetic":
        raise UsageError("lofo runs on the synthetic world: use detect_data=synthetic")
    families = value(cfg, "lofo.families") or {}
    if len(families) < 2:
        raise UsageError(f"lofo.families needs at least 2 families, got {list(families)}")
    for name, members in families.items():
        if not members:
            raise UsageError(f"lofo.families.{name} is empty: list its checkpoints or kinds")
        for m in members:
            if str(m) not in GENERATOR_FREE and not Path(str(m)).expanduser().exists():
                raise MissingFileError(
                    f"lofo.families.{name} lists {m}, which does not exist: give swap checkpoints or "
                    f"export folders, or kinds from {list(GENERATOR_FREE)}"
                )
    for name, path in (value(cfg, "lofo.score") or {}).items():
        torch_file(existing(path, f"lofo.score.{name}", "a detector file or a training checkpoint"),
                   f"lofo.score.{name}", "a detector file or a training checkpoint")  # fmt: skip


def _check_ensemble(cfg: DictConfig) -> None:
    """``detect ensemble``: at least two members that exist and a known way to combine them."""
    from deepswap.detection.networks import COMBINE
    from deepswap.detection.pretrain import WARM_START_MEMBER, warm_start_option

    one_of(cfg, "ensemble.combine", COMBINE)
    members = value(cfg, "ensemble.members") or []
    if isinstance(members, str) or len(members) < 2:
        raise UsageError(
            f"ensemble.members={members!r}: list at least 2 detectors, e.g. "
            "'ensemble.members=[A/checkpoints/best.pt,RUN/checkpoints/last.ckpt]'"
        )
    what = f"a detector file, a training checkpoint or {WARM_START_MEMBER}<detector option>"
    for i, member in enumerate(map(str, members)):
        if member.startswith(WARM_START_MEMBER):
            try:
                warm_start_option(member)
            except ValueError as err:
                raise UsageError(f"ensemble.members[{i}]={err}") from None
            continue
        torch_file(existing(member, f"ensemble.members[{i}]", what), f"ensemble.members[{i}]", what)


def check_detect(cfg: DictConfig) -> None:
    """``configs/detect.yaml`` composed: choices, counts and the files the command needs."""
    command = one_of(cfg, "command", ("train", "eval", "robustness", "lofo", "ensemble"))
    one_of(cfg, "threshold.rule", THRESHOLD_RULES)
    fpr = number(cfg, "threshold.fpr", 0, above=True)
    if fpr >= 1:
        raise UsageError(f"threshold.fpr={fpr} must be below 1 (a share of val reals, e.g. 0.01)")
    one_of(cfg, "threshold.source", ("checkpoint", "val"))
    select = one_of(cfg, "train.select", DETECT_SELECT)
    kind = one_of(cfg, "data.kind", ("synthetic", "ffpp"))
    if select == "video_auc" and kind != "ffpp":
        raise UsageError("train.select=video_auc needs videos (detect_data=ffpp); use train.select=auc")
    for key in ("train.steps", "train.batch_size", "train.eval_every", "data.size"):
        number(cfg, key, 16 if key == "data.size" else 1, integer=True)
    number(cfg, "train.lr", 0, above=True)
    number(cfg, "train.workers", 0, integer=True)
    if not value(cfg, "data.fakes"):
        raise UsageError("data.fakes is empty: list at least one fake source, e.g. data.fakes=[sbi]")
    if kind == "ffpp":
        for key in ("data.root", "data.splits.train", "data.splits.val", "data.splits.test"):
            if value(cfg, key) in (MISSING, None, ""):
                raise UsageError(
                    f"detect_data=ffpp needs {key}=<...>: the FaceForensics++ folder and split JSONs"
                )
        existing(value(cfg, "data.root"), "data.root", "the FaceForensics++ folder", folder=True)
        for name in ("train", "val", "test"):
            existing(value(cfg, f"data.splits.{name}"), f"data.splits.{name}", f"the official {name}.json")
    _check_fake_kinds(cfg, command, kind)
    if command == "ensemble":
        _check_ensemble(cfg)
    elif command not in ("train", "lofo"):
        ckpt = value(cfg, "checkpoint")
        if ckpt in (MISSING, None, ""):
            raise UsageError(f"{command} needs checkpoint=<detector file, e.g. RUN/checkpoints/best.pt>")
        torch_file(
            existing(ckpt, "checkpoint", "a detector file (RUN/checkpoints/best.pt)"),
            "checkpoint",
            "a detector file",
        )
    gpu_needed(value(cfg, "device"), f"device={value(cfg, 'device')}", "use device=cpu")
