"""Benchmark of the twin: env steps/s with and without cameras vs a raw MuJoCo loop, and the expert's success.

Run: ``.venv/bin/python benchmarks/bench_sim.py [--episodes 100] [--steps 400]``

* Throughput: the env (``AllegroUnscrew-sim``, 20 Hz control, 25 physics steps of 2 ms per env step) and a
  raw loop over the *same compiled model* (``mj_step`` x 25 + the same renders, ctrl set directly) replay the
  same joint-target sequence from expert episodes, alternating round by round (``--repeats`` rounds). The
  median per-round time ratio env/raw is the env's overhead (goal <= 1.1x with cameras); steps/s are the best
  round of each.
* Peer: Gymnasium-Robotics' Shadow-hand HandManipulate env reaches 107 env steps/s with one 96 px camera on
  this machine kind (shared/facts.md; it does not run on MuJoCo >= 3.12, so it cannot run beside us). The goal
  is >= 3x that (321 env steps/s) with two 96 px cameras.
* Expert: success rate of the clean scripted expert over ``--episodes`` seeded randomised resets.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402

import dexsim  # noqa: E402,F401
from dexsim.interface import OBS_JOINT_POSITIONS, target_to_action  # noqa: E402
from dexsim.rollout import run_episode  # noqa: E402
from dexsim.sim.expert import UnscrewExpert  # noqa: E402

SHADOW_HAND_ONE_CAMERA_STEPS_PER_S = 107.0


def expert_targets(steps: int) -> np.ndarray:
    """Joint targets of expert episodes (restarted as needed) to replay: (steps, 16)."""
    env = gym.make("AllegroUnscrew-sim", cameras=())
    expert = UnscrewExpert(env)
    targets: list[np.ndarray] = []
    seed = 0
    while len(targets) < steps:
        run_episode(env, expert, seed=seed, on_step=lambda step: targets.append(step.next_info["joint_targets"]))
        seed += 1
    env.close()
    return np.array(targets[:steps])


class EnvLoop:
    """The env replaying joint targets (as delta actions), resetting to seed 0 when an episode ends."""

    def __init__(self, cameras: tuple[str, ...], size: int) -> None:
        self.env = gym.make("AllegroUnscrew-sim", cameras=cameras, image_size=size, time_limit_s=1e4)
        self.obs, _ = self.env.reset(seed=0)
        self.bound = self.env.unwrapped.config.max_joint_delta

    def run(self, targets: np.ndarray) -> float:
        """Seconds to step through ``targets``."""
        start = time.perf_counter()
        for target in targets:
            self.obs, _, terminated, truncated, _ = self.env.step(
                target_to_action(target, self.obs[OBS_JOINT_POSITIONS], self.bound))
            if terminated or truncated:
                self.obs, _ = self.env.reset(seed=0)
        return time.perf_counter() - start

    def close(self) -> None:
        self.env.close()


class RawLoop:
    """A bare MuJoCo loop on the env's own compiled model: ctrl set directly, ``mj_step`` x N, the same renders."""

    def __init__(self, cameras: tuple[str, ...], size: int) -> None:
        self.env = gym.make("AllegroUnscrew-sim", cameras=(), image_size=size)
        self.env.reset(seed=0)
        sim = self.env.unwrapped.simulation
        self.model, self.data = sim.model, sim.data
        self.substeps = self.env.unwrapped.config.physics_steps_per_control
        self.actuators = sim._actuators
        self.renderer = mujoco.Renderer(self.model, size, size) if cameras else None
        self.camera_ids = [self.model.camera("top" if c == "top" else "allegro_right/wrist").id for c in cameras]

    def run(self, targets: np.ndarray) -> float:
        """Seconds to step through ``targets``."""
        model, data, renderer = self.model, self.data, self.renderer
        start = time.perf_counter()
        for target in targets:
            data.ctrl[self.actuators] = target
            for _ in range(self.substeps):
                mujoco.mj_step(model, data)
            for camera in self.camera_ids:
                renderer.update_scene(data, camera=camera)
                renderer.render()
        return time.perf_counter() - start

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
        self.env.close()


def interleaved_rates(cameras: tuple[str, ...], targets: np.ndarray, size: int,
                      repeats: int) -> tuple[float, float, float]:
    """Raw and env steps/s (best run of each) and the median of the per-round env/raw time ratios.

    The two loops alternate, round by round (which goes first alternates too), so that load from other
    processes on a shared machine hits both alike; the paired ratio is the overhead figure.
    """
    raw, env = RawLoop(cameras, size), EnvLoop(cameras, size)
    raw.run(targets[:5])  # warm-up: GL contexts, first-touch allocations
    env.run(targets[:5])
    raw_times, env_times = [], []
    for round_index in range(repeats):
        if round_index % 2 == 0:
            raw_times.append(raw.run(targets))
            env_times.append(env.run(targets))
        else:
            env_times.append(env.run(targets))
            raw_times.append(raw.run(targets))
    raw.close()
    env.close()
    ratio = float(np.median(np.array(env_times) / np.array(raw_times)))
    return len(targets) / min(raw_times), len(targets) / min(env_times), ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="env steps per timing run")
    parser.add_argument("--repeats", type=int, default=6, help="interleaved timing rounds per configuration")
    parser.add_argument("--size", type=int, default=96, help="camera resolution, px")
    parser.add_argument("--episodes", type=int, default=100, help="expert episodes for the success rate (0: skip)")
    args = parser.parse_args()

    targets = expert_targets(args.steps)
    print(f"MuJoCo {mujoco.__version__}, MUJOCO_GL={os.environ['MUJOCO_GL']}, {args.steps} steps per run, "
          f"{args.repeats} interleaved rounds (steps/s: best round; env/raw: median of the paired time ratios), "
          "20 Hz control (25 x 2 ms physics steps per env step)")
    print(f"{'configuration':<28}{'raw loop/s':>12}{'env/s':>10}{'env/raw':>10}")
    rates = {}
    for label, cameras in (("state only", ()), (f"two {args.size} px cameras", ("top", "wrist"))):
        raw, env, ratio = interleaved_rates(cameras, targets, args.size, args.repeats)
        rates[label] = env
        print(f"{label:<28}{raw:>12.0f}{env:>10.0f}{ratio:>9.2f}x")
    two_cam = rates[f"two {args.size} px cameras"]
    print(f"two cameras vs Shadow-hand env with one camera ({SHADOW_HAND_ONE_CAMERA_STEPS_PER_S:.0f}/s, facts.md): "
          f"{two_cam / SHADOW_HAND_ONE_CAMERA_STEPS_PER_S:.2f}x (goal >= 3x)")

    if args.episodes:
        env = gym.make("AllegroUnscrew-sim", cameras=())
        for privileged, sensing in ((True, "lid pose from sim state"), (False, "proprioception only")):
            expert = UnscrewExpert(env, privileged=privileged)
            start = time.perf_counter()
            outcomes = [run_episode(env, expert, seed=seed) for seed in range(args.episodes)]
            wall = time.perf_counter() - start
            successes = [o for o in outcomes if o.success]
            reasons: dict[str, int] = {}
            for o in outcomes:
                reasons[o.termination_reason] = reasons.get(o.termination_reason, 0) + 1
            durations = np.array([o.duration_s for o in successes] or [np.nan])
            print(f"expert ({sensing}): {len(successes)}/{args.episodes} successes over seeds "
                  f"0..{args.episodes - 1} ({100 * len(successes) / args.episodes:.0f}%), outcomes {reasons}, "
                  f"time to release median {np.median(durations):.1f} s, max {np.max(durations):.1f} s; "
                  f"{wall:.0f} s wall")
        env.close()


if __name__ == "__main__":
    main()
