"""Load order between MuJoCo's GL contexts and torch's compiler stack (one process, both in use).

CUDA builds of torch ship ``triton``, which carries its own LLVM, and Mesa's software rasteriser (llvmpipe, what
EGL and OSMesa use on a machine without a GPU) carries another. Once PyOpenGL's EGL back-end is loaded (by
``dm_control.mjcf``) or a MuJoCo renderer exists, importing ``triton`` segfaults the process, and torch imports
it lazily (``torch._dynamo``, first built by e.g. ``torch.optim.AdamW``), so a program that renders the twin and
then trains or runs a policy would crash at a random later line. Loading ``triton`` first is safe;
:mod:`dexsim.sim` does so on import. It costs ~0.3 s once, nothing where triton is not installed. Measured with
torch 2.14 (CUDA build) and Mesa llvmpipe; test: ``tests/sim/test_gl_order.py``.
"""

from __future__ import annotations

import importlib.util

__all__ = ["load_triton_before_gl"]

_done = False


def load_triton_before_gl() -> None:
    """Import ``triton`` if it is installed and not yet loaded; call before creating any GL context."""
    global _done
    if _done:
        return
    _done = True
    try:
        if importlib.util.find_spec("triton") is None:
            return
        import triton  # noqa: F401
    except Exception:  # a broken triton install must not stop rendering; torch will report it itself
        return
