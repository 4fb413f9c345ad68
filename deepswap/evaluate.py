"""Score a swap model with the evaluation protocol: ``python -m deepswap.evaluate checkpoint=<path>``.

The command's shell; the harness is :mod:`deepswap.evaluation.harness`. From Python,
``deepswap.evaluate("last.ckpt", num_pairs=128)`` (this module is callable) returns an
:class:`~deepswap.evaluation.harness.EvaluationResult`.
"""

from __future__ import annotations

import sys
import types

import hydra
from omegaconf import DictConfig, open_dict

from deepswap.errors import report as report_errors
from deepswap.evaluation.harness import (
    EvaluationResult,
    compose_config,
    evaluate,
    evaluate_cfg,
    print_result,
    synthetic_oracle,
)
from deepswap.utils.run_checks import check_evaluate

__all__ = ["EvaluationResult", "compose_config", "evaluate", "evaluate_cfg", "synthetic_oracle", "main"]


@hydra.main(version_base="1.3", config_path="../configs", config_name="evaluate")
def _hydra_main(cfg: DictConfig) -> None:
    from deepswap.utils.hydra_cli import run_folder

    with open_dict(cfg):
        if cfg.output_dir is None:
            cfg.output_dir = run_folder()
    with report_errors("deepswap.evaluate", cleanup=run_folder(), extra=(ValueError,)):
        check_evaluate(cfg)
        print_result(evaluate_cfg(cfg))


def main() -> None:
    """Entry point: check the command line first (typos list the valid choices; bad values stop in one
    line, before any run folder exists), then run Hydra."""
    from deepswap.utils.hydra_cli import precheck, set_argv

    set_argv(precheck("deepswap.evaluate", "evaluate", check_evaluate, sys.argv[1:]))
    _hydra_main()


class _CallableModule(types.ModuleType):
    """Lets ``deepswap.evaluate(...)`` call :func:`evaluate` while ``python -m deepswap.evaluate`` runs it."""

    def __call__(self, *args, **kwargs) -> EvaluationResult:
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    main()
