"""Optional numba compilation for the hot per-frame kernels (``pip install 'dexsim[fast]'``).

:func:`compiled` is ``numba.njit(cache=True, nogil=True, ...)`` that still works where no cache can be written
(a read-only install with no writable home or ``NUMBA_CACHE_DIR``): numba then raises ``RuntimeError`` when the
function is decorated, and the function is compiled in every process instead (once, at first use). Importing
this module raises ``ImportError`` where numba is missing; callers keep a numpy fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

__all__ = ["compiled"]

F = TypeVar("F", bound=Callable[..., Any])


def compiled(function: F | None = None, **options: Any) -> Any:
    """``numba.njit`` with an on-disk cache where one can be written, without one elsewhere.

    Use as ``@compiled`` or ``@compiled(error_model="numpy")``; ``options`` go to ``numba.njit``.
    """

    def decorate(f: F) -> F:
        try:
            return numba.njit(cache=True, nogil=True, **options)(f)
        except RuntimeError:  # "cannot cache function ...: no locator available" (nowhere writable)
            return numba.njit(nogil=True, **options)(f)

    return decorate if function is None else decorate(function)
