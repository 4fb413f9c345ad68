"""Friendly configuration errors: an unknown key or option stops with the valid choices."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf

from deepswap.errors import DeepswapError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


class ConfigError(DeepswapError, ValueError):
    """A configuration mistake; the message lists the valid choices."""


def group_options(group: str) -> list[str]:
    """Option names of a config group, e.g. ``group_options("generator")``."""
    folder = CONFIG_DIR / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _key_hint(cfg: DictConfig, full_key: str) -> str:
    parent_key, _, leaf = full_key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if not isinstance(parent, DictConfig):
        return ""
    keys = sorted(str(k) for k in parent.keys())
    close = difflib.get_close_matches(leaf, keys, n=1)
    where = f"'{parent_key}'" if parent_key else "the top level"
    hint = f" Did you mean '{parent_key + '.' if parent_key else ''}{close[0]}'?" if close else ""
    return f"Valid keys under {where}: {', '.join(keys)}.{hint} (Use '+{full_key}=...' to add a new key.)"


def check_overrides(
    overrides: list[str], config_name: str = "train", multirun: bool = False
) -> list[DictConfig]:
    """Compose the config with ``overrides`` -> the composed configs (with ``hydra.runtime.choices``).

    Raises :class:`ConfigError` with the valid choices if a key or group option does not exist. With
    ``multirun``, sweeps (``seed=0,1``, ``experiment=glob(*)``, ``range(...)``) are expanded: every value
    of every swept key is composed once (the others at their first value), so a typo anywhere in a
    sweep stops before any job runs. Non-discrete sweeps (``interval``) are left to the sweeper.
    """
    cfgs = []
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        for variant in _variants(overrides) if multirun else [overrides]:
            cfgs.append(_compose(config_name, variant))
    return cfgs


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    try:
        return compose(config_name, overrides=overrides, return_hydra_config=True)
    except MissingConfigException as e:
        raise ConfigError(_group_message(str(e), e.options)) from None
    except ConfigCompositionException as e:
        text = _chain(e)
        key = re.search(r"full_key: (\S+)", text)
        if key and "not in struct" in text:
            base = compose(config_name)
            raise ConfigError(
                f"Unknown config key '{key.group(1)}'. {_key_hint(base, key.group(1))}"
            ) from None
        raise ConfigError(text) from None


def _variants(overrides: list[str]) -> list[list[str]]:
    """The override lists a multirun's sweeps need checked: first values, then each other value in turn."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    try:
        parsed = parser.parse_overrides(overrides)
    except OverrideParseException as e:
        raise ConfigError(str(e)) from None
    fixed, swept = [], []
    for o in parsed:
        if not o.is_sweep_override():
            fixed.append(o.input_line)
        elif o.is_discrete_sweep():
            key = o.get_key_element()
            swept.append([f"{key}={v}" for v in o.sweep_string_iterator()])
    first = [values[0] for values in swept if values]
    variants = [fixed + first]
    for i, values in enumerate(swept):
        variants += [fixed + first[:i] + [v] + first[i + 1 :] for v in values[1:]]
    return variants


def _chain(e: BaseException) -> str:
    parts = []
    while e is not None:
        text = str(e).strip()
        if text and text not in parts:
            parts.append(text)
        e = e.__cause__
    return "\n".join(parts) or "the configuration could not be composed"


def _group_message(text: str, options) -> str:
    if options:
        return f"{text.splitlines()[0]}. Valid choices: {', '.join(sorted(options))}"
    return text
