"""Benchmark: our per-finger DH IK vs dex-retargeting 0.5.0's optimiser on the same fingertip targets.

Run: ``.venv/bin/pip install -e '.[bench-retarget]' && .venv/bin/python benchmarks/bench_retarget.py``

* Stream: synthetic right hands (``open_close``, ``pinch``, ``twist`` motions, three hand sizes, 1 mm
  tracking noise, 30 Hz; :mod:`dexsim.teleop.synthetic`). Steps a-c of :mod:`dexsim.teleop.retarget` turn
  every frame into four fingertip targets in the robot hand frame; both solvers get exactly those targets.
* Ours: :class:`~dexsim.teleop.retarget.Retargeter` (frame validation + steps a-c + IK) per frame, and the
  IK alone (:func:`~dexsim.hand.ik.solve_fingertips`), both warm-started from the previous frame.
* dex-retargeting: its ``position`` optimiser (nlopt SLSQP on a Huber loss with regularisation to the last
  solution, pinocchio kinematics) on a URDF generated from our kinematics (:mod:`dexsim.hand.urdf`), the same
  four fingertip links, the same fixed abduction joints (index/middle/ring joint 0 held at our configured
  value), no low-pass filter; and its ``vector`` optimiser (its teleoperation default) on palm -> fingertip
  vectors, i.e. the same targets. Timed: their ``retarget`` calls only.
* The two run interleaved frame by frame in one process. Error: distance from each fingertip (our FK of
  the returned joints; the URDF is the same model) to its target. Goal: ours >= 10x faster per frame with
  error no larger.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from dexsim.hand import JOINT_NAMES, Finger
from dexsim.hand.ik import solve_fingertips
from dexsim.hand.kinematics import fingertip_positions
from dexsim.hand.urdf import ROOT_LINK, allegro_urdf, tip_link
from dexsim.teleop.retarget import Retargeter, retarget_fingertips
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each motion stream, s")
    parser.add_argument("--rate", type=float, default=30.0, help="frame rate of the streams, Hz")
    args = parser.parse_args()

    frames = make_stream(args.seconds, args.rate)
    ours = Retargeter()
    abduction = ours.config.ik.abduction
    with tempfile.TemporaryDirectory() as tmp:
        urdf_path = Path(tmp) / "allegro_right.urdf"
        urdf_path.write_text(allegro_urdf())
        theirs, fixed, order = build_dex_retargeting(urdf_path, abduction, "position")
        vector, vector_fixed, vector_order = build_dex_retargeting(urdf_path, abduction, "vector")

        times = {"ours_full": [], "ours_ik": [], "dex": [], "dex_vector": []}
        errors = {"ours": [], "dex": [], "dex_vector": []}
        q_ik = ours.last_targets
        for frame in frames:
            # Alternate which solver goes first so neither profits from a warm cache.
            t0 = time.perf_counter()
            result = ours(frame)
            t1 = time.perf_counter()
            targets, _ = retarget_fingertips(frame.positions, ours.config)
            t2 = time.perf_counter()
            solution = solve_fingertips(targets, q_ik, ours.config.ik)
            t3 = time.perf_counter()
            q_dex = theirs.retarget(targets, fixed)
            t4 = time.perf_counter()
            q_vector = vector.retarget(targets, vector_fixed)
            t5 = time.perf_counter()
            q_ik = solution.q
            times["ours_full"].append(t1 - t0)
            times["ours_ik"].append(t3 - t2)
            times["dex"].append(t4 - t3)
            times["dex_vector"].append(t5 - t4)
            errors["ours"].append(np.linalg.norm(fingertip_positions(result.joint_targets) - targets, axis=-1))
            errors["dex"].append(np.linalg.norm(fingertip_positions(q_dex[order]) - targets, axis=-1))
            errors["dex_vector"].append(np.linalg.norm(fingertip_positions(q_vector[vector_order]) - targets, axis=-1))

    print(f"{len(frames)} frames ({len(MOTIONS)} motions x 3 hand sizes, {args.rate:g} Hz, 1 mm noise)")
    print(f"{'solver':<34}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'err mean mm':>13}{'err p99 mm':>12}")
    rows = [
        ("ours: validate + steps a-c + IK", times["ours_full"], errors["ours"]),
        ("ours: IK only", times["ours_ik"], errors["ours"]),
        ("dex-retargeting 0.5.0 position", times["dex"], errors["dex"]),
        ("dex-retargeting 0.5.0 vector", times["dex_vector"], errors["dex_vector"]),
    ]
    for name, t, e in rows:
        p50, p99, mean = percentiles(t)
        e = np.concatenate(e)
        print(
            f"{name:<34}{p50 * 1e3:9.3f}{p99 * 1e3:9.3f}{mean * 1e3:9.3f}{e.mean() * 1e3:13.2f}"
            f"{np.quantile(e, 0.99) * 1e3:12.2f}"
        )
    full_p50, full_p99, _ = percentiles(times["ours_full"])
    ik_p50, ik_p99, _ = percentiles(times["ours_ik"])
    ours_err = np.concatenate(errors["ours"])
    for kind, key in (("position", "dex"), ("vector", "dex_vector")):
        p50, p99, _ = percentiles(times[key])
        their_err = np.concatenate(errors[key])
        print(
            f"dex-retargeting {kind} / ours: time p50 {p50 / full_p50:.1f}x (IK only {p50 / ik_p50:.1f}x), "
            f"p99 {p99 / full_p99:.1f}x (IK only {p99 / ik_p99:.1f}x); mean fingertip error ours/theirs "
            f"{ours_err.mean() / their_err.mean():.2f}; per finger mean (mm) ours "
            f"{np.round(ours_err.reshape(-1, 4).mean(0) * 1e3, 2).tolist()} theirs "
            f"{np.round(their_err.reshape(-1, 4).mean(0) * 1e3, 2).tolist()}"
        )


if __name__ == "__main__":
    main()
