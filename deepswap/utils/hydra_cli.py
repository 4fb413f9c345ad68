"""The part the Hydra commands (train, evaluate, detect) share: check the command line before Hydra runs.

:func:`precheck` composes the config the way Hydra will (each job of a ``-m`` sweep), so a typo lists
the valid choices and a bad value or combination stops with one line on stderr and exit code 2 before
Hydra makes a run folder. ``--debug`` (taken out of ``sys.argv``) or ``HYDRA_FULL_ERROR=1`` shows
tracebacks instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from omegaconf import DictConfig

from deepswap.errors import report, take_debug_flag

MULTIRUN_FLAGS = ("-m", "--multirun")


def overrides_of(argv: list[str]) -> list[str]:
    """The ``key=value`` and ``~key`` (delete) overrides of a Hydra command line (Hydra's own flags and
    ``hydra.*`` left out)."""
    kept = [a for a in argv if not a.startswith("-") and ("=" in a or a.startswith("~"))]
    return [a for a in kept if not a.lstrip("+~").startswith("hydra")]


def precheck(
    prog: str, config_name: str, check: Callable[[DictConfig], None], argv: list[str], prefix: tuple = ()
) -> list[str]:
    """Compose ``config_name`` with ``argv``'s overrides (every sweep value with ``-m``) and ``check``
    each config; exit with one line on the first problem. Returns ``argv`` without ``--debug``."""
    from deepswap.utils.config_check import check_overrides

    argv = take_debug_flag(argv)
    multirun = any(a in MULTIRUN_FLAGS for a in argv)
    with report(prog):
        for cfg in check_overrides([*prefix, *overrides_of(argv)], config_name, multirun):
            check(cfg)
    return argv


def run_folder() -> str | None:
    """The folder Hydra made for this job (None outside a Hydra job)."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else None


def set_argv(argv: list[str]) -> None:
    sys.argv = [sys.argv[0], *argv]
