"""``dexsim demo``: the scripted expert unscrews the lid in the twin; writes an mp4 and prints the outcome."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from dexsim.cli_args import output_file
from dexsim.rollout import EpisodeOutcome, run_episode
from dexsim.sim.env import AllegroUnscrewSimEnv
from dexsim.sim.expert import DefectMode, UnscrewExpert

__all__ = ["run_demo", "register"]

_VIEW_SIZE = 320


_CAMERAS = ("top", "wrist")
"""The views of ``render()``, left to right."""


def _number(value: float, width: int, decimals: int) -> str:
    """``value`` formatted without a negative zero (``-0.0`` reads as a sign that is not there)."""
    rounded = round(float(value), decimals) + 0.0  # -0.0 + 0.0 == +0.0
    return f"{rounded:{width}.{decimals}f}"


def _overlay_lines(info: dict[str, Any], label: str) -> list[str]:
    """The text of one video frame: time, lid angle, turns, lift and the expert's status."""
    status = "RELEASED - lid off the thread" if info["success"] else info["termination_reason"] or "unscrewing"
    return [
        f"t = {_number(info['time'], 5, 2)} s   lid {_number(np.degrees(info['lid_angle']), 7, 1)} deg",
        f"turns {_number(info['lid_turns'], 5, 2)}   lift {_number(1000 * info['lid_lift'], 4, 1)} mm",
        f"{label}: {status}",
    ]


def _annotate(frame: NDArray[np.uint8], lines: list[str]) -> NDArray[np.uint8]:
    """Draw text lines on a black bar in the top-left corner and each view's camera name at its bottom left."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 250, 14 * len(lines) + 6), fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((6, 4 + 14 * i), line, fill=(255, 255, 255))
    view_width = frame.shape[1] // len(_CAMERAS)
    for i, camera in enumerate(_CAMERAS):
        x, y = i * view_width, frame.shape[0] - 18
        draw.rectangle((x, y, x + 8 + 6 * len(camera) + 42, frame.shape[0]), fill=(0, 0, 0))
        draw.text((x + 6, y + 3), f"{camera} camera", fill=(255, 255, 255))
    return np.asarray(image)


def run_demo(
    output: Path, seed: int = 0, defect: DefectMode | None = None, view_size: int = _VIEW_SIZE, tail_s: float = 8.0
) -> EpisodeOutcome:
    """Run the expert once in ``AllegroUnscrew-sim`` and write top + wrist views side by side to ``output``.

    Args:
        output: Path of the mp4 to write (its folder is created; written only when the video is complete).
        seed: Reset seed.
        defect: Optional defect mode to demonstrate.
        view_size: Height in px of each view in the video.
        tail_s: Seconds of video after the episode ends; after a success the expert slides the lid off.

    Raises:
        ValueError: ``seed`` is negative, or ``output`` is a directory or lies under a file.
    """
    import gymnasium as gym
    import imageio.v2 as imageio

    import dexsim  # noqa: F401  (registers the envs)

    if seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")
    output = output_file(output, "--output")
    env = gym.make("AllegroUnscrew-sim", cameras=(), render_mode="rgb_array", render_size=view_size)
    sim_env: AllegroUnscrewSimEnv = env.unwrapped  # type: ignore[assignment]
    fps = int(sim_env.config.control_hz)
    output.parent.mkdir(parents=True, exist_ok=True)
    expert = UnscrewExpert(env, defect=defect)
    partial = output.with_name(f".{output.stem}.partial{output.suffix}")  # renamed to output when complete
    writer = imageio.get_writer(str(partial), fps=fps, codec="libx264", quality=7, macro_block_size=16)

    def write(info: dict[str, Any]) -> None:
        frame = sim_env.render()
        assert frame is not None  # rgb_array mode always returns a frame
        writer.append_data(_annotate(frame, _overlay_lines(info, expert.label)))

    try:
        outcome = run_episode(env, expert, seed=seed, on_reset=lambda obs, info: write(info),
                              on_step=lambda step: write(step.next_info))
        simulation = sim_env.simulation
        for frame_index in range(int(tail_s * fps)):  # after the release the expert slides the lid off
            if outcome.success:
                simulation.set_joint_targets(expert.lid_removal_target(frame_index / fps))
            simulation.step_physics(sim_env.config.control_dt)
            write(outcome.final_info | {"time": simulation.time, "lid_angle": simulation.lid_state().angle,
                                        "lid_turns": simulation.lid_state().turns,
                                        "lid_lift": simulation.lid_state().lift})
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    else:
        writer.close()
        os.replace(partial, output)
    finally:
        env.close()
    return outcome


def _handle(args: argparse.Namespace) -> int:
    defect = DefectMode(args.defect) if args.defect else None
    outcome = run_demo(output_file(args.output, "--output"), seed=args.seed, defect=defect)
    print(f"outcome: {outcome.termination_reason} after {outcome.duration_s:.1f} s ({outcome.steps} steps), "
          f"lid turned {outcome.final_info['lid_turns']:.2f} turns, success={outcome.success}")
    print(f"video: {args.output}")
    return 0 if outcome.success or defect is not None else 1


def register(subparsers: Any) -> None:
    """Add ``dexsim demo`` to the CLI."""
    parser = subparsers.add_parser("demo", help="run the scripted expert in the sim and write a video")
    parser.add_argument("--output", "-o", default="out/demo.mp4", help="mp4 to write (default: out/demo.mp4)")
    parser.add_argument("--seed", type=int, default=0, help="reset seed (default: 0)")
    parser.add_argument("--defect", choices=[d.value for d in DefectMode], default=None,
                        help="demonstrate a defect mode instead of a clean run")
    parser.set_defaults(handler=_handle)
