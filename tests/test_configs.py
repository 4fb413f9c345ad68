"""Every config option composes and instantiates; typos stop with the valid choices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from deepswap.utils.config_check import ConfigError, check_overrides, group_options

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# Options that are the same config under a name users look for (their files say what they are for).
ALIASES = {"data": {("folder", "vggface2_hq")}, "trainer": {("ddp_multinode", "slurm")}}
GROUPS = [
    "data",
    "generator",
    "discriminator",
    "identity",
    "loss",
    "optimizer",
    "trainer",
    "logger",
    "callbacks",
    "experiment",
    "debug",
    "detector",
]


def test_every_group_has_options():
    for group in GROUPS:
        assert group_options(group), f"configs/{group} is empty"


@pytest.mark.parametrize("group", GROUPS)
def test_every_option_composes_into_a_config_of_its_own(group, cfg_factory, monkeypatch):
    """Each option composes, carries its file's ``_target_``, and changes the config (no option is a
    silent copy of another, or ignored)."""
    monkeypatch.setenv("DEEPSWAP_DATA", "/nonexistent")
    composed = {}
    for option in group_options(group):
        debug = None if group == "debug" else "fast"
        cfg = cfg_factory([f"{group}={option}"], debug=debug)
        raw = OmegaConf.load(CONFIGS / group / f"{option}.yaml")
        if "_target_" in raw:
            assert cfg[group]._target_ == raw._target_, f"{group}={option} does not set its _target_"
        composed[option] = json.dumps(OmegaConf.to_container(cfg, resolve=False), sort_keys=True)
    same = {(a, b) for a in composed for b in composed if a < b and composed[a] == composed[b]}
    assert same <= ALIASES.get(group, set()), f"configs/{group}: {same} compose to the same config"


@pytest.mark.parametrize("name", ["deepswap", "simswap", "faceshifter", "ghost"])
def test_generators_instantiate_and_run(name, cfg_factory):
    small = (
        ["generator.n_down=5"] if name in ("faceshifter", "ghost") else []
    )  # AEI-Net needs >= 2**(n_down+1) px
    cfg = cfg_factory([f"generator={name}", *small])
    generator = instantiate(cfg.generator)
    out = generator(torch.zeros(1, 3, 64, 64), torch.nn.functional.normalize(torch.randn(1, 512), dim=1))
    assert out.image.shape == (1, 3, 64, 64)
    assert out.image.abs().max() <= 1.0 and (out.mask is not None) == generator.has_mask


@pytest.mark.parametrize("name", ["patch", "patch_sn"])
def test_discriminators_instantiate(name, cfg_factory):
    d = instantiate(cfg_factory([f"discriminator={name}"]).discriminator)
    assert len(d(torch.zeros(1, 3, 64, 64)).logits) >= 1


def test_non_network_groups_instantiate(cfg_factory, tmp_path):
    cfg = cfg_factory(["logger=many"])
    for name in ("simswap", "faceshifter", "deepswap"):
        loss_cfg = cfg_factory([f"loss={name}"]).loss
        assert instantiate(loss_cfg.adversarial).g_loss([torch.zeros(1, 1, 2, 2)]).ndim == 0
    assert instantiate(cfg.optimizer.generator)([torch.nn.Parameter(torch.zeros(1))]) is not None
    for c in cfg.callbacks.values():
        assert instantiate(c) is not None
    for c in cfg.logger.values():
        assert instantiate(c) is not None
    for option in ("cpu", "ddp_cpu"):
        trainer_cfg = cfg_factory([f"trainer={option}"]).trainer
        assert instantiate(trainer_cfg, logger=False, enable_checkpointing=False) is not None


def test_typo_in_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"idenity.*Valid keys under 'loss.weights'.*identity"):
        check_overrides(["loss.weights.idenity=10"])


def test_unknown_option_lists_valid_choices():
    with pytest.raises(ConfigError, match=r"Valid choices: .*deepswap.*simswap"):
        check_overrides(["generator=stylegan9"])


def test_cli_reports_typo_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "deepswap.train", "generator=nope"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Valid choices" in result.stderr and "Traceback" not in result.stderr


def test_configs_folder_is_found_from_any_folder():
    from deepswap.utils.config_check import CONFIG_DIR

    assert (CONFIG_DIR / "train.yaml").is_file() and Path.cwd() != CONFIG_DIR


def test_sweeps_are_checked_value_by_value():
    cfgs = check_overrides(["seed=0,1", "experiment=glob(*)"], multirun=True)
    experiments = {c.hydra.runtime.choices.experiment for c in cfgs}
    assert experiments == set(group_options("experiment")) and {c.seed for c in cfgs} == {0, 1}
    with pytest.raises(ConfigError, match="Ambiguous value"):
        check_overrides(["seed=0,1"])  # without -m a comma list is not a sweep
    with pytest.raises(ConfigError, match=r"generator.*Valid choices"):
        check_overrides(["generator=deepswap,nope"], multirun=True)
    with pytest.raises(ConfigError, match="train.stpes"):
        check_overrides(["command=train", "seed=0,1", "train.stpes=3"], config_name="detect", multirun=True)


def test_two_job_detector_sweep_through_the_cli(tmp_path):
    tiny = ["train.steps=1", "train.eval_every=1", "train.batch_size=4", "data.size=32"]
    tiny += ["data.pairs.train=8", "data.pairs.val=8", "data.pairs.test=8"]
    result = subprocess.run(
        [sys.executable, "-m", "deepswap.detect", "train", "-m", "seed=0,1", *tiny,
         f"hydra.sweep.dir={tmp_path}/sweep"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list((tmp_path / "sweep").glob("*/results.json"))) == 2


@pytest.mark.slow
def test_two_job_training_sweep_through_the_cli(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "deepswap.train", "-m", "debug=fast", "seed=0,1", "final_eval.enabled=false",
         f"hydra.sweep.dir={tmp_path}/sweep"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(list((tmp_path / "sweep").glob("*/checkpoints/last.ckpt"))) == 2
