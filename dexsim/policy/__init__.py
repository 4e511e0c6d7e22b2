"""Visuomotor diffusion policy (Chi et al., RSS 2023; the paper's Sec. IV-C) on torch + diffusers.

- :mod:`dexsim.policy.configuration`: the validated config dataclasses read from ``policies/*.toml`` (torch-free).
- :mod:`dexsim.policy.normalize`: min-max normalisation with range floors, saved as ``stats.json``.
- :mod:`dexsim.policy.encoders`: per-camera GroupNorm encoders (ResNet-18 or small conv) with spatial softmax.
- :mod:`dexsim.policy.unet`: the FiLM-conditioned ConditionalUnet1D.
- :mod:`dexsim.policy.modeling`: the policy module (loss, sampling) and the diffusers schedulers.
- :mod:`dexsim.policy.checkpoint`: safetensors + JSON files, resumable checkpoints.
- :mod:`dexsim.policy.training`: ``dexsim train``'s loop (EMA, early stopping, exact resume, torchrun DDP).
- :mod:`dexsim.policy.executor`: the policy as a Controller (chunks, ensembling, asynchronous inference).

Needs the ``policy`` extra (torch, diffusers, safetensors, torchvision); importing this package does not import
torch, so the ``dexsim`` command line works without it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dexsim.policy.executor import DiffusionPolicyExecutor

__all__ = ["load", "DiffusionPolicyExecutor"]


def load(path: str | os.PathLike[str], *, device: str = "cpu", inference_steps: int | None = None,
         **executor_options: Any) -> DiffusionPolicyExecutor:
    """Load a trained policy as a ready-to-run controller.

    Args:
        path: A run directory (``dexsim train --out``; an unfinished run loads its latest checkpoint's EMA
            weights), a checkpoint directory, or a weights file beside its ``config.json`` / ``stats.json``.
        device: torch device, e.g. ``"cpu"`` or ``"cuda"``.
        inference_steps: Denoising steps per chunk (default: the config's ``diffusion.inference_steps``).
        **executor_options: ``sampler``, ``temporal_ensemble``, ``asynchronous``, ``latency_margin_ticks``
            (see :class:`~dexsim.policy.executor.DiffusionPolicyExecutor`).

    Raises:
        FileNotFoundError: Nothing loadable at ``path`` (names the file looked for).
        ValueError: The files are malformed or do not fit together (names the file).
    """
    from dexsim.sim.gl_order import load_triton_before_gl

    load_triton_before_gl()  # before anything loads MuJoCo/EGL (see dexsim.sim.gl_order)

    from dexsim.policy.checkpoint import load_policy
    from dexsim.policy.executor import DiffusionPolicyExecutor

    policy, metadata = load_policy(path, device)
    return DiffusionPolicyExecutor(policy, metadata, device=device, inference_steps=inference_steps,
                                   **executor_options)


def __getattr__(name: str) -> Any:
    if name == "DiffusionPolicyExecutor":
        from dexsim.policy.executor import DiffusionPolicyExecutor

        return DiffusionPolicyExecutor
    raise AttributeError(f"module 'dexsim.policy' has no attribute {name!r}")
