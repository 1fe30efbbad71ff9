"""Keep the C heap's freed memory for reuse (glibc ``mallopt``).

Every pipeline pass over a GSO super-segment allocates and frees buffers of up to 64 KB (the
received frame, the deparsed one).  glibc's defaults hand freed memory at the top of the heap
back to the kernel once more than 128 KB is free, so the next pass faults the same pages in
again (about 16 page faults per 64 KB).  With a high trim threshold and a fixed mmap threshold
the freed buffers stay mapped and are reused; what is kept is bounded by the peak the process
already reached.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger("p4sim.switch")

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
MMAP_THRESHOLD_BYTES = 1024 * 1024
"""Buffers below this come from the heap (the default threshold moves with what was freed)."""


def keep_freed_memory() -> bool:
    """Tune the allocator as above; False where there is no glibc ``mallopt``."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        log.debug("no mallopt: the C heap keeps its defaults")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
                and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
