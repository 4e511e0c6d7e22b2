"""The diffusion policy: observation encoder + ConditionalUnet1D + diffusers noise schedulers.

Training (:meth:`DiffusionPolicy.forward`): normalise the action chunk to [-1, 1], add DDPM noise at a random
step, predict the noise (or the clean chunk) from the noisy chunk, the step and the observation features; the
loss is the mean squared error. Inference (:meth:`DiffusionPolicy.sample`): start from Gaussian noise and denoise
with DDIM / DPM-Solver (or DDPM) in ``k`` steps; the result is un-normalised to the action key's units.

Batches are dicts of tensors keyed like the dataset: images ``(B, n_obs, H, W, 3)`` uint8, low-dim observations
``(B, n_obs, D)`` in their units, ``"action"`` ``(B, horizon, A)`` in the action key's units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import torch
from torch import nn

from dexsim.data.schema import KEY_ACTION
from dexsim.policy.configuration import DiffusionConfig, PolicyConfig
from dexsim.policy.encoders import ObservationEncoder
from dexsim.policy.normalize import Normalizer
from dexsim.policy.unet import ConditionalUnet1D

__all__ = ["SAMPLERS", "DiffusionPolicy", "make_scheduler", "parameter_count"]

SAMPLERS: Final = ("ddpm", "ddim", "dpmsolver")
"""Scheduler names :func:`make_scheduler` builds."""


def make_scheduler(config: DiffusionConfig, kind: str = "ddpm") -> Any:
    """A diffusers scheduler with the training betas: ``"ddpm"`` (training, or 100-step sampling), ``"ddim"`` or
    ``"dpmsolver"`` (DPM-Solver++ multistep)."""
    common = dict(num_train_timesteps=config.train_steps, beta_start=config.beta_start, beta_end=config.beta_end,
                  beta_schedule=config.beta_schedule, prediction_type=config.prediction_type)
    if kind == "ddpm":
        from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

        return DDPMScheduler(**common, variance_type="fixed_small", clip_sample=config.clip_sample)
    if kind == "ddim":
        from diffusers.schedulers.scheduling_ddim import DDIMScheduler

        return DDIMScheduler(**common, clip_sample=config.clip_sample, set_alpha_to_one=True, steps_offset=0)
    if kind == "dpmsolver":
        from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler

        return DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++")
    raise ValueError(f"unknown sampler {kind!r}; known: {list(SAMPLERS)}")


def parameter_count(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


class DiffusionPolicy(nn.Module):
    """Observation encoder + denoiser; the normaliser and the noise schedules travel with it.

    Args:
        config: The policy configuration (inputs, horizons, model sizes, diffusion settings).
        normalizer: Bounds of the low-dim observation keys and of the action key.
    """

    def __init__(self, config: PolicyConfig, normalizer: Normalizer) -> None:
        super().__init__()
        self.config = config
        self.normalizer = normalizer
        inputs = config.inputs
        missing = [k for k in (*inputs.low_dim, inputs.action) if k not in normalizer.bounds]
        if missing:
            raise ValueError(f"normalisation statistics lack {missing} (have {sorted(normalizer.bounds)})")
        self.image_keys = inputs.image_keys
        self.low_dim_keys = inputs.low_dim
        self.action_key = inputs.action
        self.action_dim = normalizer.dim(inputs.action)
        self.encoder = ObservationEncoder(config.model, self.image_keys,
                                          {k: normalizer.dim(k) for k in self.low_dim_keys})
        model = config.model
        self.unet = ConditionalUnet1D(self.action_dim, config.horizon.n_obs_steps * self.encoder.per_frame_dim,
                                      model.down_dims, model.kernel_size, model.n_groups, model.step_embed_dim)
        self.noise_scheduler = make_scheduler(config.diffusion, "ddpm")

    @property
    def obs_keys(self) -> tuple[str, ...]:
        """Observation keys the policy reads."""
        return (*self.low_dim_keys, *self.image_keys)

    def conditioning(self, obs: Mapping[str, torch.Tensor],
                     crop_offsets: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Global condition (B, n_obs * per_frame_dim) from raw observations (see module docstring)."""
        n_obs = self.config.horizon.n_obs_steps
        for key in self.obs_keys:
            if key not in obs:
                raise KeyError(f"observation batch lacks {key!r} (the policy reads {list(self.obs_keys)})")
            if obs[key].shape[1] != n_obs:
                raise ValueError(f"{key!r} has {obs[key].shape[1]} frames, the policy observes {n_obs}")
        low_dim = {k: self.normalizer.normalize(k, obs[k].float()) for k in self.low_dim_keys}
        images = {k: obs[k] for k in self.image_keys}
        return self.encoder(images, low_dim, crop_offsets)

    def forward(self, batch: Mapping[str, torch.Tensor], noise: torch.Tensor, timesteps: torch.Tensor,
                crop_offsets: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Training loss (a scalar) of ``batch`` with the given ``noise`` (B, horizon, A), diffusion ``timesteps``
        (B,) and per-camera ``crop_offsets`` (B, 2); passing them in keeps data-parallel runs identical to
        single-process ones."""
        actions = self.normalizer.normalize(self.action_key, batch[KEY_ACTION].float())
        cond = self.conditioning(batch, crop_offsets)
        noisy = self.noise_scheduler.add_noise(actions, noise, timesteps)
        prediction = self.unet(noisy, timesteps, cond)
        target = noise if self.config.diffusion.prediction_type == "epsilon" else actions
        return torch.nn.functional.mse_loss(prediction, target)

    @torch.no_grad()
    def sample(self, obs: Mapping[str, torch.Tensor], *, generator: torch.Generator | None = None,
               scheduler: Any = None, steps: int | None = None) -> torch.Tensor:
        """Denoise an action chunk (B, horizon, A) in the action key's units from observations (B, n_obs, ...).

        Args:
            obs: Raw observation batch.
            generator: Source of the initial noise (and of DDPM's per-step noise); fixes the sample.
            scheduler: A scheduler from :func:`make_scheduler` (default: the config's inference scheduler).
            steps: Denoising steps (default: ``diffusion.inference_steps``; DDPM uses all training steps).
        """
        diffusion = self.config.diffusion
        if scheduler is None:
            scheduler = make_scheduler(diffusion, diffusion.inference_scheduler)
        steps = steps or diffusion.inference_steps
        cond = self.conditioning(obs)
        shape = (cond.shape[0], self.config.horizon.horizon, self.action_dim)
        x = torch.randn(shape, generator=generator, device=cond.device, dtype=cond.dtype)
        scheduler.set_timesteps(steps, device=cond.device)
        for t in scheduler.timesteps:
            output = self.unet(x, t.reshape(1).to(cond.device), cond)
            x = scheduler.step(output, t, x, generator=generator).prev_sample
        return self.normalizer.unnormalize(self.action_key, x)
