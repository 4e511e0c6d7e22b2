"""ConditionalUnet1D: a temporal UNet over an action chunk, FiLM-conditioned on observation features and the
diffusion step (Chi et al., RSS 2023, CNN variant).

Shapes: ``sample`` (B, T, A) -> predicted noise (or sample) (B, T, A); ``global_cond`` (B, C). ``T`` must be
divisible by ``2 ** (len(down_dims) - 1)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SinusoidalStepEmbedding", "Conv1dBlock", "FiLMResidualBlock", "ConditionalUnet1D"]


class SinusoidalStepEmbedding(nn.Module):
    """Transformer-style sinusoidal embedding of the (integer) diffusion step, (B,) -> (B, dim)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        scale = math.log(10000.0) / max(half - 1, 1)
        frequencies = torch.exp(torch.arange(half, device=steps.device, dtype=torch.float32) * -scale)
        angles = steps.float()[:, None] * frequencies[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


class Conv1dBlock(nn.Sequential):
    """Conv1d -> GroupNorm -> Mish, length-preserving."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_groups: int) -> None:
        super().__init__(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(min(n_groups, out_channels), out_channels),
            nn.Mish(),
        )


class FiLMResidualBlock(nn.Module):
    """Two conv blocks; the condition predicts a per-channel scale and bias applied after the first."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int, n_groups: int) -> None:
        super().__init__()
        self.first = Conv1dBlock(in_channels, out_channels, kernel_size, n_groups)
        self.second = Conv1dBlock(out_channels, out_channels, kernel_size, n_groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * out_channels))
        self.residual = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.first(x)
        scale, bias = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
        h = scale * h + bias
        return self.second(h) + self.residual(x)


class ConditionalUnet1D(nn.Module):
    """The denoiser.

    Args:
        action_dim: Size of each action, A.
        global_cond_dim: Size of the flattened observation features.
        down_dims: Channel widths of the levels (each level halves the length except the last).
        kernel_size: Temporal kernel.
        n_groups: GroupNorm groups.
        step_embed_dim: Size of the diffusion-step embedding.
    """

    def __init__(self, action_dim: int, global_cond_dim: int, down_dims: tuple[int, ...] = (256, 512, 1024),
                 kernel_size: int = 5, n_groups: int = 8, step_embed_dim: int = 128) -> None:
        super().__init__()
        self.step_encoder = nn.Sequential(
            SinusoidalStepEmbedding(step_embed_dim),
            nn.Linear(step_embed_dim, 4 * step_embed_dim),
            nn.Mish(),
            nn.Linear(4 * step_embed_dim, step_embed_dim),
        )
        cond_dim = step_embed_dim + global_cond_dim
        widths = [action_dim, *down_dims]
        pairs = list(zip(widths[:-1], widths[1:], strict=True))

        def block(i: int, o: int) -> FiLMResidualBlock:
            return FiLMResidualBlock(i, o, cond_dim, kernel_size, n_groups)

        self.down = nn.ModuleList()
        for level, (i, o) in enumerate(pairs):
            last = level == len(pairs) - 1
            resample = nn.Identity() if last else nn.Conv1d(o, o, 3, stride=2, padding=1)
            self.down.append(nn.ModuleList([block(i, o), block(o, o), resample]))
        self.mid = nn.ModuleList([block(down_dims[-1], down_dims[-1]), block(down_dims[-1], down_dims[-1])])
        self.up = nn.ModuleList()
        for i, o in reversed(pairs[1:]):
            upsample = nn.ConvTranspose1d(i, i, 4, stride=2, padding=1)
            self.up.append(nn.ModuleList([block(2 * o, i), block(i, i), upsample]))
        self.final = nn.Sequential(Conv1dBlock(down_dims[0], down_dims[0], kernel_size, n_groups),
                                   nn.Conv1d(down_dims[0], action_dim, 1))
        self.downsamplings = len(pairs) - 1

    def forward(self, sample: torch.Tensor, steps: torch.Tensor, global_cond: torch.Tensor) -> torch.Tensor:
        """Denoiser output for ``sample`` (B, T, A) at diffusion ``steps`` (B,) given ``global_cond`` (B, C)."""
        if sample.shape[1] % (2**self.downsamplings):
            raise ValueError(f"chunk length {sample.shape[1]} must be divisible by 2^{self.downsamplings}")
        x = sample.transpose(1, 2)
        cond = torch.cat([self.step_encoder(steps.expand(sample.shape[0])), global_cond], dim=-1)
        skips = []
        for first, second, downsample in self.down:
            x = second(first(x, cond), cond)
            skips.append(x)
            x = downsample(x)
        for mid in self.mid:
            x = mid(x, cond)
        for first, second, upsample in self.up:
            x = torch.cat([x, skips.pop()], dim=1)
            x = upsample(second(first(x, cond), cond))
        return self.final(x).transpose(1, 2)
