"""Benchmark of ``AllegroUnscrew-real`` against the twin served over DDS on loopback vs the in-process sim env.

Run: ``.venv/bin/python benchmarks/bench_real.py [--steps 200] [--rates 20 50 100] [--image-size 96]``

One run measures, side by side (zero actions, seed 0):

* **sim**: ``AllegroUnscrew-sim`` in process, stepped as fast as it goes: wall time per ``step`` (ms) and
  steps/s, with the two cameras and state-only.
* **real @ <rate>**: ``AllegroUnscrew-real`` (cyclonedds, loopback) against ``dexsim twin`` in a separate
  process (100 Hz joint states, 30 Hz cameras, two 96 px cameras). The env paces itself to the control rate,
  so what counts is the *period* between successive ``step`` returns: median, jitter (standard deviation and
  p99 of ``|period - control_dt|``) and the sustained rate (steps / elapsed s) against the requested one; plus
  the age of the joint state in each observation (``info['state_age_s']``). Each step needs a camera frame
  newer than the last one, so with cameras the rate cannot exceed the twin's 30 Hz camera rate.
* **real @ max**: the env with ``control_hz`` 500 (a 2 ms period it cannot keep), so every ``step`` returns as
  soon as a joint state (and frames) newer than the last arrive: its wall time is the real env's step latency.
  With cameras against a 30 Hz camera stream, and state-only against a twin publishing joint states at
  ``--max-state-hz``. The ratio to the sim step time with the same cameras is printed.

Twins are started and stopped by this script (their own DDS domains, loopback only).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

import dexsim  # noqa: E402,F401
from dexsim.interface import ControlConfig  # noqa: E402
from dexsim.real.config import HARDWARE_DIR, PROFILES, load_hardware_config  # noqa: E402
from dexsim.real.env import INFO_STATE_AGE  # noqa: E402
from dexsim.real.loopback import twin_subprocess, use_loopback  # noqa: E402

CAMERAS = ("top", "wrist")
MAX_RATE_HZ = 500.0


@contextmanager
def twin(domain_id: int, cameras: tuple[str, ...], state_hz: float, duration_s: float) -> Iterator[None]:
    """``dexsim twin`` in a child process for the ``with`` block (state-only: a profile without cameras)."""
    with tempfile.TemporaryDirectory(prefix="bench_real_") as folder:
        extra = ["--state-hz", str(state_hz)]
        if not cameras:  # a hardware file without camera topics: the twin renders nothing
            data = yaml.safe_load((HARDWARE_DIR / PROFILES["wonik_ros2"]).read_text())
            data["cameras"] = {}
            path = os.path.join(folder, "state_only.yaml")
            with open(path, "w") as handle:
                yaml.safe_dump(data, handle)
            extra += ["--hardware", path]
        with twin_subprocess(domain_id, *extra, lifetime_s=duration_s, stop_timeout_s=10.0, capture_output=False):
            yield


def time_sim(cameras: tuple[str, ...], steps: int, size: int) -> np.ndarray:
    """Wall time of each ``AllegroUnscrew-sim`` step with zero actions, s."""
    env = gym.make("AllegroUnscrew-sim", cameras=cameras, image_size=size, time_limit_s=1e4)
    env.reset(seed=0)
    zero = np.zeros(16, np.float32)
    durations = np.empty(steps)
    for i in range(steps):
        start = time.perf_counter()
        env.step(zero)
        durations[i] = time.perf_counter() - start
    env.close()
    return durations


def time_real(domain_id: int, cameras: tuple[str, ...], steps: int, size: int, control_hz: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(step wall times s, periods between returns s, state ages s, sustained rate Hz)`` of the real env."""
    config = ControlConfig(control_hz=control_hz, cameras=cameras, image_size=size, time_limit_s=1e4)
    hardware = load_hardware_config(None, domain_id=domain_id, transport="cyclonedds", ready_timeout_s=30.0)
    env = gym.make("AllegroUnscrew-real", config=config, hardware=hardware, disable_env_checker=True)
    try:
        env.reset(seed=0)
        zero = np.zeros(16, np.float32)
        durations, returns, ages = np.empty(steps), np.empty(steps), np.empty(steps)
        for i in range(steps):
            start = time.perf_counter()
            _, _, terminated, truncated, info = env.step(zero)
            returns[i] = time.perf_counter()
            durations[i] = returns[i] - start
            ages[i] = info[INFO_STATE_AGE]
            if terminated or truncated:
                raise RuntimeError(f"episode ended during the benchmark: {info['termination_reason']}")
    finally:
        env.close()
    return durations, np.diff(returns), ages, (steps - 1) / (returns[-1] - returns[0])


def _p50_p99(values: np.ndarray) -> str:
    return f"{1e3 * np.median(values):7.2f} {1e3 * np.percentile(values, 99):7.2f}"


def _row(name: str, durations: np.ndarray, periods: np.ndarray | None, ages: np.ndarray | None,
         achieved: float, asked: str) -> str:
    if periods is None or ages is None:
        return f"{name:<30}{_p50_p99(durations):>17}{'':>35}{achieved:>9.1f}{asked:>8}"
    deviation = np.abs(periods - np.median(periods) if asked == "max" else periods - 1.0 / float(asked))
    return (f"{name:<30}{_p50_p99(durations):>17}{1e3 * np.median(periods):>11.2f}{1e3 * np.std(periods):>12.2f}"
            f"{1e3 * np.percentile(deviation, 99):>12.2f}{achieved:>9.1f}{asked:>8}{_p50_p99(ages):>18}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="env steps per row")
    parser.add_argument("--rates", type=float, nargs="+", default=[20.0, 50.0, 100.0], help="control rates, Hz")
    parser.add_argument("--image-size", type=int, default=96, help="camera size, px")
    parser.add_argument("--max-state-hz", type=float, default=500.0, help="twin state rate for the max rows, Hz")
    parser.add_argument("--domain-id", type=int, default=os.getpid() % 200 + 20, help="first DDS domain id")
    args = parser.parse_args()
    use_loopback()
    steps, size, domain = args.steps, args.image_size, args.domain_id

    sim_cameras = time_sim(CAMERAS, steps, size)
    sim_state = time_sim((), steps, size)
    rows = [_row("sim, 2 cameras (in process)", sim_cameras, None, None, 1 / sim_cameras.mean(), "max"),
            _row("sim, state only (in process)", sim_state, None, None, 1 / sim_state.mean(), "max")]
    with twin(domain, CAMERAS, 100.0, 60.0 + steps * sum(1.5 / r for r in args.rates) + steps * 0.1):
        for rate in args.rates:
            rows.append(_row(f"real @ {rate:g} Hz, 2 cameras", *time_real(domain, CAMERAS, steps, size, rate),
                             f"{rate:g}"))
        real_cameras = time_real(domain, CAMERAS, steps, size, MAX_RATE_HZ)
        rows.append(_row("real @ max, 2 cameras", *real_cameras, "max"))
    with twin(domain + 1, (), args.max_state_hz, 60.0 + steps * 0.1):
        real_state = time_real(domain + 1, (), steps, size, MAX_RATE_HZ)
        rows.append(_row(f"real @ max, state only ({args.max_state_hz:g} Hz)", *real_state, "max"))

    print(f"{steps} steps per row, zero actions, {size} px cameras; real = AllegroUnscrew-real over cyclonedds on "
          "loopback against `dexsim twin` in another process (state 100 Hz, cameras 30 Hz unless noted)")
    print(f"{'row':<30}{'step ms p50 p99':>17}{'period p50':>11}{'period std':>12}{'|dev| p99':>12}"
          f"{'rate Hz':>9}{'asked':>8}{'state age p50 p99':>18}")
    print("\n".join(rows))
    print(f"step latency ratio real/sim (medians): 2 cameras "
          f"{np.median(real_cameras[0]) / np.median(sim_cameras):.1f}x, state only "
          f"{np.median(real_state[0]) / np.median(sim_state):.1f}x  (times in ms)")


if __name__ == "__main__":
    main()
