"""deepswap's errors and how the commands report them.

Every error deepswap raises for a bad input or option derives from :class:`DeepswapError`; its message
names the input or option and says how to fix it. The commands (``python -m deepswap.<verb>``) turn
one into a single line on stderr and exit code 2 (:func:`report`); ``--debug`` or
``HYDRA_FULL_ERROR=1`` shows the traceback instead. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_CODE = 2
DEBUG_FLAG = "--debug"


class DeepswapError(Exception):
    """Base class: a user mistake or an input deepswap cannot use (never a bug)."""


class UsageError(DeepswapError, ValueError):
    """Options that are invalid, or that cannot work together."""


class CheckpointError(DeepswapError, ValueError):
    """The file is not a deepswap checkpoint (or weights file) this version can read."""


class WeightsMismatchError(CheckpointError, RuntimeError):
    """A weights file that loads but does not fit the network it was given to."""


class MissingFileError(DeepswapError, FileNotFoundError):
    """An input file or folder does not exist."""


class OutputError(DeepswapError, OSError):
    """An output file or folder cannot be written."""


class NothingProducedError(DeepswapError, RuntimeError):
    """The command ran but produced nothing usable; the message summarises why."""


def debug_enabled() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1" or os.environ.get("DEEPSWAP_DEBUG") == "1"


def take_debug_flag(argv: list[str]) -> list[str]:
    """``argv`` without ``--debug``; if it was there, tracebacks are shown from now on."""
    if DEBUG_FLAG in argv:
        os.environ["DEEPSWAP_DEBUG"] = "1"
        os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra's own errors too
    return [a for a in argv if a != DEBUG_FLAG]


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (newlines and runs of spaces become single spaces)."""
    text = " ".join(str(error).split())
    if isinstance(error, KeyError) and text.startswith("'"):
        text = text.strip("'")
    return text or type(error).__name__


def fail(prog: str, message: str) -> None:
    """Print ``prog: error: message`` on stderr and exit with code 2."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_CODE)


def user_errors() -> tuple[type[BaseException], ...]:
    """What :func:`report` answers in one line: deepswap's errors and missing mandatory config values."""
    from omegaconf.errors import MissingMandatoryValue

    return (DeepswapError, MissingMandatoryValue, FileNotFoundError)


def _message(error: BaseException) -> str:
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(error, MissingMandatoryValue):
        key = getattr(error, "full_key", None) or "a value"
        return f"{key} is required: add {key}=... to the command line"
    return one_line(error)


@contextmanager
def report(prog: str, cleanup: Path | str | None = None, extra: tuple = ()) -> Iterator[None]:
    """Turn a deepswap error (or one of ``extra``) raised inside into one line on stderr and exit code 2.

    ``cleanup``: a run folder this command made; it is removed on such an error unless it holds a
    checkpoint (so a resumed run keeps its folder)."""
    from hydra.errors import InstantiationException

    try:
        yield
    except (*user_errors(), *extra, InstantiationException) as e:
        cause = _user_cause(e, (*user_errors(), *extra))
        if cause is None:
            raise
        if cleanup is not None:
            remove_failed_run(Path(cleanup))
        if debug_enabled():
            raise
        fail(prog, _message(cause))


def _user_cause(error: BaseException, kinds: tuple) -> BaseException | None:
    """``error``, or for Hydra's InstantiationException the user error that caused it (None: a bug)."""
    from hydra.errors import InstantiationException

    while isinstance(error, InstantiationException):
        error = error.__cause__
    return error if isinstance(error, kinds) else None


@contextmanager
def removed_on_error(folder: Path) -> Iterator[None]:
    """Remove ``folder`` if the block made it and raises a deepswap error before it holds results."""
    new = not Path(folder).exists()
    try:
        yield
    except DeepswapError:
        if new:
            remove_failed_run(Path(folder))
        raise


CHECKPOINT_GLOBS = ("checkpoints/*.ckpt", "checkpoints/*.pt", "evaluation.json", "results.json")


def remove_failed_run(folder: Path) -> bool:
    """Remove ``folder`` (a run folder of a run that failed) unless it holds results; True if removed."""
    if not folder.is_dir() or any(any(folder.glob(g)) for g in CHECKPOINT_GLOBS):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    parent = folder.parent  # a multirun's sweep folder, once its last job folder is gone
    if (parent / "multirun.yaml").is_file() and not any(p.is_dir() for p in parent.iterdir()):
        shutil.rmtree(parent, ignore_errors=True)
    return True
