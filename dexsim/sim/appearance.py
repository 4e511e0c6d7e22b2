"""How the scene looks to its cameras: the lid's angle marker, the table and backdrop, the lights, camera aim.

Everything here is visual only (no collision, no mass) and primitive (planes, cylinders, one small cube
texture), so rendering stays cheap on a CPU (Mesa llvmpipe; see ``shared/facts.md``, "Rendering on CPU").

The lid marker
    The lid carries a cube-map texture that MuJoCo projects onto the cylinder from its own frame (normalised by
    the geom's size, so it follows the per-reset lid size). Around the rim and on the end face the lid is split
    into four coloured quadrants, centred on the lid's local +x, +y, -x and -y axes (:data:`LID_QUADRANT_RGB`),
    and a dark stripe (:data:`LID_STRIPE_RGB`) runs radially across the end face and on across the rim in the
    middle of the +x quadrant. Any view of half the rim shows two or three quadrant colours in a known cyclic
    order, so a camera reads the lid angle modulo 360 deg (the old single diametral stripe read it modulo 180).
"""

from __future__ import annotations

import io
import math

import numpy as np
from dm_control import mjcf
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "LID_QUADRANT_RGB",
    "LID_STRIPE_RGB",
    "LID_STRIPE_HALF_WIDTH",
    "TABLE_RGBA",
    "BACKDROP_RGBA",
    "lid_marker_colour",
    "lid_marker_faces",
    "dress_bottle",
    "add_surroundings",
    "look_at_xyaxes",
]

LID_QUADRANT_RGB: tuple[tuple[int, int, int], ...] = (
    (245, 245, 240),  # +x: white (carries the stripe)
    (250, 200, 20),  # +y: yellow
    (215, 35, 30),  # -x: red
    (30, 150, 70),  # -y: green
)
"""Colours of the lid's quadrants, counter-clockwise about the lid axis starting at the lid's local +x."""
LID_STRIPE_RGB: tuple[int, int, int] = (20, 20, 25)
"""Colour of the radial stripe through the middle of the +x quadrant."""
LID_STRIPE_HALF_WIDTH = 0.16
"""Half-width of the stripe as a fraction of the lid radius (on the end face) or in rad (on the rim)."""
TABLE_RGBA = (0.66, 0.63, 0.58, 1.0)
"""Colour of the table top under the hand (light, so the dark finger links stand out from above)."""
BACKDROP_RGBA = (0.78, 0.80, 0.82, 1.0)
"""Colour of the wall behind the fingertips (light, so the dark finger links stand out in the wrist view)."""

_TEXTURE_TEXELS = 64  # per cube face; the lid spans at most ~40 px in a 96-128 px camera image


def lid_marker_colour(direction: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Marker colour (RGB) at points of the lid, given as directions from its centre in size-normalised coordinates.

    Args:
        direction: (..., 3) points ``(x / r, y / r, z / h)`` of the lid frame (``r`` radius, ``h`` half-height).

    Returns:
        (..., 3) uint8 colours.
    """
    d = np.asarray(direction, dtype=np.float64)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    azimuth = np.arctan2(y, x)
    quadrant = np.mod(np.round(azimuth / (math.pi / 2)).astype(int), 4)
    colour = np.asarray(LID_QUADRANT_RGB, dtype=np.uint8)[quadrant]
    # On the end faces (|z| dominant in the cube projection) the stripe is a band of constant width from the centre
    # towards +x; on the rim it is an angular band about azimuth 0.
    on_end_face = np.abs(z) >= np.maximum(np.abs(x), np.abs(y))
    end_band = (x > 0) & (np.abs(y) <= LID_STRIPE_HALF_WIDTH * np.maximum(np.abs(z), 1e-9))
    rim_band = np.abs(azimuth) <= LID_STRIPE_HALF_WIDTH
    stripe = np.where(on_end_face, end_band, rim_band)
    colour[stripe] = LID_STRIPE_RGB
    return colour


def lid_marker_faces(texels: int = _TEXTURE_TEXELS) -> dict[str, NDArray[np.uint8]]:
    """The six faces of the lid's cube texture, keyed by MJCF attribute (``fileright`` ... ``fileback``).

    Face texel ``(row, col)`` looks along the OpenGL cube-map direction of that face (``right`` = +x,
    ``up`` = +y, ``front`` = +z; ``s, t`` in [-1, 1] along columns and rows).
    """
    t = (np.arange(texels) + 0.5) / texels * 2.0 - 1.0
    s, tt = np.meshgrid(t, t)  # s along columns, tt along rows
    one = np.ones_like(s)
    directions = {
        "fileright": np.stack([one, -tt, -s], axis=-1),
        "fileleft": np.stack([-one, -tt, s], axis=-1),
        "fileup": np.stack([s, one, tt], axis=-1),
        "filedown": np.stack([s, -one, -tt], axis=-1),
        "filefront": np.stack([s, -tt, one], axis=-1),
        "fileback": np.stack([-s, -tt, -one], axis=-1),
    }
    return {face: lid_marker_colour(d) for face, d in directions.items()}


def _png(image: NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def dress_bottle(bottle: mjcf.RootElement) -> None:
    """Give the bottle model its camera-facing look: the quadrant marker on the lid.

    Expects the geom ``lid`` of ``assets/bottle.xml``, a cylinder about its body's z axis (the thread axis).
    """
    lid = bottle.find("geom", "lid")
    if lid is None:
        raise ValueError("bottle model has no geom named 'lid' to dress")
    faces = {face: mjcf.Asset(_png(image), ".png") for face, image in lid_marker_faces().items()}
    texture = bottle.asset.add("texture", name="lid_marker", type="cube", **faces)
    material = bottle.asset.add("material", name="lid_marker", texture=texture, rgba=(1, 1, 1, 1), specular=0.2,
                                shininess=0.2)
    lid.material = material
    lid.rgba = None  # a geom colour would tint the texture


def add_surroundings(root: mjcf.RootElement, palm_height: float) -> None:
    """Table, backdrop and lights: no camera view is mostly black, and dark links stand out from what is behind.

    The table top is the floor plane ``palm_height`` below the hand; the backdrop is a wall beyond the fingertips
    (world +x), which fills the upper part of the wrist camera's view. The ``key`` light shines from above the
    thumb side; a weaker ``fill`` light from the wrist end lifts the shadows; neither casts shadows.
    """
    world = root.worldbody
    world.add("geom", name="floor", type="plane", size=(1.5, 1.5, 0.1), rgba=TABLE_RGBA, contype=1, conaffinity=1)
    world.add("geom", name="backdrop", type="plane", size=(1.0, 1.5, 0.1), pos=(0.45, 0.0, 0.9),
              zaxis=(-1.0, 0.0, 0.0), rgba=BACKDROP_RGBA, contype=0, conaffinity=0, group=1)
    world.add("light", name="key", pos=(0.15, 0.35, palm_height + 0.6), dir=(-0.15, -0.35, -0.6),
              diffuse=(0.55, 0.55, 0.55), specular=(0.1, 0.1, 0.1), castshadow=False)
    world.add("light", name="fill", pos=(-0.5, -0.1, palm_height + 0.3), dir=(0.5, 0.1, -0.3),
              diffuse=(0.25, 0.25, 0.25), specular=(0.0, 0.0, 0.0), castshadow=False)


def look_at_xyaxes(position: NDArray[np.floating], target: NDArray[np.floating],
                   up: NDArray[np.floating]) -> tuple[float, ...]:
    """MJCF ``xyaxes`` of a camera at ``position`` looking at ``target``, image-up as close to ``up`` as possible.

    All three vectors are in the frame of the camera's parent body. MuJoCo cameras look along their -z axis,
    with +x to the image right and +y to the image top.
    """
    forward = np.asarray(target, dtype=np.float64) - np.asarray(position, dtype=np.float64)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    norm = float(np.linalg.norm(right))
    if norm < 1e-6:
        raise ValueError("camera 'up' is parallel to the viewing direction")
    right /= norm
    image_up = np.cross(right, forward)
    return tuple(float(v) for v in (*right, *image_up))
