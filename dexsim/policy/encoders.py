"""Observation encoders: one image encoder per camera (GroupNorm trunk + spatial-softmax keypoints), crops, and
the concatenation with the normalised low-dim observations into the UNet's global condition.

Two trunks: the paper's ResNet-18 (torchvision, BatchNorm replaced by ``GroupNorm(C // 16, C)``, random
initialisation: nothing is downloaded) and a small strided conv stack sized for CPU training.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from dexsim.policy.configuration import ModelConfig

__all__ = ["SpatialSoftmax", "conv_trunk", "resnet18_trunk", "CameraEncoder", "crop_images", "ObservationEncoder"]


class SpatialSoftmax(nn.Module):
    """Feature map (N, C, H, W) -> keypoints (N, 2K): a 1x1 conv to K maps, softmax over the pixels, and the
    expected (x, y) image coordinates in [-1, 1] of each map."""

    def __init__(self, in_channels: int, keypoints: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(in_channels, keypoints, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        maps = self.project(features)
        n, k, h, w = maps.shape
        attention = torch.softmax(maps.reshape(n, k, h * w), dim=-1)
        ys, xs = torch.meshgrid(torch.linspace(-1.0, 1.0, h, device=maps.device),
                                torch.linspace(-1.0, 1.0, w, device=maps.device), indexing="ij")
        grid = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)  # (h*w, 2)
        return (attention @ grid).reshape(n, 2 * k)


def conv_trunk(channels: tuple[int, ...]) -> tuple[nn.Module, int]:
    """3x3 convs with GroupNorm and ReLU; the first two halve the resolution. Returns (trunk, out channels)."""
    layers: list[nn.Module] = []
    previous = 3
    for i, width in enumerate(channels):
        layers += [nn.Conv2d(previous, width, 3, stride=2 if i < 2 else 1, padding=1),
                   nn.GroupNorm(min(8, width // 4), width), nn.ReLU(inplace=True)]
        previous = width
    return nn.Sequential(*layers), previous


def resnet18_trunk() -> tuple[nn.Module, int]:
    """ResNet-18 up to its last residual stage (no pooling, no head), GroupNorm instead of BatchNorm."""
    from torchvision.models import resnet18

    net = resnet18(weights=None, norm_layer=lambda channels: nn.GroupNorm(channels // 16, channels))
    trunk = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
    return trunk, 512


class CameraEncoder(nn.Module):
    """Image (N, 3, h, w) in [-1, 1] -> feature (N, image_feature_dim)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.trunk, channels = resnet18_trunk() if config.encoder == "resnet18" else conv_trunk(config.conv_channels)
        self.keypoints = SpatialSoftmax(channels, config.keypoints)
        self.head = nn.Linear(2 * config.keypoints, config.image_feature_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.keypoints(self.trunk(images)))


def crop_images(images: torch.Tensor, size: int, offsets: torch.Tensor | None) -> torch.Tensor:
    """Crop (B, T, H, W, C) images to (B, T, size, size, C): per-sample ``offsets`` (B, 2) = (row, col) of the
    top-left corner (the same crop for all T frames of a sample), or the centre crop when ``offsets`` is None."""
    b, _, h, w, _ = images.shape
    if size > min(h, w):
        raise ValueError(f"crop of {size} px does not fit {h}x{w} images")
    if offsets is None:
        top, left = (h - size) // 2, (w - size) // 2
        return images[:, :, top : top + size, left : left + size]
    span = torch.arange(size, device=images.device)
    rows = offsets[:, 0:1].to(images.device) + span  # (B, size)
    cols = offsets[:, 1:2].to(images.device) + span
    batch = torch.arange(b, device=images.device)[:, None, None]
    cropped = images[batch, :, rows[:, :, None], cols[:, None, :]]  # (B, size, size, T, C)
    return cropped.permute(0, 3, 1, 2, 4)


class ObservationEncoder(nn.Module):
    """All observed frames -> the UNet's global condition (B, n_obs_steps * per_frame_dim).

    Args:
        config: Model sizes.
        image_keys: Observation keys of the cameras (one encoder each).
        low_dim_dims: Low-dim observation key -> dimensions (already normalised when passed in).
    """

    def __init__(self, config: ModelConfig, image_keys: tuple[str, ...], low_dim_dims: Mapping[str, int]) -> None:
        super().__init__()
        self.image_keys = tuple(image_keys)
        self.low_dim_keys = tuple(low_dim_dims)
        self.crop_size = config.crop_size if image_keys else 0
        self.cameras = nn.ModuleDict({key: CameraEncoder(config) for key in self.image_keys})
        self.per_frame_dim = len(image_keys) * config.image_feature_dim + sum(low_dim_dims.values())

    def forward(self, images: Mapping[str, torch.Tensor], low_dim: Mapping[str, torch.Tensor],
                crop_offsets: Mapping[str, torch.Tensor] | None = None) -> torch.Tensor:
        """``images[key]`` (B, T, H, W, 3) uint8; ``low_dim[key]`` (B, T, D) normalised; ``crop_offsets[key]``
        (B, 2) for random crops (training) or None (centre crops)."""
        parts = []
        for key in self.image_keys:
            frames = crop_images(images[key], self.crop_size, None if crop_offsets is None else crop_offsets[key])
            b, t = frames.shape[:2]
            pixels = frames.reshape(b * t, *frames.shape[2:]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
            parts.append(self.cameras[key](pixels).reshape(b, t, -1))
        parts += [low_dim[key] for key in self.low_dim_keys]
        features = torch.cat(parts, dim=-1)
        return features.reshape(features.shape[0], -1)
