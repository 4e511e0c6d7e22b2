"""``dexsim twin`` (serve the twin as a ROS 2 hand) and ``dexsim operator`` (send an operator event)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

from dexsim.cli_args import at_least
from dexsim.real.config import load_hardware_config

__all__ = ["register"]


def _hardware(args: argparse.Namespace) -> Any:
    overrides: dict[str, Any] = {}
    if args.domain_id is not None:
        overrides["domain_id"] = args.domain_id
    if args.transport is not None:
        overrides["transport"] = args.transport
    return load_hardware_config(args.hardware, **overrides)


def _add_hardware_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hardware", default=None,
                        help="hardware YAML or profile (wonik_ros2, classic); default: Wonik's ROS 2 driver topics")
    parser.add_argument("--domain-id", type=int, default=None, help="DDS domain (ROS_DOMAIN_ID)")
    parser.add_argument("--transport", choices=("auto", "rclpy", "cyclonedds"), default=None)


def _run_twin(args: argparse.Namespace) -> int:
    from dexsim.real.twin import TwinRates, TwinServer
    from dexsim.sim.config import SimConfig

    at_least(args.seed, 0, "--seed")
    at_least(args.image_size, 1, "--image-size")
    hardware = _hardware(args)
    sim_config = SimConfig(image_size=args.image_size,
                           cameras=tuple(c for c in ("top", "wrist") if c in hardware.cameras))
    server = TwinServer(hardware, sim_config, TwinRates(args.state_hz, args.camera_hz), seed=args.seed)

    def stop(signum: int, frame: Any) -> None:
        server.stop_event.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"twin serving {hardware.state_topic} and {hardware.command_topic} on DDS domain {hardware.domain_id} "
          f"({server.rates.state_hz:g} Hz state, {server.rates.camera_hz:g} Hz cameras); Ctrl-C stops", flush=True)
    try:
        server.run(args.duration)
    finally:
        server.close()
    lid = server.simulation.lid_state()
    print(f"twin stopped: lid at {lid.turns:.2f} turns (released: {lid.released}); commands rejected: "
          f"{server.rejected_commands}; late ticks: {server.steps_behind}")
    return 0


_KEYS = {"r": "ready", "s": "success", "d": "bottle_dropped", "f": "failure", "e": "estop"}
"""Operator keys of ``dexsim operator keys`` -> the event they send."""


def _run_operator(args: argparse.Namespace) -> int:
    from dexsim.real.env import OperatorEvent
    from dexsim.real.transport import QosSpec, matched_subscribers, open_transport

    hardware = _hardware(args)
    interactive = args.event == "keys"
    if not interactive and args.event not in OperatorEvent.ALL:
        raise ValueError(f"operator event must be 'keys' or one of {OperatorEvent.ALL}, got {args.event!r}")
    delivered = True
    with open_transport(hardware.transport, hardware.domain_id) as transport:
        publisher = transport.publisher(hardware.operator_topic, "std_msgs/String", QosSpec(depth=10))

        def send(event: str) -> bool:
            message = transport.message("std_msgs/String")
            message.data = event
            listeners = matched_subscribers(publisher)
            if listeners == 0:
                print(f"nobody is listening on {hardware.operator_topic} (DDS domain {hardware.domain_id}): "
                      f"'{event}' reached no env (is the env or twin running on this domain?)",
                      file=sys.stderr, flush=True)
                return False
            publisher.publish(message)
            to = "" if listeners is None else f" to {listeners} listener{'s' if listeners != 1 else ''}"
            print(f"sent '{event}' on {hardware.operator_topic}{to}", flush=True)
            return True

        time.sleep(args.discovery_s)  # let the subscribers discover this writer (volatile: no history)
        if not interactive:
            delivered = send(args.event)
        else:
            keys = ", ".join(f"{key} = {event}" for key, event in _KEYS.items())
            print(f"operator keys (then Enter): {keys}, q = quit", flush=True)
            for line in sys.stdin:
                key = line.strip().lower()[:1]
                if key == "q":
                    break
                if key in _KEYS:
                    send(_KEYS[key])
                elif key:
                    print(f"unknown key {key!r}; {keys}, q = quit", flush=True)
        time.sleep(0.2)  # let the last message leave before the participant goes
    return 0 if delivered else 1


def register(subparsers: Any) -> None:
    """Add ``twin`` and ``operator`` to the ``dexsim`` command line."""
    twin = subparsers.add_parser("twin", help="serve the MuJoCo twin on the real hand's ROS 2 topics")
    _add_hardware_arguments(twin)
    twin.add_argument("--state-hz", type=float, default=100.0, help="joint state rate, Hz")
    twin.add_argument("--camera-hz", type=float, default=30.0, help="camera frame rate, Hz")
    twin.add_argument("--image-size", type=int, default=96, help="rendered image size, px")
    twin.add_argument("--seed", type=int, default=0, help="seed of the first scene")
    twin.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    twin.set_defaults(handler=_run_twin)
    operator = subparsers.add_parser("operator", help="send an operator event (ready, success, ...) to the hand env")
    _add_hardware_arguments(operator)
    operator.add_argument("event", help="ready | success | bottle_dropped | failure | estop, "
                          "or keys: read one-letter keys from stdin (r s d f e, q quits)")
    operator.add_argument("--discovery-s", type=float, default=1.0, help="wait before sending, s")
    operator.set_defaults(handler=_run_operator)
