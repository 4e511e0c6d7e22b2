"""``dexsim teleop live``: builds the env, the input, the viewer and the recorder, and runs :class:`LiveTeleop`.

Sources: ``quest`` (the built-in ROS-TCP endpoint, :mod:`dexsim.teleop.rostcp`), ``ros2`` (hand topics of the
official endpoint, :mod:`dexsim.teleop.ros2_source`), ``replay`` (a ``*.handstream.jsonl`` played at its own pace)
and ``mouse`` (fingertip markers dragged in the viewer). Envs: ``sim`` (``AllegroUnscrew-sim`` behind
:class:`~dexsim.real.safety.SafetyWrapper`) or ``real`` (``AllegroUnscrew-real``, safety layer built in).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from dexsim.teleop.gestures import GestureDetector
from dexsim.teleop.live import FingertipInput, HandInput, Key, LiveConfig, LiveSummary, LiveTeleop, ReplayFeeder

__all__ = ["SOURCES", "ENVS", "STDIN_COMMANDS", "run_live"]

SOURCES = ("quest", "ros2", "replay", "mouse")
ENVS = ("sim", "real")
STDIN_COMMANDS = {"s": Key.START, "e": Key.STOP, "d": Key.DISCARD, "r": Key.RESET, "p": Key.PRESET, "q": Key.QUIT}
"""Terminal commands (a letter + Enter): start, end (stop and save), discard, reset, preset, quit."""


def _make_env(args: argparse.Namespace) -> Any:
    import gymnasium as gym

    import dexsim  # noqa: F401  (registers the envs)

    cameras = tuple(c for c in args.cameras.split(",") if c)
    if args.env == "sim":
        from dexsim.real.safety import SafetyWrapper

        return SafetyWrapper(gym.make("AllegroUnscrew-sim", cameras=cameras, time_limit_s=args.episode_seconds))
    from dexsim.interface import ControlConfig

    return gym.make("AllegroUnscrew-real", config=ControlConfig(cameras=cameras, time_limit_s=args.episode_seconds),
                    **({"hardware": args.hardware} if args.hardware else {}))


def _stdin_reader(teleop: LiveTeleop) -> None:
    for line in sys.stdin:
        key = STDIN_COMMANDS.get(line.strip().lower()[:1])
        if key is not None:
            teleop.press(key)


def run_live(args: argparse.Namespace) -> int:
    """The ``live`` sub-command (see :func:`dexsim.teleop.cli.register`)."""
    if args.source == "replay" and not args.stream:
        raise ValueError("--source replay needs --stream FILE")
    window = not args.no_viewer
    endpoint = ros2 = feeder = display = None
    env = _make_env(args)
    recorder = None
    if args.record:
        from dexsim.data.recorder import Recorder

        recorder = Recorder.for_env(env, args.record)
    config = LiveConfig(tracking_timeout_s=args.tracking_timeout, seed=args.seed, max_steps=args.steps,
                        max_seconds=args.seconds, operator=args.operator,
                        pace=args.env == "sim")
    try:
        if args.source == "mouse":
            teleop_input: Any = FingertipInput()
        else:
            if args.source == "quest":
                from dexsim.teleop.rostcp import EndpointConfig, RosTcpEndpoint, parse_allow_list

                endpoint = RosTcpEndpoint(EndpointConfig(
                    host=args.host, port=args.port, right_topic=args.right_topic, left_topic=args.left_topic,
                    max_frame_bytes=args.max_frame_bytes, allow=parse_allow_list(args.allow)))
                try:
                    endpoint.start()
                except OSError as exc:
                    raise ValueError(f"--host/--port {args.host}:{args.port}: {exc}") from None
                hands = endpoint.hands
                print(f"ROS-TCP endpoint listening on {args.host}:{endpoint.port} "
                      f"(topics {args.right_topic}, {args.left_topic})", flush=True)
            elif args.source == "ros2":
                from dexsim.teleop.ros2_source import Ros2HandSource

                ros2 = Ros2HandSource(args.right_topic, args.left_topic, args.message_type)
                hands = ros2.hands
            else:
                from dexsim.teleop.latest import LatestHands
                from dexsim.teleop.stream import read_hand_stream

                hands = LatestHands()
                feeder = ReplayFeeder(read_hand_stream(args.stream).samples, hands, speed=args.speed, loop=args.loop)
            teleop_input = HandInput(hands, gestures=GestureDetector(), tracking_timeout_s=args.tracking_timeout)
        teleop = LiveTeleop(env, teleop_input, recorder, config)
        if window or args.source == "mouse":
            from dexsim.teleop.viewer import TeleopDisplay

            sim_config = getattr(env.unwrapped, "config", None)
            from dexsim.sim.config import SimConfig

            display = TeleopDisplay(sim_config if isinstance(sim_config, SimConfig) else None, window=window,
                                    on_key=teleop.press, mouse=args.source == "mouse")
            teleop.on_tick = _display_hook(teleop, display, env)
        if feeder is not None:
            feeder.start()
        if args.keys_stdin:
            threading.Thread(target=_stdin_reader, args=(teleop,), daemon=True).start()
        summary = teleop.run()
    finally:
        for closer in (feeder and feeder.stop, endpoint and endpoint.stop, ros2 and ros2.close,
                       display and display.close, env.close):
            if closer:
                closer()
    _print_summary(summary, args)
    return 0


def _display_hook(teleop: LiveTeleop, display: Any, env: Any) -> Any:
    simulation = getattr(env.unwrapped, "simulation", None)
    mouse = isinstance(teleop.input, FingertipInput)
    placed = [None]

    def on_tick(tick: Any, obs: dict[str, Any], info: dict[str, Any], recording: bool) -> None:
        qpos = None if simulation is None else simulation.data.qpos
        display.update(tick, obs, recording, qpos)
        if not display.running:
            teleop.stop()
        if mouse:
            targets = teleop.input.targets
            if placed[0] is None or not np.array_equal(targets, placed[0]):  # a reset or preset moved them
                display.place_targets(targets)
                placed[0] = targets
            else:
                moved = display.read_targets()
                teleop.input.set_targets(moved)
                placed[0] = teleop.input.targets

    return on_tick


def _print_summary(summary: LiveSummary, args: argparse.Namespace) -> None:
    print(f"live teleop: {summary.steps} steps, held (tracking lost) {summary.held_steps}, "
          f"rejected frames {summary.rejected}, events {summary.events}")
    if args.record:
        print(f"recorded episodes {summary.episodes} into {args.record}")
    if args.stats:
        print("latency from frame receipt to command (per stage):")
        print(summary.stats.report())


def add_live_parser(sub: Any) -> None:
    """The ``live`` sub-command's options."""
    live = sub.add_parser("live", help="live teleoperation: Quest 3 (ROS-TCP), ROS 2 topics, replay or mouse")
    live.add_argument("--source", choices=SOURCES, default="quest")
    live.add_argument("--env", choices=ENVS, default="sim")
    live.add_argument("--host", default="127.0.0.1",
                      help="address the ROS-TCP endpoint binds (0.0.0.0: all interfaces; default: 127.0.0.1)")
    live.add_argument("--port", type=int, default=10000, help="ROS-TCP port (default: 10000, Unity's default)")
    live.add_argument("--allow", default="", help="comma-separated client addresses/networks (default: anyone)")
    live.add_argument("--max-frame-bytes", type=int, default=64 * 1024, help="largest accepted frame (default 64 KiB)")
    live.add_argument("--right-topic", default="/dexsim/hand/right")
    live.add_argument("--left-topic", default="/dexsim/hand/left")
    live.add_argument("--message-type", default="std_msgs/Float32MultiArray",
                      choices=("std_msgs/Float32MultiArray", "geometry_msgs/PoseArray"), help="for --source ros2")
    live.add_argument("--stream", default=None, help="*.handstream.jsonl for --source replay")
    live.add_argument("--speed", type=float, default=1.0, help="replay speed (default: 1)")
    live.add_argument("--loop", action="store_true", help="replay: start over at the end")
    live.add_argument("--record", default=None, metavar="DATASET", help="record episodes into this dataset")
    live.add_argument("--operator", default="", help="operator name stored with recorded episodes")
    live.add_argument("--cameras", default="", help="comma-separated cameras to render/record (default: none)")
    live.add_argument("--hardware", default=None, help="--env real: hardware YAML (default: the ROS 2 driver's)")
    live.add_argument("--episode-seconds", type=float, default=40.0, help="episode time limit, s (default: 40)")
    live.add_argument("--tracking-timeout", type=float, default=0.25,
                      help="hold the hand after this long without a valid right hand, s (default: 0.25)")
    live.add_argument("--seed", type=int, default=0, help="reset seed of the first episode")
    live.add_argument("--seconds", type=float, default=None, help="stop after this long, s (default: until quit)")
    live.add_argument("--steps", type=int, default=None, help="stop after this many env steps")
    live.add_argument("--no-viewer", action="store_true", help="no window (headless)")
    live.add_argument("--keys-stdin", action="store_true",
                      help="read commands from the terminal: s start, e stop, d discard, r reset, p preset, q quit")
    live.add_argument("--stats", action="store_true", help="print per-stage latency p50/p99 at the end")
    live.add_argument("-v", "--verbose", action="store_true", help="log connections, gestures and recordings")
    live.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.stream and not Path(args.stream).is_file():
        raise FileNotFoundError(f"--stream: no such file: {args.stream}")
    try:
        return run_live(args)
    except TimeoutError as exc:  # e.g. the real hand never reported ready
        raise ValueError(f"--env {args.env}: {exc}") from None
    except ImportError as exc:  # a transport for --env real / --source ros2 is missing
        raise ValueError(f"--env {args.env} / --source {args.source}: {exc}") from None

