"""Rendering the twin and then using torch's compiler stack in one process must not crash (dexsim.sim.gl_order)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import gymnasium as gym
    import dexsim  # noqa: F401
    env = gym.make("AllegroUnscrew-sim", image_size=32)
    obs, _ = env.reset(seed=0)
    assert obs["top_image"].shape == (32, 32, 3)
    import torch
    import torch._dynamo  # what AdamW and torch.compile load lazily; with triton after Mesa this segfaulted
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(3))])
    env.close()
    print("ok")
    """
)


def test_torch_compiler_stack_loads_after_the_twin_has_rendered() -> None:
    pytest.importorskip("torch")
    env = dict(os.environ, MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"))
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
