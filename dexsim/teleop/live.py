"""Live teleoperation: tracked hands (or mouse-dragged fingertips) -> retarget -> IK -> safety -> ``env.step``.

:class:`LiveTeleop` runs the loop on either env of the contract. Each tick:

1. the *input* gives the newest right-hand frame (waiting up to one control period for one newer than the last
   used, so a command follows a frame's receipt by the processing time only) or the dragged fingertip targets;
2. the right hand is retargeted (:class:`~dexsim.teleop.retarget.Retargeter`: validation, steps a-d, IK), the
   left hand goes through the :class:`~dexsim.teleop.gestures.GestureDetector` (fist: start/stop recording);
3. *tracking loss* - no valid right frame for ``tracking_timeout_s`` (or a rejected frame) - holds the last target;
4. the action (:func:`~dexsim.interface.target_to_action`) goes to ``env.step``; with ``AllegroUnscrew-sim`` the CLI
   wraps the env in :class:`~dexsim.real.safety.SafetyWrapper`, the real env has its safety layer built in;
5. while recording, the step goes to :class:`dexsim.data.Recorder`; an episode that ends (time limit, success,
   drop) is saved and the env reset.

Keys (:class:`Key`, from the viewer or stdin) start, stop, discard and reset. :class:`LatencyStats` keeps per-stage
timings from frame receipt to command (p50/p99).
"""

from __future__ import annotations

import enum
import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.hand.ik import FingerIKConfig, solve_fingertips
from dexsim.hand.joints import home_pose
from dexsim.interface import INFO_SUCCESS, INFO_TERMINATION_REASON, OBS_JOINT_POSITIONS, env_config, target_to_action
from dexsim.teleop.gestures import GestureDetector, GestureEvent
from dexsim.teleop.latest import LatestHands, ReceivedFrame
from dexsim.teleop.retarget import Retargeter
from dexsim.teleop.skeleton import FrameRejected
from dexsim.teleop.stream import StreamSample

__all__ = [
    "Key",
    "LiveConfig",
    "LatencyStats",
    "TickInput",
    "TeleopInput",
    "HandInput",
    "FingertipInput",
    "ReplayFeeder",
    "LiveTeleop",
    "LiveSummary",
    "GRASP_PRESETS",
]

log = logging.getLogger(__name__)


class Key(enum.Enum):
    """Operator commands (viewer keys or stdin lines)."""

    START = "start"
    STOP = "stop"
    DISCARD = "discard"
    RESET = "reset"
    QUIT = "quit"
    PRESET = "preset"  # mouse input: next grasp preset


@dataclass(frozen=True)
class LiveConfig:
    """Settings of :class:`LiveTeleop`.

    Attributes:
        tracking_timeout_s: Without a valid right-hand frame for this long the hand holds its last target, s.
        seed: Reset seed of the first episode (later episodes count up from it).
        max_steps: Stop after this many env steps in all (``None``: until quit).
        max_seconds: Stop after this much wall time, s (``None``: until quit).
        pace: Run no faster than the control rate (for envs that do not pace themselves: the twin; the real env
            waits for its next control tick inside ``step``).
        operator: Operator name stored with recorded episodes.
        save_on_episode_end: Save a running recording when an episode ends (else discard it).
        collect_in_slack: Keep Python's garbage collector off the receipt -> command path: objects that exist when
            the loop starts are frozen (``gc.freeze``), automatic collection is off while it runs, and the loop
            collects itself after each ``env.step`` (the youngest generation every tick, the middle one every
            10 ticks, all every 200), the previous settings are restored at the end.
        critical_switch_interval_s: Python's thread switch interval (``sys.setswitchinterval``) from the start of a
            tick to the command, s: long enough that the receiving thread (ROS-TCP endpoint, ROS 2) cannot force a
            GIL handoff in the middle of the retargeting (on a loaded machine each handoff can cost the loop a
            scheduler time slice); Python's own interval is restored before ``env.step``. ``None``: leave it.
    """

    tracking_timeout_s: float = 0.25
    seed: int | None = 0
    max_steps: int | None = None
    max_seconds: float | None = None
    pace: bool = True
    operator: str = ""
    save_on_episode_end: bool = True
    collect_in_slack: bool = True
    critical_switch_interval_s: float | None = 0.05

    def __post_init__(self) -> None:
        if self.tracking_timeout_s <= 0:
            raise ValueError(f"tracking_timeout_s must be positive, got {self.tracking_timeout_s}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {self.max_seconds}")
        if self.critical_switch_interval_s is not None and not 0 < self.critical_switch_interval_s <= 1.0:
            raise ValueError(f"critical_switch_interval_s must be in (0, 1] s, got {self.critical_switch_interval_s}")


STAGES = ("wait", "validate+steps", "ik", "action", "total")
"""Stages timed by :class:`LatencyStats`: frame receipt -> picked up by the loop (``wait``), validation and
retargeting steps a-d, IK (with the pinch passes), safety/action, and receipt -> command handed to the env."""


@dataclass
class LatencyStats:
    """Per-stage timings in seconds, one entry per command that followed a fresh frame."""

    samples: dict[str, list[float]] = field(default_factory=lambda: {stage: [] for stage in STAGES})

    def add(self, **durations: float) -> None:
        for stage, value in durations.items():
            self.samples[stage].append(value)

    def summary(self) -> dict[str, tuple[float, float, int]]:
        """Per stage ``(p50, p99, count)`` in seconds."""
        out = {}
        for stage, values in self.samples.items():
            if values:
                a = np.asarray(values)
                out[stage] = (float(np.median(a)), float(np.quantile(a, 0.99)), len(values))
        return out

    def report(self) -> str:
        """A small table of p50/p99 per stage in ms."""
        lines = [f"{'stage':<16}{'p50 ms':>9}{'p99 ms':>9}{'n':>7}"]
        for stage, (p50, p99, n) in self.summary().items():
            lines.append(f"{stage:<16}{p50 * 1e3:9.3f}{p99 * 1e3:9.3f}{n:7d}")
        return "\n".join(lines)


@dataclass
class TickInput:
    """What the input gave for one tick.

    Attributes:
        target: Joint targets (16,), rad, or ``None`` (hold).
        fingertips: (4, 3) fingertip targets in the hand frame for display, m, or ``None``.
        fresh: True if a new frame/target arrived this tick.
        lost: True while tracking is lost (no valid frame within the timeout).
        received: ``perf_counter`` receipt time of the frame used, s (``None`` without a fresh frame).
        timings: Stage durations of this tick, s.
        left_events: Gesture events of the left hand this tick.
    """

    target: NDArray[np.float64] | None = None
    fingertips: NDArray[np.float64] | None = None
    fresh: bool = False
    lost: bool = False
    received: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    left_events: list[GestureEvent] = field(default_factory=list)


class TeleopInput(Protocol):
    """An input of :class:`LiveTeleop` (hands or fingertip targets)."""

    def reset(self, measured: NDArray[np.float64]) -> None:
        """A new episode begins at joint positions ``measured``."""

    def tick(self, wait_s: float) -> TickInput:
        """The newest input, waiting at most ``wait_s`` for a fresh one."""


class HandInput:
    """Tracked hands from a :class:`~dexsim.teleop.latest.LatestHands` (ROS-TCP endpoint, ROS 2 topic, replay).

    Args:
        hands: Where frames arrive.
        retargeter: Right hand -> joint targets.
        gestures: Left-hand gestures (``None``: no gestures).
        tracking_timeout_s: A right hand older than this (by receipt) counts as lost, s.
        frame_wait_s: How long a tick waits for a frame newer than the newest at its start, s (a 60-90 Hz headset
            delivers one within 17 ms).
    """


    def __init__(
        self,
        hands: LatestHands,
        retargeter: Retargeter | None = None,
        gestures: GestureDetector | None = None,
        tracking_timeout_s: float = 0.25,
        frame_wait_s: float = 0.025,
    ) -> None:
        self.hands = hands
        self.frame_wait_s = frame_wait_s
        self.retargeter = retargeter or Retargeter()
        self.gestures = gestures
        self.tracking_timeout_s = tracking_timeout_s
        self.rejections: list[list[str]] = []
        self._right_seq = 0
        self._left_seq = 0
        self._last_valid: float | None = None
        self._target: NDArray[np.float64] | None = None
        self._tips: NDArray[np.float64] | None = None

    def reset(self, measured: NDArray[np.float64]) -> None:
        self.retargeter.reset(np.asarray(measured, dtype=np.float64))
        self._target = None
        self._tips = None
        self._last_valid = None

    def _left(self, now: float) -> list[GestureEvent]:
        if self.gestures is None:
            return []
        item = self.hands.latest("left")
        if item is None or now - item.received > self.tracking_timeout_s:
            return self.gestures.update(None)
        if item.sequence == self._left_seq:
            return []
        self._left_seq = item.sequence
        return self.gestures.update(item.frame)

    def tick(self, wait_s: float) -> TickInput:
        # The left hand first: its gestures (debounced over 0.15 s anyway) stay off the receipt -> command path.
        out = TickInput(left_events=self._left(time.perf_counter()))
        # Wait for a frame that arrives after this tick began (at most ``frame_wait_s``): the command then
        # follows the frame's receipt by the processing time only. Without one, take a newer one that came before.
        newest = self.hands.latest("right")
        after = max(self._right_seq, newest.sequence if newest is not None else 0)
        item: ReceivedFrame | None = self.hands.wait_newer("right", after, min(wait_s, self.frame_wait_s))
        if item is None and newest is not None and newest.sequence > self._right_seq:
            item = newest
        picked = time.perf_counter()
        if item is not None:
            self._right_seq = item.sequence
            out.fresh, out.received = True, item.received
            try:
                result = self.retargeter(item.frame)
            except FrameRejected as rejected:
                self.rejections.append(rejected.reasons)
            else:
                self._target, self._tips, self._last_valid = result.joint_targets, result.fingertip_targets, picked
                t = self.retargeter.timings
                out.timings = {"wait": picked - item.received, "validate+steps": t[0], "ik": t[1]}
        out.lost = self._last_valid is None or picked - self._last_valid > self.tracking_timeout_s
        out.target, out.fingertips = self._target, self._tips
        return out


GRASP_PRESETS: dict[str, NDArray[np.float64]] = {
    "open": home_pose(),
    "pinch": np.array([0.0, 0.75, 0.65, 0.3, 0.0, 0.1, 0.1, 0.1, 0.0, 0.1, 0.1, 0.1, 1.2, 0.35, 0.5, 0.6]),
    "grasp": np.array([0.0, 0.9, 0.7, 0.5, 0.0, 0.9, 0.7, 0.5, 0.0, 0.9, 0.7, 0.5, 1.3, 0.4, 0.6, 0.6]),
}
"""Joint poses (rad) whose fingertips the mouse input's targets jump to (``Key.PRESET`` cycles)."""


class FingertipInput:
    """Four fingertip targets (hand frame, m) -> per-finger IK -> joint targets (the mouse input).

    ``targets`` is read each tick: the viewer writes the dragged mocap bodies into it, a headless caller sets it.

    Args:
        ik: IK settings.
    """

    def __init__(self, ik: FingerIKConfig | None = None) -> None:
        from dexsim.hand.kinematics import fingertip_positions

        self._fk = fingertip_positions
        self.ik = ik or FingerIKConfig()
        self._lock = threading.Lock()
        self._targets = self._fk(home_pose())
        self._q = home_pose()
        self._version = 0
        self._used = -1
        self._preset = 0

    @property
    def targets(self) -> NDArray[np.float64]:
        """Current fingertip targets (4, 3), hand frame, m."""
        with self._lock:
            return self._targets.copy()

    def set_targets(self, targets: NDArray[np.floating], received: float | None = None) -> None:
        """Move the targets (thread-safe)."""
        value = np.asarray(targets, dtype=np.float64)
        if value.shape != (4, 3) or not np.isfinite(value).all():
            raise ValueError(f"fingertip targets must be 4 finite 3-vectors, got shape {value.shape}")
        with self._lock:
            if not np.array_equal(value, self._targets):
                self._targets = value.copy()
                self._version += 1
                self._received = time.perf_counter() if received is None else received

    def next_preset(self) -> str:
        """Jump the targets to the next grasp preset's fingertips; returns its name."""
        self._preset = (self._preset + 1) % len(GRASP_PRESETS)
        name = list(GRASP_PRESETS)[self._preset]
        self.set_targets(self._fk(GRASP_PRESETS[name]))
        return name

    def reset(self, measured: NDArray[np.float64]) -> None:
        self._q = np.asarray(measured, dtype=np.float64).copy()
        self.set_targets(self._fk(self._q))

    def tick(self, wait_s: float) -> TickInput:
        del wait_s
        with self._lock:
            targets, version = self._targets.copy(), self._version
            received = getattr(self, "_received", None)
        out = TickInput(fingertips=targets, fresh=version != self._used)
        if out.fresh:
            self._used = version
            start = time.perf_counter()
            self._q = solve_fingertips(targets, self._q, self.ik).q
            out.received = received
            out.timings = {"ik": time.perf_counter() - start}
            if received is not None:
                out.timings["wait"] = start - received
        out.target = self._q.copy()
        return out


class ReplayFeeder:
    """Plays recorded samples into a :class:`LatestHands` at their own pace, as a headset link would (a thread).

    Args:
        samples: Stream samples (timestamps in s, non-decreasing).
        hands: Where to put the frames.
        speed: Playback speed (1: real time).
        loop: Start over after the last sample.
    """

    def __init__(
        self, samples: Sequence[StreamSample], hands: LatestHands, speed: float = 1.0, loop: bool = False
    ) -> None:
        if not samples:
            raise ValueError("a replay needs at least one sample")
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.samples, self.hands, self.speed, self.loop = list(samples), hands, speed, loop
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.finished = threading.Event()

    def start(self) -> ReplayFeeder:
        self._thread = threading.Thread(target=self._run, name="dexsim-replay", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        t0 = self.samples[0].timestamp
        while not self._stop.is_set():
            start = time.monotonic()
            for sample in self.samples:
                delay = start + (sample.timestamp - t0) / self.speed - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                for frame in (sample.right, sample.left):
                    if frame is not None:
                        self.hands.store(frame)
            if not self.loop:
                break
        self.finished.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)


@dataclass
class LiveSummary:
    """What a live session did.

    Attributes:
        steps: Env steps in all.
        episodes: Recorded episode ids, in order.
        events: Gesture events and keys handled, in order (their values).
        held_steps: Steps that held the hand because tracking was lost.
        rejected: Right-hand frames rejected by validation.
        stats: Latency statistics.
    """

    steps: int = 0
    episodes: list[int] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    held_steps: int = 0
    rejected: int = 0
    stats: LatencyStats = field(default_factory=LatencyStats)


class LiveTeleop:
    """The live loop.

    Args:
        env: ``AllegroUnscrew-sim`` (ideally wrapped in ``SafetyWrapper``) or ``AllegroUnscrew-real``.
        teleop_input: :class:`HandInput` or :class:`FingertipInput`.
        recorder: Where recorded episodes go (``None``: no recording; start/stop are then only reported).
        config: Loop settings.
        on_tick: Called after every step with ``(tick input, observation, info, recording)`` (the viewer).
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        teleop_input: TeleopInput,
        recorder: Any | None = None,
        config: LiveConfig | None = None,
        on_tick: Callable[[TickInput, dict[str, Any], dict[str, Any], bool], None] | None = None,
    ) -> None:
        self.env = env
        self.input = teleop_input
        self.recorder = recorder
        self.config = config or LiveConfig()
        self.control = env_config(env)
        self.on_tick = on_tick
        self.keys: queue.Queue[Key] = queue.Queue()
        self.summary = LiveSummary()
        self._stop = threading.Event()
        self._episode_seed = self.config.seed
        self._hold: NDArray[np.float64] | None = None
        self.last_command: NDArray[np.float64] | None = None
        """The absolute joint targets of the latest command (before the env's safety layer), rad."""

    @property
    def recording(self) -> bool:
        return self.recorder is not None and bool(self.recorder.recording)

    def press(self, key: Key) -> None:
        """Queue an operator command (thread-safe; viewer key callbacks and stdin readers call this)."""
        self.keys.put(key)

    def stop(self) -> None:
        """End :meth:`run` after the current tick (thread-safe)."""
        self._stop.set()

    def _start(self, info: dict[str, Any]) -> None:
        from dexsim.data.schema import EpisodeMetadata

        if self.recorder is None or self.recorder.recording:
            return
        source = "real" if "real" in type(self.env.unwrapped).__name__.lower() else "sim"
        self.recorder.start(EpisodeMetadata(source=source, operator=self.config.operator, seed=self._episode_seed))
        log.info("recording started")

    def _finish(self, info: dict[str, Any], reason: str, save: bool = True) -> None:
        if self.recorder is None or not self.recorder.recording:
            return
        if save and self.recorder.num_frames:
            episode = self.recorder.stop(success=bool(info.get(INFO_SUCCESS, False)), termination_reason=reason)
            self.summary.episodes.append(episode)
            log.info("recorded episode %d (%s)", episode, reason)
        else:
            self.recorder.discard()
            log.info("recording discarded (%s)", reason)

    def _reset(self) -> tuple[dict[str, Any], dict[str, Any]]:
        obs, info = self.env.reset(seed=self._episode_seed)
        if self._episode_seed is not None:
            self._episode_seed += 1
        self.input.reset(np.asarray(obs[OBS_JOINT_POSITIONS], dtype=np.float64))
        self._hold = None
        gestures = getattr(self.input, "gestures", None)
        if gestures is not None:  # keep its pose state: a palm still open after a reset must not reset again
            gestures.recording = self.recording
        return obs, info

    def _handle(self, command: Key | GestureEvent, info: dict[str, Any]) -> bool:
        """Apply one key or gesture; True if the env must be reset."""
        self.summary.events.append(command.value)
        if command in (Key.START, GestureEvent.START):
            self._start(info)
        elif command in (Key.STOP, GestureEvent.STOP):
            self._finish(info, "operator stop")
        elif command is Key.DISCARD:
            self._finish(info, "operator discard", save=False)
        elif command in (Key.RESET, GestureEvent.RESET):
            self._finish(info, "operator reset", save=self.config.save_on_episode_end)
            return True
        elif command is Key.QUIT:
            self._stop.set()
        elif command is Key.PRESET and isinstance(self.input, FingertipInput):
            log.info("grasp preset: %s", self.input.next_preset())
        gestures = getattr(self.input, "gestures", None)
        if gestures is not None:
            gestures.recording = self.recording  # keys and gestures share one recording state
        return False

    def run(self) -> LiveSummary:
        """Run until quit (key, window closed, Ctrl+C, the real hand's e-stop), ``max_steps`` or ``max_seconds``;
        a running recording is saved at the end."""
        cfg, control = self.config, self.control
        obs, info = self._reset()
        collector_was_on = gc.isenabled()
        switch_interval = sys.getswitchinterval()
        if cfg.collect_in_slack:
            gc.collect()
            gc.freeze()
            gc.disable()
        began = time.monotonic()
        next_tick = began
        try:
            while not self._stop.is_set():
                if cfg.max_steps is not None and self.summary.steps >= cfg.max_steps:
                    break
                if cfg.max_seconds is not None and time.monotonic() - began >= cfg.max_seconds:
                    break
                if cfg.critical_switch_interval_s is not None:
                    sys.setswitchinterval(cfg.critical_switch_interval_s)
                tick = self.input.tick(control.control_dt)
                reset = False
                while not self.keys.empty():
                    reset |= self._handle(self.keys.get_nowait(), info)
                for event in tick.left_events:
                    reset |= self._handle(event, info)
                if reset:
                    sys.setswitchinterval(switch_interval)
                    obs, info = self._reset()
                    continue
                measured = np.asarray(obs[OBS_JOINT_POSITIONS], dtype=np.float64)
                start = time.perf_counter()
                held = tick.target is None or tick.lost
                if held:
                    self.summary.held_steps += 1
                if held:
                    target = measured if self._hold is None else self._hold
                else:
                    target = np.asarray(tick.target, dtype=np.float64)
                action = target_to_action(target, measured, control.max_joint_delta)
                self.last_command = target
                command = time.perf_counter()
                if tick.fresh and tick.received is not None and not held:
                    self.summary.stats.add(action=command - start, total=command - tick.received, **tick.timings)
                if not held:
                    self._hold = target.copy()
                sys.setswitchinterval(switch_interval)
                next_obs, _, terminated, truncated, next_info = self.env.step(action)
                self.summary.steps += 1
                if self.recording:
                    self.recorder.add_step(obs, info, action, next_info)
                obs, info = next_obs, next_info
                if self.on_tick is not None:
                    self.on_tick(tick, obs, info, self.recording)
                if terminated or truncated:
                    reason = str(info.get(INFO_TERMINATION_REASON, "")) or "episode ended"
                    self._finish(info, reason, save=cfg.save_on_episode_end)
                    if reason == "estop":  # the real hand's e-stop (SIGINT, operator): end the session, holding
                        self.summary.events.append("estop")
                        break
                    obs, info = self._reset()
                if cfg.collect_in_slack:
                    steps = self.summary.steps
                    gc.collect(2 if steps % 200 == 0 else 1 if steps % 10 == 0 else 0)
                if cfg.pace:
                    next_tick += control.control_dt
                    delay = next_tick - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    else:
                        next_tick = time.monotonic()
        except KeyboardInterrupt:  # Ctrl+C ends the session; the recording so far is saved below
            self.summary.events.append("interrupted")
        finally:
            sys.setswitchinterval(switch_interval)
            if cfg.collect_in_slack:
                gc.unfreeze()
                if collector_was_on:
                    gc.enable()
            self._finish(info, "session ended", save=True)
        self.summary.rejected = len(getattr(self.input, "rejections", []))
        return self.summary
