"""Camera frames through sensor_msgs/Image and CompressedImage."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from dexsim.real.images import fill_compressed_image, fill_raw_image, fit_square, message_to_rgb  # noqa: E402
from dexsim.real.messages import CompressedImage, Image  # noqa: E402

FRAME = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def test_raw_frames_round_trip_through_the_wire_format() -> None:
    message = Image.deserialize(fill_raw_image(Image(), FRAME).serialize())
    assert (message.height, message.width, message.step, message.encoding) == (48, 64, 192, "rgb8")
    np.testing.assert_array_equal(message_to_rgb(message, compressed=False), FRAME)
    message.encoding = "bgr8"
    np.testing.assert_array_equal(message_to_rgb(message, compressed=False), FRAME[:, :, ::-1])
    message.encoding = "mono16"
    with pytest.raises(ValueError, match="mono16"):
        message_to_rgb(message, compressed=False)
    message.encoding, message.step = "rgb8", 300
    with pytest.raises(ValueError, match="step 300"):
        message_to_rgb(message, compressed=False)


def test_compressed_frames_decode() -> None:
    message = CompressedImage.deserialize(fill_compressed_image(CompressedImage(), FRAME, "png").serialize())
    np.testing.assert_array_equal(message_to_rgb(message, compressed=True), FRAME)
    smooth = np.broadcast_to(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (48, 64, 3)).copy()
    jpeg = fill_compressed_image(CompressedImage(), smooth, "jpeg")
    assert np.abs(message_to_rgb(jpeg, compressed=True).astype(int) - smooth).mean() < 3
    jpeg.data = list(jpeg.data)[:20]
    with pytest.raises(ValueError, match="cannot decode"):
        message_to_rgb(jpeg, compressed=True)


def test_fit_square_crops_the_centre_and_resizes() -> None:
    square = fit_square(FRAME, 48)
    np.testing.assert_array_equal(square, FRAME[:, 8:56])
    assert fit_square(FRAME, 24).shape == (24, 24, 3)
    np.testing.assert_array_equal(fit_square(FRAME, 24), FRAME[::2, 8:56:2])
