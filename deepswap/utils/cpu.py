"""CPU inference settings that are process-wide.

:func:`keep_freed_memory`: glibc's malloc serves every block above its mmap threshold (128 KiB,
raised dynamically up to 32 MiB) with a fresh ``mmap`` and gives it back on ``free``, and trims the
heap top above its trim threshold. A generator's activations (a 256 x 256 x 32 float map is 8 MiB)
are allocated and freed on every forward, so each one arrives as new pages that the kernel must
fault in and zero: memory traffic that does no work. Fixing the mmap threshold at 32 MiB and the trim
threshold at 1 GiB keeps that memory in the process between forwards (the resident set stays at its
peak, up to 1 GiB more). Measured on 2 cores, DeepSwap-Lite at 256 px, one image, channels-last:
11-13 img/s -> 15-18 img/s (30 s each, interleaved runs; ``bench_generator_speed.py
--no-malloc-tuning`` shows both). jemalloc or tcmalloc via ``LD_PRELOAD`` do the same and more.

``DEEPSWAP_MALLOC_TUNING=0`` turns it off; other C libraries (musl, macOS, Windows) are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 2**30


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Apply the malloc thresholds above once per process -> whether they are in force."""
    if os.environ.get("DEEPSWAP_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_set = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return mmap_set and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
