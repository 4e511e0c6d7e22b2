"""One evaluation trial: run an episode from a seeded placement and classify how it ended."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.eval.placements import Placement
from dexsim.interface import INFO_LID_TURNS, Controller, env_config
from dexsim.rollout import run_episode

__all__ = ["TrialResult", "OUTCOMES", "classify_outcome", "run_trial", "DETERMINISTIC_FIELDS"]

OUTCOMES = ("success", "dropped", "timeout")
"""The outcomes of sim trials; the real hand adds its own (``failure``, ``estop``, ``stale_joint_states``, ...)."""


def classify_outcome(termination_reason: str, success: bool) -> str:
    """``success``, ``dropped`` (bottle left the hand), ``timeout`` (time limit) or the backend's reason."""
    if success:
        return "success"
    if termination_reason == "bottle_dropped":
        return "dropped"
    if termination_reason in ("time_limit", "max_steps", ""):
        return "timeout"
    return termination_reason


@dataclass(frozen=True)
class TrialResult:
    """How one trial went (one row of ``trials.csv``).

    Attributes:
        trial: Trial index (0-based); the same index is the same placement for every policy.
        seed: Env reset seed (``EVAL_SEED_BASE + trial``).
        success: Lid off within the time limit.
        outcome: ``success``, ``dropped``, ``timeout`` or a backend reason (see :func:`classify_outcome`).
        time_to_success_s: Episode time at success, s (``nan`` when failed).
        duration_s: Episode time at the end, s.
        steps: Env steps taken.
        lid_turns: Lid rotation at the end, turns (``nan`` on the real hand).
        placement_y_mm: Bottle offset along the palm width, mm (+ = towards the index finger).
        placement_z_mm: Bottle offset along the fingers, mm (+ = towards the fingertips).
        wall_s: Wall-clock time of the trial, s (the only field that varies between identical runs).
        video: Path of the trial's video, relative to the results directory ('' if none).
    """

    trial: int
    seed: int
    success: bool
    outcome: str
    time_to_success_s: float
    duration_s: float
    steps: int
    lid_turns: float
    placement_y_mm: float
    placement_z_mm: float
    wall_s: float
    video: str = ""

    def to_row(self) -> dict[str, Any]:
        """CSV row (floats exact, booleans as 0/1)."""
        row = asdict(self)
        row["success"] = int(self.success)
        for key in ("time_to_success_s", "duration_s", "lid_turns", "placement_y_mm", "placement_z_mm"):
            row[key] = "" if math.isnan(row[key]) else repr(float(row[key]))  # exact round trip
        row["wall_s"] = f"{self.wall_s:.3f}"
        return row

    @classmethod
    def from_row(cls, row: dict[str, str], where: str = "trials.csv") -> TrialResult:
        """Parse a CSV row written by :meth:`to_row`.

        Raises:
            ValueError: A missing column or a malformed value (naming ``where``, the column and the trial).
        """
        missing = [f.name for f in fields(cls) if f.name not in row and f.name != "video"]
        if missing:
            raise ValueError(f"{where}: missing columns {missing}")

        def number(key: str) -> float:
            text = row[key]
            try:
                return float(text) if text != "" else float("nan")
            except ValueError:
                raise ValueError(f"{where}: trial {row.get('trial')}: {key}={text!r} is not a number") from None

        try:
            return cls(trial=int(row["trial"]), seed=int(row["seed"]), success=row["success"].strip() in ("1", "True"),
                       outcome=row["outcome"], time_to_success_s=number("time_to_success_s"),
                       duration_s=number("duration_s"), steps=int(row["steps"]), lid_turns=number("lid_turns"),
                       placement_y_mm=number("placement_y_mm"), placement_z_mm=number("placement_z_mm"),
                       wall_s=number("wall_s"), video=row.get("video", "") or "")
        except (TypeError, ValueError) as exc:
            if str(exc).startswith(where):
                raise
            raise ValueError(f"{where}: malformed row {row}: {exc}") from None


DETERMINISTIC_FIELDS = tuple(f.name for f in fields(TrialResult) if f.name not in ("wall_s", "video"))
"""The fields two runs with the same seeds must agree on."""


def run_trial(env: gym.Env[Any, Any], controller: Controller, trial: int, seed: int, *,
              placement: Placement | None = None, video_path: str | Path | None = None,
              video_root: str | Path | None = None) -> TrialResult:
    """Run trial ``trial`` (reset seed ``seed``) of ``controller`` in ``env``.

    Args:
        env: The evaluation env; for videos it must have ``render_mode="rgb_array"``.
        controller: The policy (reset with ``seed`` after the env).
        trial: Trial index.
        seed: Reset seed.
        placement: The placement (real hand: the one the operator was asked for); in the twin it is read from the
            reset's ``scene_params``.
        video_path: Write the trial's video here.
        video_root: ``video_path`` is stored relative to this directory.
    """
    frames: list[NDArray[np.uint8]] = []
    scene: dict[str, Any] = {}

    def on_reset(observation: dict[str, Any], info: dict[str, Any]) -> None:
        scene.update(info.get("scene_params") or {})
        if video_path is not None:
            frames.append(np.asarray(env.render()))

    def on_step(_: Any) -> None:
        frames.append(np.asarray(env.render()))

    start = time.perf_counter()
    outcome = run_episode(env, controller, seed=seed, on_reset=on_reset,
                          on_step=on_step if video_path is not None else None)
    wall = time.perf_counter() - start
    if scene:
        placement = Placement.from_scene(seed, scene)
    video = ""
    if video_path is not None:
        from dexsim.eval.video import write_video

        written = write_video(video_path, frames, env_config(env).control_hz)
        video = str(written.relative_to(video_root)) if video_root is not None else str(written)
    nan = float("nan")
    return TrialResult(
        trial=trial, seed=seed, success=outcome.success,
        outcome=classify_outcome(outcome.termination_reason, outcome.success),
        time_to_success_s=outcome.duration_s if outcome.success else nan,
        duration_s=outcome.duration_s, steps=outcome.steps,
        lid_turns=float(outcome.final_info.get(INFO_LID_TURNS, nan)),
        placement_y_mm=placement.y_mm if placement is not None else nan,
        placement_z_mm=placement.z_mm if placement is not None else nan,
        wall_s=wall, video=video,
    )
