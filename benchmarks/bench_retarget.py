"""Benchmark: our per-finger DH IK vs dex-retargeting 0.5.0's optimiser on the same fingertip targets.

Run: ``.venv/bin/pip install -e '.[bench-retarget]' && .venv/bin/python benchmarks/bench_retarget.py``

* Stream: synthetic right hands (``open_close``, ``pinch``, ``twist`` motions, three hand sizes, 1 mm
  tracking noise, 30 Hz; :mod:`dexsim.teleop.synthetic`). Steps a-d of :mod:`dexsim.teleop.retarget` turn
  every frame into four fingertip targets in the robot hand frame; both solvers get exactly those targets.
* Ours: :class:`~dexsim.teleop.retarget.Retargeter` (frame validation + steps a-d + IK + the pinch passes, which
  move a pinching pair's targets into reach, so its error is not measured against the same targets) per frame,
  and the IK alone (:func:`~dexsim.hand.ik.solve_fingertips`, the like-for-like comparison), both warm-started
  from the previous frame.
* dex-retargeting: its ``position`` optimiser (nlopt SLSQP on a Huber loss with regularisation to the last
  solution, pinocchio kinematics) on a URDF generated from our kinematics (:mod:`dexsim.hand.urdf`), the same
  four fingertip links, the same fixed abduction joints (index/middle/ring joint 0 held at our configured
  value), no low-pass filter; and its ``vector`` optimiser (its teleoperation default) on palm -> fingertip
  vectors, i.e. the same targets. Timed: their ``retarget`` calls only.
* All run in one process, twice: interleaved frame by frame (rotating which goes first) and one solver after
  the other over the whole stream (each in its own steady state). Error: distance from each fingertip (our FK of
  the returned joints; the URDF is the same model) to its target. Goal: ours >= 10x faster per frame with
  error no larger.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dexsim.hand import JOINT_NAMES, Finger
from dexsim.hand.ik import solve_fingertips
from dexsim.hand.kinematics import fingertip_positions
from dexsim.hand.urdf import ROOT_LINK, allegro_urdf, tip_link
from dexsim.teleop.retarget import Retargeter, retarget_fingertips
from dexsim.teleop.skeleton import HandFrame
from dexsim.teleop.synthetic import MOTIONS, synthetic_stream

ABDUCTION = ("index_0", "middle_0", "ring_0")


def make_stream(seconds: float, rate: float) -> list:
    frames = []
    for i, motion in enumerate(MOTIONS):
        for j, scale in enumerate((0.85, 1.0, 1.15)):
            frames += synthetic_stream(motion, seconds, rate, scale, seed=10 * i + j, noise=0.001)
    return frames


def build_dex_retargeting(urdf_path: Path, abduction: tuple[float, float, float], kind: str):
    """dex-retargeting's ``position`` optimiser, or its ``vector`` optimiser on palm-origin -> fingertip vectors
    (equivalent targets: the palm link is the hand frame's origin)."""
    from dex_retargeting.retargeting_config import RetargetingConfig

    tips = [tip_link(f) for f in Finger]
    common = {
        "urdf_path": str(urdf_path),
        "target_joint_names": [name for name in JOINT_NAMES if name not in ABDUCTION],
        "low_pass_alpha": -1.0,
    }
    if kind == "position":
        config = RetargetingConfig(
            type="position", target_link_names=tips, target_link_human_indices=np.arange(4), **common
        )
    else:
        config = RetargetingConfig(
            type="vector",
            target_origin_link_names=[ROOT_LINK] * 4,
            target_task_link_names=tips,
            target_link_human_indices=np.array([[0, 0, 0, 0], [1, 2, 3, 4]]),
            scaling_factor=1.0,
            **common,
        )
    retargeting = config.build()
    fixed_names = retargeting.optimizer.fixed_joint_names
    fixed = np.array([dict(zip(ABDUCTION, abduction, strict=True))[name] for name in fixed_names])
    order = [retargeting.joint_names.index(name) for name in JOINT_NAMES]
    return retargeting, fixed, order


def percentiles(values: list[float]) -> tuple[float, float, float]:
    a = np.asarray(values)
    return float(np.median(a)), float(np.quantile(a, 0.99)), float(a.mean())


Solver = Callable[[HandFrame, np.ndarray], np.ndarray]


def make_solvers(urdf_path: Path) -> dict[str, Solver]:
    """Fresh solvers, each ``solve(frame, fingertip_targets) -> 16 joint angles`` (Allegro order)."""
    ours = Retargeter()
    abduction = ours.config.ik.abduction
    position, position_fixed, position_order = build_dex_retargeting(urdf_path, abduction, "position")
    vector, vector_fixed, vector_order = build_dex_retargeting(urdf_path, abduction, "vector")
    warm = [ours.last_targets]

    def ik_only(frame: HandFrame, targets: np.ndarray) -> np.ndarray:
        warm[0] = solve_fingertips(targets, warm[0], ours.config.ik).q
        return warm[0]

    return {
        "ours: validate + steps a-d + IK": lambda frame, targets: ours(frame).joint_targets,
        "ours: IK only": ik_only,
        "dex-retargeting 0.5.0 position": lambda frame, targets: position.retarget(targets, position_fixed)[
            position_order
        ],
        "dex-retargeting 0.5.0 vector": lambda frame, targets: vector.retarget(targets, vector_fixed)[vector_order],
    }


def run(frames: list[HandFrame], targets: np.ndarray, urdf_path: Path, interleaved: bool) -> dict[str, tuple]:
    """Per solver: (times in s, fingertip errors in m (frames, 4))."""
    solvers = make_solvers(urdf_path)
    names = list(solvers)
    times: dict[str, list[float]] = {name: [] for name in names}
    errors: dict[str, list[np.ndarray]] = {name: [] for name in names}

    def step(name: str, i: int) -> None:
        t0 = time.perf_counter()
        q = solvers[name](frames[i], targets[i])
        times[name].append(time.perf_counter() - t0)
        errors[name].append(np.linalg.norm(fingertip_positions(q) - targets[i], axis=-1))

    if interleaved:  # frame by frame, rotating which solver goes first
        for i in range(len(frames)):
            for k in range(len(names)):
                step(names[(i + k) % len(names)], i)
    else:  # each solver over the whole stream in turn
        for name in names:
            for i in range(len(frames)):
                step(name, i)
    return {name: (times[name], np.array(errors[name])) for name in names}


def report(title: str, results: dict[str, tuple]) -> None:
    print(title)
    print(f"  {'solver':<34}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'err mean mm':>13}{'err p99 mm':>12}")
    for name, (t, e) in results.items():
        p50, p99, mean = percentiles(t)
        print(
            f"  {name:<34}{p50 * 1e3:9.3f}{p99 * 1e3:9.3f}{mean * 1e3:9.3f}{e.mean() * 1e3:13.2f}"
            f"{np.quantile(e, 0.99) * 1e3:12.2f}"
        )
    names = list(results)
    full, ik = percentiles(results[names[0]][0]), percentiles(results[names[1]][0])
    ours_err = results[names[1]][1]  # the IK alone: the same targets as theirs
    for name in names[2:]:
        theirs, their_err = percentiles(results[name][0]), results[name][1]
        print(
            f"  {name} / ours: p50 {theirs[0] / full[0]:.1f}x (IK only {theirs[0] / ik[0]:.1f}x), "
            f"p99 {theirs[1] / full[1]:.1f}x (IK only {theirs[1] / ik[1]:.1f}x); mean fingertip error "
            f"ours (IK only) / theirs {ours_err.mean() / their_err.mean():.2f}; per finger mean (mm) ours "
            f"{np.round(ours_err.mean(0) * 1e3, 2).tolist()} theirs {np.round(their_err.mean(0) * 1e3, 2).tolist()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each motion stream, s")
    parser.add_argument("--rate", type=float, default=30.0, help="frame rate of the streams, Hz")
    args = parser.parse_args()

    frames = make_stream(args.seconds, args.rate)
    config = Retargeter().config
    targets = np.array([retarget_fingertips(frame.positions, config)[0] for frame in frames])
    print(f"{len(frames)} frames ({len(MOTIONS)} motions x 3 hand sizes, {args.rate:g} Hz, 1 mm noise)")
    with tempfile.TemporaryDirectory() as tmp:
        urdf_path = Path(tmp) / "allegro_right.urdf"
        urdf_path.write_text(allegro_urdf())
        report("interleaved frame by frame:", run(frames, targets, urdf_path, interleaved=True))
        report("one solver after the other:", run(frames, targets, urdf_path, interleaved=False))


if __name__ == "__main__":
    main()
