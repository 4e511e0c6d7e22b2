"""Per-trial videos: the env's ``render()`` frames written as an H.264 mp4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["write_video"]


def write_video(path: str | Path, frames: list[NDArray[np.uint8]], fps: float) -> Path:
    """Encode ``frames`` (H, W, 3 uint8, all the same size) at ``fps`` frames/s to ``path`` (parents created).

    Raises:
        ValueError: No frames.
    """
    import imageio.v2 as imageio

    if not frames:
        raise ValueError(f"video {path}: no frames to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: Any = imageio.get_writer(str(path), fps=fps, codec="libx264", quality=7, macro_block_size=16)
    try:
        for frame in frames:
            writer.append_data(np.ascontiguousarray(frame))
    finally:
        writer.close()
    return path
