"""Benchmark of the twin: env steps/s with and without cameras vs a raw MuJoCo loop, and the expert's success.

Run: ``.venv/bin/python benchmarks/bench_sim.py [--episodes 100] [--steps 400]``

* Throughput: the env (``AllegroUnscrew-sim``, 20 Hz control, 25 physics steps of 2 ms per env step) and a
  raw loop over the *same compiled model* (``mj_step`` x 25, each followed by the thread's constraint switch,
  which is part of the physics model, + the same renders, ctrl set directly) replay the joint targets of
  recorded expert episodes from the same resets (so both go through the same states and contacts; resets are
  not timed), alternating round by round (``--repeats`` rounds). The median per-round time ratio env/raw (wall
  and process CPU time; CPU is steadier on a shared machine) is the env's overhead (goal <= 1.1x with
  cameras); steps/s are the best round of each.
* Peer: Gymnasium-Robotics' Shadow-hand HandManipulate env reaches 107 env steps/s with one 96 px camera on
  this machine kind (shared/facts.md; it does not run on MuJoCo >= 3.12, so it cannot run beside us). The goal
  is >= 3x that (321 env steps/s) with two 96 px cameras.
* Thread: over ``--thread-episodes`` expert episodes per preset, sampled after every physics step, the largest
  lift error of the threaded lid (goal <= 0.05 mm), the largest axial load and each joint's peak effort / limit.
* Expert: success rate of the clean scripted expert over ``--episodes`` seeded resets (seeds 0..N-1) for each
  randomisation preset (``nominal``, ``eval``, ``train``), reading the lid pose from sim state and from
  proprioception only (the code path used on the real hand).
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
from dexsim.hand import torque_limits  # noqa: E402
from dexsim.interface import OBS_JOINT_POSITIONS, target_to_action  # noqa: E402
from dexsim.rollout import run_episode  # noqa: E402
from dexsim.sim.config import PRESET_NAMES  # noqa: E402
from dexsim.sim.expert import UnscrewExpert  # noqa: E402

SHADOW_HAND_ONE_CAMERA_STEPS_PER_S = 107.0


Episode = tuple[int, np.ndarray]
"""A recorded expert episode: its reset seed and the joint targets of its steps, (n, 16)."""


def expert_episodes(steps: int) -> list[Episode]:
    """Clean expert episodes from seeds 0, 1, ... until they hold at least ``steps`` env steps."""
    env = gym.make("AllegroUnscrew-sim", cameras=())
    expert = UnscrewExpert(env)
    episodes: list[Episode] = []
    total, seed = 0, 0
    while total < steps:
        outcome_targets: list[np.ndarray] = []
        run_episode(env, expert, seed=seed, on_step=lambda step, out=outcome_targets: out.append(
            step.next_info["joint_targets"]))
        episodes.append((seed, np.array(outcome_targets)))
        total += len(outcome_targets)
        seed += 1
    env.close()
    return episodes


class EnvLoop:
    """The env replaying recorded episodes: reset with the episode's seed, its targets as delta actions."""

    def __init__(self, cameras: tuple[str, ...], size: int) -> None:
        self.env = gym.make("AllegroUnscrew-sim", cameras=cameras, image_size=size, time_limit_s=1e4)
        self.bound = self.env.unwrapped.config.max_joint_delta

    def run(self, episodes: list[Episode]) -> tuple[float, float]:
        """Wall and process CPU seconds spent stepping through ``episodes`` (resets not timed)."""
        wall = cpu = 0.0
        for seed, targets in episodes:
            obs, _ = self.env.reset(seed=seed)
            start, start_cpu = time.perf_counter(), time.process_time()
            for target in targets:
                obs, _, _, _, _ = self.env.step(target_to_action(target, obs[OBS_JOINT_POSITIONS], self.bound))
            wall += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
        return wall, cpu

    def close(self) -> None:
        self.env.close()


class RawLoop:
    """A bare MuJoCo loop on the env's own compiled model: ctrl set directly, ``mj_step`` x N, the same renders.

    Each episode starts from the same reset as the env's (so both loops go through the same states and contacts).
    After each ``mj_step`` it runs the thread's constraint switch (:meth:`dexsim.sim.thread.ThreadModel.update`,
    stick/slip and release): that is part of the twin's physics model, which any hand-written loop over this
    model must run too, so the ratio measures the env's wrapper (actions, observations, info, termination).
    """

    def __init__(self, cameras: tuple[str, ...], size: int) -> None:
        self.env = gym.make("AllegroUnscrew-sim", cameras=(), image_size=size, time_limit_s=1e4)
        sim = self.env.unwrapped.simulation
        self.model, self.data = sim.model, sim.data
        self.substeps = self.env.unwrapped.config.physics_steps_per_control
        self.actuators = sim._actuators
        self.thread = sim.thread
        self.renderer = mujoco.Renderer(self.model, size, size) if cameras else None
        self.camera_ids = [self.model.camera("top" if c == "top" else "allegro_right/wrist").id for c in cameras]

    def run(self, episodes: list[Episode]) -> tuple[float, float]:
        """Wall and process CPU seconds spent stepping through ``episodes`` (resets not timed)."""
        model, data, renderer, thread = self.model, self.data, self.renderer, self.thread
        wall = cpu = 0.0
        for seed, targets in episodes:
            self.env.reset(seed=seed)
            start, start_cpu = time.perf_counter(), time.process_time()
            for target in targets:
                data.ctrl[self.actuators] = target
                for _ in range(self.substeps):
                    mujoco.mj_step(model, data)
                    if thread.engaged:
                        thread.update()
                for camera in self.camera_ids:
                    renderer.update_scene(data, camera=camera)
                    renderer.render()
            wall += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
        return wall, cpu

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
        self.env.close()


def interleaved_rates(cameras: tuple[str, ...], episodes: list[Episode], size: int,
                      repeats: int) -> tuple[float, float, float, float]:
    """Raw and env steps/s (best round of each), and the median per-round env/raw ratios of wall and CPU time.

    The two loops alternate, round by round (which goes first alternates too), so that load from other
    processes on a shared machine hits both alike. The CPU-time ratio (process time: this process's threads,
    Mesa's rendering threads included) is the steadier overhead figure on a busy machine.
    """
    raw, env = RawLoop(cameras, size), EnvLoop(cameras, size)
    warm_up = [(episodes[0][0], episodes[0][1][:5])]  # GL contexts, first-touch allocations
    raw.run(warm_up)
    env.run(warm_up)
    raw_times, env_times = [], []
    for round_index in range(repeats):
        if round_index % 2 == 0:
            raw_times.append(raw.run(episodes))
            env_times.append(env.run(episodes))
        else:
            env_times.append(env.run(episodes))
            raw_times.append(raw.run(episodes))
    raw.close()
    env.close()
    steps = sum(len(targets) for _, targets in episodes)
    raw_t, env_t = np.array(raw_times), np.array(env_times)  # (repeats, 2): wall, cpu
    ratios = np.median(env_t / raw_t, axis=0)
    return steps / raw_t[:, 0].min(), steps / env_t[:, 0].min(), float(ratios[0]), float(ratios[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="env steps per timing run (whole expert episodes)")
    parser.add_argument("--repeats", type=int, default=10, help="interleaved timing rounds per configuration")
    parser.add_argument("--size", type=int, default=96, help="camera resolution, px")
    parser.add_argument("--episodes", type=int, default=100, help="expert episodes per preset and mode (0: skip)")
    parser.add_argument("--presets", default=",".join(PRESET_NAMES), help="comma-separated sim presets to tabulate")
    parser.add_argument("--thread-episodes", type=int, default=10,
                        help="expert episodes per preset for the thread figures (0: skip)")
    parser.add_argument("--skip-timing", action="store_true", help="no throughput timing")
    args = parser.parse_args()

    if not args.skip_timing:
        time_throughput(args.steps, args.repeats, args.size)
    if args.episodes:
        expert_table(args.episodes, args.presets.split(","))
    if args.thread_episodes:
        thread_report(args.thread_episodes, args.presets.split(","))


def thread_report(episodes: int, presets: list[str]) -> None:
    """Print, per preset over expert episodes (seeds 0..episodes-1), sampled after every physics step: the largest
    lift error of the threaded lid, the largest axial thread load, and each joint's peak |effort| / torque limit."""
    print(f"thread under the expert, every physics step of seeds 0..{episodes - 1}")
    for preset in presets:
        lift_error, load, effort = thread_figures(preset, episodes)
        ratio = np.round(effort / torque_limits(), 2).reshape(4, 4)
        print(f"{preset:<9}max |lift - pitch/2pi twist| {1e6 * lift_error:.2f} um, max axial load {load:.1f} N; "
              f"peak |effort|/limit index {ratio[0].tolist()} middle {ratio[1].tolist()} ring {ratio[2].tolist()} "
              f"thumb {ratio[3].tolist()}")


def thread_figures(preset: str, episodes: int) -> tuple[float, float, np.ndarray]:
    """(largest lift error m, largest axial load N, peak |effort| per joint N m) over expert episodes."""
    env = gym.make("AllegroUnscrew-sim", cameras=(), preset=preset)
    sim = env.unwrapped.simulation
    coupling = sim.config.thread_pitch_m / (2 * np.pi)
    dt = sim.model.opt.timestep
    worst = {"lift_error": 0.0, "load": 0.0}
    effort = np.zeros(16)
    step_once = sim.step_physics

    def sampled(seconds: float) -> None:
        for _ in range(int(round(seconds / dt))):
            step_once(dt)
            lid = sim.lid_state()
            if not lid.released:
                worst["lift_error"] = max(worst["lift_error"], abs(lid.lift - coupling * lid.angle))
                worst["load"] = max(worst["load"], abs(sim.thread.axial_load_n))
            np.maximum(effort, np.abs(sim.joint_efforts()), out=effort)

    sim.step_physics = sampled  # type: ignore[method-assign]  # sample inside the env's control step
    expert = UnscrewExpert(env)
    for seed in range(episodes):
        run_episode(env, expert, seed=seed)
    env.close()
    return worst["lift_error"], worst["load"], effort


def time_throughput(steps: int, repeats: int, size: int) -> None:
    """Print env vs raw-loop steps/s and their overhead ratios, state only and with two cameras."""
    episodes = expert_episodes(steps)
    total = sum(len(targets) for _, targets in episodes)
    print(f"MuJoCo {mujoco.__version__}, MUJOCO_GL={os.environ['MUJOCO_GL']}, {total} steps per run "
          f"({len(episodes)} expert episodes), "
          f"{repeats} interleaved rounds (steps/s: best round; env/raw: median of the paired time ratios), "
          "20 Hz control (25 x 2 ms physics steps per env step)")
    print(f"{'configuration':<28}{'raw loop/s':>12}{'env/s':>10}{'env/raw wall':>14}{'env/raw CPU':>13}")
    rates = {}
    for label, cameras in (("state only", ()), (f"two {size} px cameras", ("top", "wrist"))):
        raw, env, wall_ratio, cpu_ratio = interleaved_rates(cameras, episodes, size, repeats)
        rates[label] = env
        print(f"{label:<28}{raw:>12.0f}{env:>10.0f}{wall_ratio:>13.2f}x{cpu_ratio:>12.2f}x")
    two_cam = rates[f"two {size} px cameras"]
    print(f"two cameras vs Shadow-hand env with one camera ({SHADOW_HAND_ONE_CAMERA_STEPS_PER_S:.0f}/s, facts.md): "
          f"{two_cam / SHADOW_HAND_ONE_CAMERA_STEPS_PER_S:.2f}x (goal >= 3x)")


def expert_table(episodes: int, presets: list[str]) -> None:
    """Print the clean expert's success per preset and sensing mode over seeds 0..episodes-1."""
    print(f"expert over seeds 0..{episodes - 1} per preset (clean demonstrations, 40 s limit)")
    print(f"{'preset':<9}{'lid pose from':<16}{'success':>9}{'rate':>7}{'median s':>10}{'wall s':>8}  outcomes")
    for preset in presets:
        env = gym.make("AllegroUnscrew-sim", cameras=(), preset=preset)
        for privileged, sensing in ((True, "sim state"), (False, "proprioception")):
            expert = UnscrewExpert(env, privileged=privileged)
            start = time.perf_counter()
            outcomes = [run_episode(env, expert, seed=seed) for seed in range(episodes)]
            wall = time.perf_counter() - start
            successes = [o for o in outcomes if o.success]
            reasons: dict[str, int] = {}
            for o in outcomes:
                reasons[o.termination_reason] = reasons.get(o.termination_reason, 0) + 1
            median = float(np.median([o.duration_s for o in successes])) if successes else float("nan")
            print(f"{preset:<9}{sensing:<16}{len(successes):>5}/{episodes:<3}{100 * len(successes) / episodes:>6.0f}%"
                  f"{median:>10.1f}{wall:>8.0f}  {reasons}", flush=True)
        env.close()


if __name__ == "__main__":
    main()
