"""Benchmark: live teleop latency from hand-frame receipt to command, per stage, on the twin.

Run: ``.venv/bin/python benchmarks/bench_teleop.py [--seconds 20] [--rate 90]``

* A headset stand-in runs in a *separate process*: it connects to the ROS-TCP endpoint over loopback like Unity's
  ROS-TCP-Connector (handshake, ``__publish`` of both hand topics) and streams ``std_msgs/Float32MultiArray`` hand
  arrays (Unity order and frame) for both hands at ``--rate`` Hz: a synthetic twisting right hand with 1 mm
  tracking noise (:mod:`dexsim.teleop.synthetic`) and a relaxed left hand.
* The loop: :class:`~dexsim.teleop.live.LiveTeleop` with :class:`~dexsim.teleop.live.HandInput` on
  ``AllegroUnscrew-sim`` behind ``SafetyWrapper`` at its 20 Hz control rate (real-time paced, no cameras).
* Stages (``--stats`` of ``dexsim teleop live`` prints the same): receipt -> picked up by the loop (``wait``),
  validation + retargeting steps a-d, IK (with the pinch passes), safety/action, and receipt -> command handed to
  ``env.step`` (``total``).
* Side by side in one run: the frame-synchronised tick (waits for a frame that arrives after the tick began, the
  default) and a naive tick that takes the newest frame already there (``frame_wait_s = 0``), whose frames are
  up to one frame interval old. Goal: p99 receipt -> command <= 5 ms at 90 Hz.
"""

from __future__ import annotations

import argparse
import socket
import struct
import subprocess
import sys
import time


def client(port: int, rate: float, seconds: float) -> None:
    """The headset stand-in (runs in its own process)."""
    from dexsim.teleop.cdr import encode_float32_multiarray
    from dexsim.teleop.rostcp import encode_frame
    from dexsim.teleop.skeleton import to_unity_array
    from dexsim.teleop.synthetic import gesture_stream, synthetic_stream

    right = synthetic_stream("twist", seconds, rate, seed=3, noise=0.001)
    left = gesture_stream([("relaxed", seconds)], rate, seed=4)
    payloads = [
        encode_frame("/dexsim/hand/right", encode_float32_multiarray(to_unity_array(r)))
        + encode_frame("/dexsim/hand/left", encode_float32_multiarray(to_unity_array(left[min(i, len(left) - 1)])))
        for i, r in enumerate(right)
    ]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for topic in ("/dexsim/hand/right", "/dexsim/hand/left"):
        body = b'{"topic": "%s", "message_name": "std_msgs/Float32MultiArray", "queue_size": 1, "latch": false}\x00'
        sock.sendall(encode_frame("__publish", body % topic.encode()))
    start = time.monotonic()
    for i, payload in enumerate(payloads):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sock.sendall(payload)
    sock.sendall(struct.pack("<II", 0, 0))
    sock.close()


def run(seconds: float, rate: float, frame_wait_s: float) -> tuple[dict, int, int]:
    import gymnasium as gym

    import dexsim  # noqa: F401
    from dexsim.real.safety import SafetyWrapper
    from dexsim.teleop.live import HandInput, LiveConfig, LiveTeleop
    from dexsim.teleop.rostcp import EndpointConfig, RosTcpEndpoint

    with RosTcpEndpoint(EndpointConfig(port=0)) as endpoint:
        process = subprocess.Popen(
            [sys.executable, __file__, "--client", str(endpoint.port), "--rate", str(rate), "--seconds",
             str(seconds + 2.0)]
        )
        try:
            env = SafetyWrapper(gym.make("AllegroUnscrew-sim", cameras=(), time_limit_s=seconds + 10))
            hands = HandInput(endpoint.hands, frame_wait_s=frame_wait_s)
            while endpoint.latest("right") is None:  # the stand-in starts
                time.sleep(0.01)
            teleop = LiveTeleop(env, hands, config=LiveConfig(max_seconds=seconds))
            summary = teleop.run()
            env.close()
        finally:
            process.kill()
            process.wait()
        return summary.stats.summary(), summary.steps, endpoint.latest("right").sequence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run, s (default: 20)")
    parser.add_argument("--rate", type=float, default=90.0, help="hand frame rate, Hz (default: 90)")
    parser.add_argument("--client", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client is not None:
        client(args.client, args.rate, args.seconds)
        return
    results = {}
    for name, wait in (("frame-synchronised (default)", 0.025), ("newest already there", 0.0)):
        stats, steps, frames = run(args.seconds, args.rate, wait)
        results[name] = stats
        print(f"{name}: {steps} control steps (20 Hz), {frames} right-hand frames received at {args.rate:g} Hz")
        print(f"  {'stage':<16}{'p50 ms':>9}{'p99 ms':>9}{'n':>7}")
        for stage, (p50, p99, n) in stats.items():
            print(f"  {stage:<16}{p50 * 1e3:9.3f}{p99 * 1e3:9.3f}{n:7d}")
    a, b = (results[name]["total"] for name in results)
    print(f"receipt -> command, naive / synchronised: p50 {b[0] / a[0]:.1f}x, p99 {b[1] / a[1]:.1f}x; "
          f"goal p99 <= 5 ms: {'met' if a[1] <= 0.005 else 'NOT met'} ({a[1] * 1e3:.2f} ms)")


if __name__ == "__main__":
    main()
