"""What the cameras see: the lid marker reads the angle modulo 360 deg in both cameras; no view is mostly void."""

import math

import mujoco
import numpy as np
import pytest

from dexsim.sim.appearance import LID_QUADRANT_RGB, LID_STRIPE_RGB, lid_marker_colour, lid_marker_faces, look_at_xyaxes
from dexsim.sim.config import SimConfig
from dexsim.sim.scene import CAMERA_NAMES, bottle_name, hand_name
from dexsim.sim.simulation import UnscrewSimulation

MODEL_CAMERA = {"top": "top", "wrist": hand_name("wrist")}


@pytest.fixture(scope="module")
def sim():
    simulation = UnscrewSimulation(SimConfig(cameras=CAMERA_NAMES))
    simulation.reset(seed=0)
    yield simulation
    simulation.close_renderer()


def _set_lid_angle(sim: UnscrewSimulation, angle: float) -> None:
    sim.data.qpos[sim.model.joint(bottle_name("lid_twist")).qposadr[0]] = angle
    mujoco.mj_forward(sim.model, sim.data)


def _lid_mask(sim: UnscrewSimulation, camera: str, size: int) -> np.ndarray:
    renderer = mujoco.Renderer(sim.model, size, size)
    try:
        renderer.enable_segmentation_rendering()
        renderer.update_scene(sim.data, camera=MODEL_CAMERA[camera])
        ids = renderer.render()[..., 0]
    finally:
        renderer.close()
    return ids == sim.model.geom(bottle_name("lid")).id


def _azimuth_points(azimuth: np.ndarray, z: float = 0.0) -> np.ndarray:
    return np.stack([np.cos(azimuth), np.sin(azimuth), np.full_like(azimuth, z)], axis=-1)


def test_quadrants_and_stripe_are_where_documented() -> None:
    centres = np.arange(4) * math.pi / 2 + math.radians(30)  # inside each quadrant, clear of the stripe
    np.testing.assert_array_equal(lid_marker_colour(_azimuth_points(centres)), np.array(LID_QUADRANT_RGB))
    np.testing.assert_array_equal(lid_marker_colour(_azimuth_points(np.zeros(1))), [LID_STRIPE_RGB])
    on_end_face = np.array([[0.5, 0.0, 1.0], [-0.5, 0.0, 1.0]])  # the stripe runs from the centre towards +x only
    colours = lid_marker_colour(on_end_face)
    assert tuple(colours[0]) == LID_STRIPE_RGB and tuple(colours[1]) == LID_QUADRANT_RGB[2]


def test_pattern_has_no_rotational_symmetry() -> None:
    azimuth = np.linspace(-math.pi, math.pi, 721)
    for z in (0.0, 1.0):  # rim and end face
        base = lid_marker_colour(_azimuth_points(azimuth, z) * (0.6 if z else 1.0))
        for turn_deg in (90, 180, 270):
            turned = lid_marker_colour(_azimuth_points(azimuth + math.radians(turn_deg), z) * (0.6 if z else 1.0))
            assert np.mean(np.any(base != turned, axis=-1)) > 0.9, (z, turn_deg)


def test_texture_faces_are_square_rgb() -> None:
    faces = lid_marker_faces(16)
    assert set(faces) == {"fileright", "fileleft", "fileup", "filedown", "filefront", "fileback"}
    assert all(face.shape == (16, 16, 3) and face.dtype == np.uint8 for face in faces.values())


@pytest.mark.parametrize("size", [96, 64])
@pytest.mark.parametrize("camera", CAMERA_NAMES)
def test_lid_at_theta_and_theta_plus_180_differs_in_the_lid_region(sim, camera: str, size: int) -> None:
    for theta in (0.0, 1.0, 2.3):
        _set_lid_angle(sim, theta)
        image = sim.render(camera, size).astype(int)
        mask = _lid_mask(sim, camera, size)
        assert sim.render(camera, size).astype(int).tolist() == image.tolist()  # rendering is deterministic
        _set_lid_angle(sim, theta + math.pi)
        flipped = sim.render(camera, size).astype(int)
        assert mask.sum() >= (60 if size == 96 else 25), f"lid hardly visible in {camera} ({mask.sum()} px)"
        diff = np.abs(image - flipped).max(axis=-1)
        lid_diff = diff[mask].mean()
        # Colour change inside the lid (grey levels, 0-255); outside it nothing moved.
        assert lid_diff > 40, (camera, size, theta, lid_diff)
        assert diff[~mask].mean() < 0.2 * lid_diff
    _set_lid_angle(sim, 0.0)


@pytest.mark.parametrize("camera", CAMERA_NAMES)
def test_every_pixel_shows_the_scene_and_few_are_dark(sim, camera: str) -> None:
    renderer = mujoco.Renderer(sim.model, 96, 96)
    try:
        renderer.enable_segmentation_rendering()
        renderer.update_scene(sim.data, camera=MODEL_CAMERA[camera])
        void = renderer.render()[..., 0] < 0
    finally:
        renderer.close()
    assert not void.any()  # table and backdrop fill what the hand and bottle leave
    image = sim.render(camera, 96)
    assert (image.max(axis=-1) < 40).mean() < 0.2


def test_look_at_points_the_camera_at_the_target() -> None:
    position, target = np.array([0.1, 0.2, 0.3]), np.array([0.0, -0.1, 0.25])
    xyaxes = np.array(look_at_xyaxes(position, target, (0.0, 0.0, 1.0)))
    right, up = xyaxes[:3], xyaxes[3:]
    forward = -np.cross(right, up)  # cameras look along their -z
    np.testing.assert_allclose(forward, (target - position) / np.linalg.norm(target - position), atol=1e-12)
    assert up[2] > 0 and abs(right @ up) < 1e-12
    with pytest.raises(ValueError, match="parallel"):
        look_at_xyaxes(position, position + (0.0, 0.0, 1.0), (0.0, 0.0, 1.0))
