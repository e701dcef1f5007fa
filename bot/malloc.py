"""Keep the C heap of a long-running gateway from creeping up (glibc only; a no-op elsewhere).

Store calls run on worker threads; glibc gives each thread its own malloc arena, and memory
freed in a heap mostly stays with the process. Under steady load the gateway's RSS crept up by
about 0.5 MB a minute (docs/CAPACITY.md) while its Python objects and the heap memory in use
stayed nearly flat. Two arenas, handing free pages back once a minute and a fixed set of store
threads (bot.store) brought it to 0.16 MB a minute over the second half of a 10-minute soak
at 10 messages/s.
"""
from __future__ import annotations

import ctypes
import os
from typing import Optional

M_ARENA_MAX = -8  # glibc's mallopt parameter


def _glibc() -> Optional[ctypes.CDLL]:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 (both exist in glibc only)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def limit_arenas(count: int = 2) -> bool:
    """Cap glibc's malloc arenas; call before any thread starts. MALLOC_ARENA_MAX in the
    environment wins (glibc has read it already). True when the cap was set here."""
    if _LIBC is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_LIBC.mallopt(M_ARENA_MAX, count))


def trim() -> None:
    """Give the heap's free pages back to the system (under a millisecond for the gateway's heap)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
