"""Retargeting fidelity figures of docs/retargeting.md, on hands the retargeter was not tuned on.

Run: ``.venv/bin/python benchmarks/retarget_fidelity.py [--hands 40] [--thumb-rotation 1.0]`` (figures) or
``... retarget_fidelity.py --timing`` (per-frame cost)

Hands come from ``tests/teleop/_human_hands.py`` (an anatomical model written independently of
:mod:`dexsim.teleop.synthetic`; every bone length varies on its own by +-15 %, overall scale 0.8-1.2, random
placement) and, for comparison, from :mod:`dexsim.teleop.synthetic`. Printed:

* pinches: robot fingertip-centre distance (forward kinematics of the joint targets) for human thumb-index,
  thumb-middle and thumb-ring gaps of 3-10 mm;
* open hand: the Allegro thumb's joints as a fraction of their range (0 = lower limit);
* fists closed 50 / 70 / 90 / 100 %: middle-finger closure (sum of joints 1-3 over the sum of upper limits);
* chirality scores of open, pinching and mirrored hands;
* thumb IK error over the synthetic open/close, pinch and twist streams;
* per-frame cost on bench_retarget.py's 1,080 frames, side by side (interleaved frame by frame, twice): the
  default against the paper's steps alone as before issue 12 (no step b' or d, thumb_shift 60 mm, 6 polish
  steps), as wall time and as the thread's CPU time (which other processes on a shared machine do not inflate).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from dexsim.hand import lower_limits, upper_limits
from dexsim.hand.kinematics import fingertip_positions
from dexsim.teleop.retarget import RetargetConfig, Retargeter
from dexsim.teleop.skeleton import HandFrame, chirality
from dexsim.teleop.synthetic import MOTIONS, POSES, interpolate, synthetic_frame, synthetic_stream

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "teleop"))
import _human_hands as human  # noqa: E402

FINGERS = ("index", "middle", "ring")


def closure(q: np.ndarray) -> float:
    return float(q[5:8].sum() / upper_limits()[5:8].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hands", type=int, default=40, help="independent random hands (default: 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--thumb-rotation", type=float, default=RetargetConfig().thumb_rotation)
    parser.add_argument("--thumb-shift", type=float, default=RetargetConfig().thumb_shift)
    parser.add_argument("--finger-shift", type=float, default=RetargetConfig().finger_shift)
    args = parser.parse_args()
    config = RetargetConfig(thumb_rotation=args.thumb_rotation, thumb_shift=args.thumb_shift,
                            finger_shift=args.finger_shift)
    rng = np.random.default_rng(args.seed)
    lo, hi = lower_limits(), upper_limits()
    gaps: dict[str, list[float]] = {f: [] for f in FINGERS}
    thumb_open, fists, scores = [], [], []
    for _ in range(args.hands):
        hand = human.random_hand(rng)
        for i, finger in enumerate(FINGERS):
            local = human.pinch(hand, finger, rng.uniform(0.003, 0.010))
            q = Retargeter(config)(HandFrame(human.place(local, rng))).joint_targets
            tips = fingertip_positions(q)
            gaps[finger].append(float(np.linalg.norm(tips[i] - tips[3])))
        q = Retargeter(config)(HandFrame(human.place(human.open_hand(hand), rng))).joint_targets
        thumb_open.append(((q - lo) / (hi - lo))[12:])
        fists.append([closure(Retargeter(config)(HandFrame(human.fist(hand, c))).joint_targets)
                      for c in (0.5, 0.7, 0.9, 1.0)])
        scores.append([chirality(human.open_hand(hand), "right"), chirality(human.pinch(hand, "index", 0.005), "right"),
                       chirality(human.mirror(human.open_hand(hand)), "right"),
                       chirality(human.mirror(human.fist(hand, 0.5)), "right")])
    print(f"independent hands: {args.hands}, thumb_rotation {config.thumb_rotation} rad, thumb_shift "
          f"{config.thumb_shift * 1e3:.0f} mm, finger_shift {config.finger_shift * 1e3:.0f} mm")
    for finger in FINGERS:
        g = np.array(gaps[finger]) * 1e3
        print(f"  thumb-{finger} pinch (human gap 3-10 mm): robot tip distance median {np.median(g):.1f} mm, "
              f"max {g.max():.1f} mm")
    t = np.array(thumb_open)
    print(f"  open hand, thumb joints 0-3 as fraction of range: mean {np.round(t.mean(0), 2).tolist()}, "
          f"max {np.round(t.max(0), 2).tolist()}")
    f = np.array(fists)
    print(f"  middle closure at fists 50/70/90/100 %: mean {np.round(f.mean(0), 2).tolist()}")
    s = np.array(scores)
    print(f"  chirality open / pinch / mirrored open / mirrored half fist: min {np.round(s.min(0), 3).tolist()}, "
          f"max {np.round(s.max(0), 3).tolist()}")

    print("synthetic hands (dexsim.teleop.synthetic, medium):")
    q = Retargeter(config)(synthetic_frame("open")).joint_targets
    print(f"  open hand, thumb joints as fraction of range: {np.round(((q - lo) / (hi - lo))[12:], 2).tolist()}")
    closures = [closure(Retargeter(config)(synthetic_frame(interpolate(POSES["open"], POSES["fist"], c)))
                        .joint_targets) for c in (0.5, 0.7, 0.8, 0.9, 1.0)]
    print(f"  middle closure at fists 50/70/80/90/100 %: {np.round(closures, 2).tolist()}")
    errors = []
    for motion in MOTIONS:
        retargeter = Retargeter(config)
        errors += [retargeter(frame).fingertip_error for frame in synthetic_stream(motion, 4.0, 30.0)]
    e = np.array(errors) * 1e3
    print(f"  IK error over the open/close, pinch, twist streams (index, middle, ring, thumb) mean "
          f"{np.round(e.mean(0), 1).tolist()} mm, p90 {np.round(np.quantile(e, 0.9, axis=0), 1).tolist()} mm")


def timing() -> None:
    import time

    from dexsim.hand.ik import FingerIKConfig

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_retarget import make_stream

    frames = make_stream(4.0, 30.0)
    configs = {
        "default (steps a-d)": RetargetConfig(),
        "paper steps only (before)": RetargetConfig(thumb_rotation=0.0, thumb_shift=0.06, pinch_full=0.0,
                                                    pinch_release=1e-9, pinch_passes=0, ik=FingerIKConfig()),
    }
    wall: dict[str, list[float]] = {name: [] for name in configs}
    cpu: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(2):
        solvers = {name: Retargeter(config) for name, config in configs.items()}
        for i, frame in enumerate(frames):
            for name in list(configs)[:: 1 if i % 2 else -1]:
                w, c = time.perf_counter(), time.thread_time()
                solvers[name](frame)
                cpu[name].append(time.thread_time() - c)
                wall[name].append(time.perf_counter() - w)
    print(f"per-frame cost on {len(frames)} frames x 2 (interleaved):")
    for name in configs:
        w, c = np.array(wall[name]) * 1e3, np.array(cpu[name]) * 1e3
        print(f"  {name:<28} wall p50 {np.median(w):.3f} p99 {np.quantile(w, 0.99):.3f} ms; "
              f"CPU p50 {np.median(c):.3f} p99 {np.quantile(c, 0.99):.3f} ms")
    a, b = (np.array(cpu[name]) for name in configs)
    print(f"  default / before (CPU): p50 {np.median(a) / np.median(b):.2f}x, p99 "
          f"{np.quantile(a, 0.99) / np.quantile(b, 0.99):.2f}x")


if __name__ == "__main__":
    if "--timing" in sys.argv:
        timing()
        sys.exit()
    main()
