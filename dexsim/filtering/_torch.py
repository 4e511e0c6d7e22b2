"""Importing the torch vision stack safely in a process that already renders with MuJoCo/EGL.

Measured here (torch 2.14, Mesa llvmpipe): once PyOpenGL's EGL back-end is loaded (``dm_control.mjcf``,
``mujoco.egl``, which ``dexsim.sim`` and the ``dexsim`` CLI import), loading triton's native library - which
``timm``/``torchvision`` pull in through ``torch._dynamo`` - segfaults (two LLVM copies in one process). Inference
here is eager and never needs triton, so in such a process triton is marked unavailable before timm is imported;
torch treats a missing triton as "no compiler back-end", exactly as on a machine without it.
"""

from __future__ import annotations

import sys
from types import ModuleType

__all__ = ["import_timm"]

_GL_MODULES = ("OpenGL", "dm_control", "mujoco.egl")


def _gl_loaded() -> bool:
    return any(name == gl or name.startswith(gl + ".") for name in sys.modules for gl in _GL_MODULES)


def import_timm() -> ModuleType:
    """``import timm`` (and torch), keeping triton out of a process that has loaded EGL."""
    if "triton" not in sys.modules and _gl_loaded():
        sys.modules["triton"] = None  # type: ignore[assignment]  # ImportError on `import triton`
    import timm

    return timm
