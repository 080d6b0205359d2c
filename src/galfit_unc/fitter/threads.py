"""One BLAS thread inside the fitter's numerical blocks: its solves and convolutions are small,
and a threaded BLAS spends more time waking threads than computing."""

from __future__ import annotations

import functools

from threadpoolctl import ThreadpoolController

__all__ = ["single_threaded_blas"]


@functools.lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    # Built once: its scan of the loaded libraries is slow.
    return ThreadpoolController()


def single_threaded_blas():
    """Context manager: BLAS limited to one thread inside the block."""
    return _controller().limit(limits=1, user_api="blas")
