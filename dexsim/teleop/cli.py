"""Command line of the teleoperation stage: ``dexsim teleop synth | replay | urdf``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from dexsim.cli_args import at_least, input_file, output_file
from dexsim.interface import env_config
from dexsim.teleop.stream import StreamSample, read_hand_stream, write_hand_stream
from dexsim.teleop.synthetic import MOTIONS, gesture_stream, synthetic_stream

__all__ = ["register"]


def _synth(args: argparse.Namespace) -> int:
    output = output_file(args.output, "output", overwrite=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    right = synthetic_stream(args.motion, args.seconds, args.rate, args.scale, args.seed, args.noise)
    left = None
    if not args.no_gestures:
        # Fist shortly after the start (START) and shortly before the end (STOP).
        hold = max(args.seconds - 2.4, 0.1)
        left = gesture_stream(
            [("relaxed", 0.6), ("fist", 0.4), ("relaxed", hold), ("fist", 0.4), ("relaxed", 1.0)],
            args.rate,
            args.scale,
            seed=args.seed,
        )
    samples = [
        StreamSample(frame.timestamp, frame, None if left is None else left[min(i, len(left) - 1)])
        for i, frame in enumerate(right)
    ]
    metadata = {"source": "dexsim.teleop.synthetic", "motion": args.motion, "scale": args.scale, "seed": args.seed}
    write_hand_stream(args.output, samples, metadata)
    print(f"wrote {len(samples)} samples ({args.seconds:g} s at {args.rate:g} Hz) to {args.output}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    import gymnasium as gym

    import dexsim  # noqa: F401  (registers the envs)
    from dexsim.data.recorder import Recorder
    from dexsim.data.schema import EpisodeMetadata
    from dexsim.interface import INFO_SUCCESS, INFO_TERMINATION_REASON
    from dexsim.rollout import Transition, run_episode
    from dexsim.teleop.controller import ReplaySource, RetargetingController
    from dexsim.teleop.gestures import GestureEvent

    at_least(args.steps, 1, "--steps")
    at_least(args.seed, 0, "--seed")
    stream = read_hand_stream(input_file(args.stream, "stream"))
    if args.record is not None and Path(args.record).exists() and not Path(args.record).is_dir():
        raise ValueError(f"--record {args.record} is a file, expected a dataset directory")
    if stream.torn_tail:
        print(f"note: {args.stream}: skipped a torn last line")
    if not stream.samples:
        raise ValueError(f"stream {args.stream} holds no samples (only its header): nothing to replay")
    duration = stream.samples[-1].timestamp - stream.samples[0].timestamp
    cameras = tuple(c for c in args.cameras.split(",") if c)
    env = gym.make("AllegroUnscrew-sim", cameras=cameras, time_limit_s=max(duration, 0.1) + 1.0)
    recorder = Recorder.for_env(env, args.record) if args.record else None
    episodes: list[int] = []
    last_info: dict[str, Any] = {}

    def on_event(event: GestureEvent) -> None:
        print(f"gesture: {event.value}")
        if recorder is None:
            return
        if event is GestureEvent.START and not recorder.recording:
            recorder.start(EpisodeMetadata(source="sim", operator=args.operator, seed=args.seed))
        elif event is GestureEvent.STOP and recorder.recording:
            episodes.append(
                recorder.stop(
                    success=bool(last_info.get(INFO_SUCCESS, False)), termination_reason="operator stop gesture"
                )
            )

    def on_step(step: Transition) -> None:
        last_info.update(step.next_info)
        if recorder is not None and recorder.recording:
            recorder.add_step(step.observation, step.info, step.action, step.next_info)

    controller = RetargetingController(ReplaySource(stream.samples), control=env_config(env), on_event=on_event)
    try:
        outcome = run_episode(env, controller, seed=args.seed, max_steps=args.steps, on_step=on_step)
        if recorder is not None and recorder.recording:
            if recorder.num_frames:
                episodes.append(
                    recorder.stop(
                        success=outcome.success,
                        termination_reason=str(last_info.get(INFO_TERMINATION_REASON, "")) or "stream ended",
                    )
                )
            else:
                recorder.discard()
    finally:
        env.close()
    errors = [] if controller.last_result is None else controller.last_result.fingertip_error
    print(
        f"replayed {outcome.steps} steps ({outcome.duration_s:.1f} s): success={outcome.success}, "
        f"lid turns {float(last_info.get('lid_turns', float('nan'))):.2f}, "
        f"rejected frames {len(controller.rejections)}, gestures {[e.value for e in controller.events]}"
    )
    if len(errors):
        print(f"last frame's fingertip IK error (mm): {np.round(np.asarray(errors) * 1e3, 1).tolist()}")
    if recorder is not None:
        print(f"recorded episodes {episodes} into {args.record}")
    return 0


def _urdf(args: argparse.Namespace) -> int:
    from dexsim.hand.urdf import allegro_urdf

    output = output_file(args.output, "output")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(allegro_urdf(), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``teleop`` to the ``dexsim`` command line."""
    teleop = subparsers.add_parser(
        "teleop", help="teleoperation: live (Quest 3, ROS 2, mouse, replay), synthetic streams, replay, URDF"
    )
    sub = teleop.add_subparsers(dest="teleop_command", required=True, metavar="ACTION")

    synth = sub.add_parser("synth", help="write a synthetic hand stream (right-hand motion, left-hand gestures)")
    synth.add_argument("output", help="new stream file to create (*.handstream.jsonl; not overwritten)")
    synth.add_argument("--motion", choices=MOTIONS, default="twist")
    synth.add_argument("--seconds", type=float, default=10.0, help="length, s (default: 10)")
    synth.add_argument("--rate", type=float, default=60.0, help="frame rate, Hz (default: 60)")
    synth.add_argument("--scale", type=float, default=1.0, help="hand size vs a medium adult hand (default: 1)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--noise", type=float, default=0.001, help="tracking noise, m (default: 0.001)")
    synth.add_argument("--no-gestures", action="store_true", help="no left hand (no start/stop fists)")
    synth.set_defaults(handler=_synth)

    replay = sub.add_parser("replay", help="drive AllegroUnscrew-sim from a recorded hand stream")
    replay.add_argument("stream", help="a *.handstream.jsonl file")
    replay.add_argument("--seed", type=int, default=0, help="env reset seed (default: 0)")
    replay.add_argument("--steps", type=int, default=None, help="stop after this many env steps (>= 1)")
    replay.add_argument("--cameras", default="", help="comma-separated cameras to render (default: none)")
    replay.add_argument(
        "--record",
        default=None,
        metavar="DATASET",
        help="record the episode between the start and stop fists into this dataset",
    )
    replay.add_argument("--operator", default="replay", help="operator name stored with recorded episodes")
    replay.set_defaults(handler=_replay)

    from dexsim.teleop.session import add_live_parser

    add_live_parser(sub)

    urdf = sub.add_parser("urdf", help="write the kinematic Allegro URDF")
    urdf.add_argument("output")
    urdf.set_defaults(handler=_urdf)
