"""Frame embeddings of recorded camera images: a timm encoder without its head, batched under inference mode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from dexsim.data.store import Episode
from dexsim.filtering.weights import WeightsInfo, build_encoder

if TYPE_CHECKING:
    import torch

__all__ = ["ImageEncoder", "sample_frames", "read_frames"]


def sample_frames(length: int, stride: int) -> NDArray[np.int64]:
    """Indices of the frames used from an episode of ``length`` frames: ``0, stride, 2*stride, ...``."""
    return np.arange(0, length, stride, dtype=np.int64)


def read_frames(episode: Episode, key: str, frames: NDArray[np.integer]) -> NDArray[Any]:
    """Only the given frames of ``key`` (each image frame is its own compressed chunk, so the others are never
    decoded)."""
    if len(frames) == 0:
        return episode.read(key, 0, 0)
    return np.concatenate([episode.read(key, int(f), int(f) + 1) for f in frames])


class ImageEncoder:
    """Maps uint8 RGB frames (N, H, W, 3) to embeddings (N, D) with the model's own preprocessing.

    Preprocessing (timm's data config of the model): scale to [0, 1], resize the whole frame (no crop: recorded
    frames are already framed on the task) to ``input_size`` with the model's interpolation, normalise with its
    mean and standard deviation. The output is the globally pooled, normalised feature vector (ConvNeXt-Tiny:
    768-D, ResNet-18: 512-D).

    Args:
        backbone: ``"convnext_tiny"`` or ``"resnet18"``.
        weights: ``"auto"``, ``"random"``, ``"hf"`` or a weights file (see :func:`build_encoder`).
        seed: Random-initialisation seed.
        input_size: Encoder input side, px.
        batch_size: Frames per forward pass.
    """

    def __init__(self, backbone: str = "convnext_tiny", weights: str = "auto", *, seed: int = 0,
                 input_size: int = 64, batch_size: int = 32) -> None:
        from dexsim.filtering._torch import import_timm

        timm = import_timm()
        self.backbone = backbone
        self.input_size = int(input_size)
        self.batch_size = int(batch_size)
        self.model, self.weights = build_encoder(backbone, weights, seed)
        data_config = timm.data.resolve_data_config({}, model=self.model)
        self.mean = tuple(float(v) for v in data_config["mean"])
        self.std = tuple(float(v) for v in data_config["std"])
        self.interpolation = "bicubic" if data_config.get("interpolation") == "bicubic" else "bilinear"
        self.dim = int(self.model.num_features)

    @property
    def weights_info(self) -> WeightsInfo:
        """The weights in use."""
        return self.weights

    def describe(self) -> dict[str, Any]:
        """Settings that determine the embeddings (cache key and report)."""
        return {"backbone": self.backbone, "input_size": self.input_size, "interpolation": self.interpolation,
                "mean": list(self.mean), "std": list(self.std), "dim": self.dim,
                "weights": self.weights.fingerprint}

    def preprocess(self, frames: NDArray[np.uint8]) -> torch.Tensor:
        """uint8 (N, H, W, 3) -> normalised float (N, 3, input_size, input_size)."""
        import torch
        import torch.nn.functional as F

        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 (N, H, W, 3), got {frames.dtype} {frames.shape}")
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode=self.interpolation,
                              align_corners=False, antialias=True).clamp_(0.0, 1.0)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Embeddings (N, D) float32 of uint8 frames (N, H, W, 3), in batches of ``batch_size``."""
        import torch

        out = np.empty((len(frames), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(frames), self.batch_size):
                batch = self.preprocess(frames[start:start + self.batch_size])
                out[start:start + len(batch)] = self.model(batch).float().numpy()
        return out
