"""Optional compiled kernels (the ``fast`` extra), imported at their first use.

Importing numba costs ~0.2 s. :mod:`dexsim.hand` and :mod:`dexsim.teleop` are imported by every ``dexsim`` command
and every evaluation worker, most of which never solve IK or retarget a hand, so the kernel modules are imported
when a kernel is first called (or when :func:`dexsim.hand.ik.load_compiled` warms them up), not with dexsim.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

__all__ = ["KernelModule", "optional_kernels"]


class KernelModule:
    """A kernel module imported at its first attribute access.

    Args:
        name: Dotted module name, e.g. ``dexsim.hand._ik_numba``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self.name)
        return getattr(module, attribute)


def optional_kernels(name: str) -> KernelModule | None:
    """The kernel module ``name``, imported lazily, where numba is installed; ``None`` where it is not (the caller
    keeps its numpy path)."""
    return KernelModule(name) if importlib.util.find_spec("numba") is not None else None
