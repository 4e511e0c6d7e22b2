"""The compiled kernels' modules (and numba) are imported at their first use, not with dexsim."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dexsim._kernels import KernelModule


def test_kernel_module_imports_at_first_attribute_access() -> None:
    kernels = KernelModule("json")
    assert kernels._module is None
    assert kernels.dumps([1]) == "[1]" and kernels._module is not None


def test_importing_hand_and_teleop_does_not_import_numba() -> None:
    pytest.importorskip("numba")
    code = ("import sys, dexsim.hand, dexsim.teleop.retarget\n"
            "assert 'numba' not in sys.modules, 'numba imported with dexsim'\n"
            "from dexsim.hand.ik import load_compiled\n"
            "assert load_compiled() and 'numba' in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
