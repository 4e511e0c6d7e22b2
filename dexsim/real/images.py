"""Camera frames to and from ``sensor_msgs/Image`` and ``sensor_msgs/CompressedImage`` messages."""

from __future__ import annotations

import io
from typing import Any

import imageio.v3 as iio
import numpy as np
from numpy.typing import NDArray

__all__ = ["message_to_rgb", "fit_square", "fill_raw_image", "fill_compressed_image"]


def message_to_rgb(message: Any, compressed: bool) -> NDArray[np.uint8]:
    """The frame in ``message`` as ``uint8`` (H, W, 3) RGB.

    Raw images must be ``rgb8`` or ``bgr8`` (``step`` bytes per row); compressed ones any format imageio reads
    (jpeg, png). Raises ``ValueError`` naming what is wrong.
    """
    raw = message.data
    data = np.frombuffer(raw, np.uint8) if isinstance(raw, (bytes, bytearray)) else np.asarray(raw, np.uint8)
    if compressed:
        try:
            frame = iio.imread(io.BytesIO(data.tobytes()), plugin="pillow")
        except Exception as exc:  # imageio raises many kinds for corrupt data
            raise ValueError(f"cannot decode compressed image (format {message.format!r}): {exc}") from None
        if frame.ndim == 2:
            frame = np.repeat(frame[:, :, None], 3, axis=2)
        return np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8)
    encoding = str(message.encoding)
    if encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"image encoding {encoding!r} is not supported; use rgb8 or bgr8")
    height, width, step = int(message.height), int(message.width), int(message.step)
    if step < 3 * width or data.size != step * height:
        raise ValueError(f"image of {width}x{height} with step {step} carries {data.size} bytes")
    frame = data.reshape(height, step)[:, : 3 * width].reshape(height, width, 3)
    return np.ascontiguousarray(frame[:, :, ::-1] if encoding == "bgr8" else frame)


def fit_square(frame: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Centre-crop ``frame`` to a square and resize it to ``size`` x ``size`` (nearest neighbour)."""
    height, width = frame.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = frame[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(square)
    index = (np.arange(size) * side) // size
    return np.ascontiguousarray(square[index][:, index])


def fill_raw_image(message: Any, frame: NDArray[np.uint8]) -> Any:
    """Put an RGB ``frame`` into a ``sensor_msgs/Image`` as ``rgb8``; returns the message."""
    height, width = frame.shape[:2]
    message.height, message.width, message.encoding = height, width, "rgb8"
    message.is_bigendian, message.step = 0, 3 * width
    message.data = np.ascontiguousarray(frame, dtype=np.uint8).tobytes()
    return message


def fill_compressed_image(message: Any, frame: NDArray[np.uint8], image_format: str = "jpeg") -> Any:
    """Put an RGB ``frame`` into a ``sensor_msgs/CompressedImage`` (``jpeg`` or ``png``); returns the message."""
    extension = {"jpeg": ".jpg", "png": ".png"}.get(image_format)
    if extension is None:
        raise ValueError(f"compressed image format must be 'jpeg' or 'png', got {image_format!r}")
    message.format = image_format
    message.data = iio.imwrite("<bytes>", frame, extension=extension, plugin="pillow")
    return message
