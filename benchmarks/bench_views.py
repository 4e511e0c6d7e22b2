"""What the twin's cameras see: framing over expert episodes, dark/void pixels, lid-marker contrast, render rate.

Run: ``.venv/bin/python benchmarks/bench_views.py [--episodes 3] [--size 96] [--samples docs/images]``

* Framing: over ``--episodes`` seeded expert episodes (nominal scene), the share of frames in which each camera
  sees the lid and the index fingertip (at least ``--min-pixels`` pixels of each, from segmentation renders),
  and in which the lid centre and the fingertip centre project inside the central crop that diffusion-policy
  encoders keep (84 of 96 px: a margin of 1/16 of the image on each side).
* Dark / void: the share of pixels darker than 40/255 in every channel, and of pixels that show no geometry at
  all (the black clear colour), averaged over the same frames.
* Marker contrast: with the grasp closed and the index fingertip on the lid, at twelve lid angles theta,
  the mean colour change (max over RGB, 0-255) inside the lid's
  pixels between the lid at theta and at theta + 180 deg, at ``--size`` and at 64 px; the minimum over theta
  is what a policy can count on (0 means the angle is ambiguous modulo 180 deg).
* Render rate: single-camera frames/s at ``--size`` px (Mesa llvmpipe on CPU machines).
* ``--samples DIR`` writes small PNGs of both cameras at three lid angles (0, 120, 240 deg; grasp closed, index
  finger on the lid) plus one sheet of all six at 2x.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import dexsim  # noqa: E402,F401
from dexsim.rollout import run_episode  # noqa: E402
from dexsim.sim.expert import UnscrewExpert  # noqa: E402
from dexsim.sim.scene import bottle_name, hand_name  # noqa: E402
from dexsim.sim.simulation import UnscrewSimulation  # noqa: E402

CAMERAS = {"top": "top", "wrist": hand_name("wrist")}
DARK_LEVEL = 40
SAMPLE_ANGLES_DEG = (0, 120, 240)
GRASP_STEPS = 30  # 1.5 s of the expert: cage closed, index fingertip on the lid


def _segment(renderer: mujoco.Renderer, data: mujoco.MjData, camera: str) -> np.ndarray:
    renderer.enable_segmentation_rendering()
    renderer.update_scene(data, camera=camera)
    ids = renderer.render()[..., 0].copy()
    renderer.disable_segmentation_rendering()
    return ids


def project(model: mujoco.MjModel, data: mujoco.MjData, camera: int, point: np.ndarray,
            size: int) -> tuple[float, float]:
    """Pixel (column, row) of a world point in a square ``size`` px image of ``camera``."""
    local = data.cam_xmat[camera].reshape(3, 3).T @ (point - data.cam_xpos[camera])
    focal = size / 2 / math.tan(math.radians(model.cam_fovy[camera]) / 2)
    depth = max(-local[2], 1e-9)  # cameras look along their -z
    return size / 2 + focal * local[0] / depth, size / 2 - focal * local[1] / depth


def _in_centre_crop(pixel: tuple[float, float], size: int) -> bool:
    margin = size / 16
    return all(margin <= v <= size - margin for v in pixel)


def framing(episodes: int, size: int, min_pixels: int) -> dict[str, dict[str, float]]:
    """Per camera: share of frames with the lid / index tip in view and centred, mean dark and void shares."""
    env = gym.make("AllegroUnscrew-sim", cameras=(), image_size=size)
    sim = env.unwrapped.simulation
    model = sim.model
    lid = model.geom(bottle_name("lid")).id
    tip = model.geom(hand_name("index_tip")).id
    renderer = mujoco.Renderer(model, size, size)
    lid_body = model.body(bottle_name("lid")).id
    tip_site = model.site(hand_name("index_tip")).id
    counts = {cam: {"frames": 0, "lid": 0, "tip": 0, "lid_c": 0, "tip_c": 0, "dark": 0.0, "void": 0.0}
              for cam in CAMERAS}

    def measure(_: object) -> None:
        for cam, model_name in CAMERAS.items():
            ids = _segment(renderer, sim.data, model_name)
            renderer.update_scene(sim.data, camera=model_name)
            image = renderer.render()
            c = counts[cam]
            c["frames"] += 1
            c["lid"] += int((ids == lid).sum() >= min_pixels)
            c["tip"] += int((ids == tip).sum() >= min_pixels)
            cam_id = model.camera(model_name).id
            c["lid_c"] += int(_in_centre_crop(project(model, sim.data, cam_id, sim.data.xpos[lid_body], size), size))
            c["tip_c"] += int(_in_centre_crop(project(model, sim.data, cam_id, sim.data.site_xpos[tip_site], size),
                                              size))
            c["dark"] += float((image.max(axis=-1) < DARK_LEVEL).mean())
            c["void"] += float((ids < 0).mean())

    for seed in range(episodes):
        run_episode(env, UnscrewExpert(env), seed=seed, on_step=measure)
    renderer.close()
    env.close()
    return {cam: {"lid_in_view": c["lid"] / c["frames"], "index_tip_in_view": c["tip"] / c["frames"],
                  "lid_centred": c["lid_c"] / c["frames"], "index_tip_centred": c["tip_c"] / c["frames"],
                  "dark": c["dark"] / c["frames"], "void": c["void"] / c["frames"], "frames": c["frames"]}
            for cam, c in counts.items()}


def _set_lid_angle(sim: UnscrewSimulation, angle: float) -> None:
    sim.data.qpos[sim.model.joint(bottle_name("lid_twist")).qposadr[0]] = angle
    mujoco.mj_forward(sim.model, sim.data)


def grasped_env(steps: int) -> gym.Env:
    """Nominal env at seed 0 after ``steps`` clean expert steps (grasp closed, index finger on the lid)."""
    env = gym.make("AllegroUnscrew-sim", cameras=())
    expert = UnscrewExpert(env)
    obs, info = env.reset(seed=0)
    expert.reset(seed=0)
    for _ in range(steps):
        obs, _, _, _, info = env.step(expert.act(obs, info))
    return env


def marker_contrast(sizes: tuple[int, ...], grasp_steps: int) -> dict[tuple[str, int], tuple[float, float, float]]:
    """Per (camera, size): min and median over theta of the theta/theta+180 colour change in the lid, lid px.

    Measured with the grasp closed and the index fingertip on the lid (after ``grasp_steps`` expert steps).
    """
    env = grasped_env(grasp_steps)
    sim = env.unwrapped.simulation
    lid = sim.model.geom(bottle_name("lid")).id
    out = {}
    for size in sizes:
        renderer = mujoco.Renderer(sim.model, size, size)
        for cam, model_name in CAMERAS.items():
            changes, pixels = [], []
            for theta in np.radians(np.arange(0, 360, 30)):
                _set_lid_angle(sim, theta)
                mask = _segment(renderer, sim.data, model_name) == lid
                renderer.update_scene(sim.data, camera=model_name)
                image = renderer.render().astype(int)
                _set_lid_angle(sim, theta + math.pi)
                renderer.update_scene(sim.data, camera=model_name)
                flipped = renderer.render().astype(int)
                changes.append(float(np.abs(image - flipped).max(axis=-1)[mask].mean()))
                pixels.append(int(mask.sum()))
            out[(cam, size)] = (min(changes), float(np.median(changes)), float(np.median(pixels)))
        renderer.close()
    env.close()
    return out


def render_rate(size: int, frames: int) -> dict[str, float]:
    """Frames/s of one camera."""
    sim = UnscrewSimulation()
    sim.reset(seed=0)
    renderer = mujoco.Renderer(sim.model, size, size)
    rates = {}
    for cam, model_name in CAMERAS.items():
        renderer.update_scene(sim.data, camera=model_name)
        renderer.render()
        start = time.perf_counter()
        for _ in range(frames):
            renderer.update_scene(sim.data, camera=model_name)
            renderer.render()
        rates[cam] = frames / (time.perf_counter() - start)
    renderer.close()
    return rates


def write_samples(directory: Path, size: int, grasp_steps: int = GRASP_STEPS) -> list[Path]:
    """PNG per camera and lid angle, and a sheet of all six.

    Nominal scene, seed 0, after ``grasp_steps`` expert steps (caging grasp closed, index finger on the lid);
    the lid is then turned to each sample angle in place.
    """
    directory.mkdir(parents=True, exist_ok=True)
    env = grasped_env(grasp_steps)
    sim = env.unwrapped.simulation
    written, rows = [], []
    for cam in CAMERAS:
        row = []
        for deg in SAMPLE_ANGLES_DEG:
            _set_lid_angle(sim, math.radians(deg))
            image = sim.render(cam, size)
            path = directory / f"{cam}_lid{deg:03d}.png"
            Image.fromarray(image).save(path, optimize=True)
            written.append(path)
            row.append(image)
        rows.append(np.concatenate(row, axis=1))
    env.close()
    sheet = np.concatenate(rows, axis=0)
    path = directory / "cameras_lid_angles.png"
    Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.NEAREST).save(path, optimize=True)
    written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3, help="expert episodes for framing and dark/void shares")
    parser.add_argument("--size", type=int, default=96, help="camera resolution, px")
    parser.add_argument("--min-pixels", type=int, default=4, help="pixels of a part that count as 'in view'")
    parser.add_argument("--frames", type=int, default=300, help="frames per camera for the render rate")
    parser.add_argument("--samples", type=Path, default=None, help="directory for the sample PNGs (default: none)")
    args = parser.parse_args()

    print(f"MuJoCo {mujoco.__version__}, MUJOCO_GL={os.environ['MUJOCO_GL']}, {args.size} px, nominal scene")
    frames = framing(args.episodes, args.size, args.min_pixels)
    print(f"share of frames (expert seeds 0..{args.episodes - 1}, {frames['top']['frames']:.0f} frames) with the "
          "part in view / its centre in the central crop; mean share of dark and void pixels")
    print(f"{'camera':<8}{'lid':>12}{'index tip':>12}{'dark px':>9}{'void px':>9}")
    for cam, f in frames.items():
        lid = f"{f['lid_in_view']:.0%}/{f['lid_centred']:.0%}"
        tip = f"{f['index_tip_in_view']:.0%}/{f['index_tip_centred']:.0%}"
        print(f"{cam:<8}{lid:>12}{tip:>12}{f['dark']:>9.1%}{f['void']:>9.1%}")
    sizes = tuple(dict.fromkeys((args.size, 64)))
    print("lid marker: colour change inside the lid between theta and theta+180 deg (0-255, over 12 angles)")
    for (cam, size), (low, median, pixels) in marker_contrast(sizes, GRASP_STEPS).items():
        print(f"  {cam:<6} {size:>4} px: min {low:5.1f}, median {median:5.1f}   (lid ~{pixels:.0f} px)")
    rates = render_rate(args.size, args.frames)
    print("render rate: " + ", ".join(f"{cam} {rate:.0f} frames/s" for cam, rate in rates.items()))
    if args.samples is not None:
        for path in write_samples(args.samples, args.size):
            print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
