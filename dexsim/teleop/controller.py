"""A teleoperation :class:`~dexsim.interface.Controller`: tracked hands in, ``AllegroUnscrew-*`` actions out.

Each ``act`` polls a :class:`FrameSource` for the newest sample, retargets the right hand to joint targets
(:class:`~dexsim.teleop.retarget.Retargeter`) and turns them into the env's action with
:func:`dexsim.interface.target_to_action` (delta to the *measured* joints, clipped to the per-step bound and
the joint limits), so the same controller drives the twin and the real hand. A rejected or missing right
hand holds the last good target. The left hand goes through a
:class:`~dexsim.teleop.gestures.GestureDetector`; its events are collected and passed to ``on_event``
(e.g. the recorder's start/stop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from dexsim.interface import OBS_JOINT_POSITIONS, ControlConfig, target_to_action
from dexsim.teleop.gestures import GestureDetector, GestureEvent
from dexsim.teleop.retarget import Retargeter, RetargetResult
from dexsim.teleop.skeleton import FrameRejected
from dexsim.teleop.stream import StreamSample

__all__ = ["FrameSource", "ReplaySource", "RetargetingController"]


@runtime_checkable
class FrameSource(Protocol):
    """Where tracked hands come from (a live headset link, a recorded stream, ...)."""

    def reset(self) -> None:
        """Start over (a replay rewinds; a live source drops what it buffered)."""

    def poll(self, dt: float) -> StreamSample | None:
        """The newest sample after ``dt`` more seconds of control time, or ``None`` if there is none yet."""


class ReplaySource:
    """Replays recorded samples against control time: each poll advances the clock by ``dt`` and returns
    the latest sample whose timestamp is not in the future (samples in between are skipped, as a live
    link keeps only the newest frame).

    Args:
        samples: Samples with non-decreasing timestamps (e.g. ``read_hand_stream(path).samples``).
        loop: Start again from the beginning after the last sample.
    """

    def __init__(self, samples: Sequence[StreamSample], loop: bool = False) -> None:
        if not samples:
            raise ValueError("a replay needs at least one sample")
        times = np.array([s.timestamp for s in samples])
        if (np.diff(times) < 0).any():
            raise ValueError("replay samples must have non-decreasing timestamps")
        self._samples = list(samples)
        self._times = times - times[0]
        # A looping replay starts over one (median) sample interval after the last sample.
        interval = float(np.median(np.diff(self._times))) if len(samples) > 1 else 0.0
        self._period = self._times[-1] + interval if interval > 0 else float("inf")
        self.loop = loop
        self.reset()

    def reset(self) -> None:
        self._clock = 0.0
        self._first = True

    @property
    def finished(self) -> bool:
        """True once the clock has passed the last sample (never when looping)."""
        return bool(not self.loop and self._clock > self._times[-1])

    def poll(self, dt: float) -> StreamSample | None:
        if self._first:
            self._first = False
        else:
            self._clock += dt
        clock = self._clock % self._period if self.loop else self._clock
        index = int(np.searchsorted(self._times, clock, side="right")) - 1
        return self._samples[max(index, 0)]


class RetargetingController:
    """Drives either dexsim env from tracked human hands.

    Args:
        source: Where hands come from.
        retargeter: Right hand to joint targets; default :class:`Retargeter` with default settings.
        gestures: Left-hand gesture detector; default :class:`GestureDetector`; ``None`` via
            ``use_gestures=False``.
        control: The env's :class:`~dexsim.interface.ControlConfig` (its ``max_joint_delta`` and
            ``control_dt`` are used).
        on_event: Called with each gesture event as it happens.
        use_gestures: Whether to run gesture detection on the left hand.
    """

    def __init__(
        self,
        source: FrameSource,
        retargeter: Retargeter | None = None,
        gestures: GestureDetector | None = None,
        control: ControlConfig | None = None,
        on_event: Callable[[GestureEvent], None] | None = None,
        use_gestures: bool = True,
    ) -> None:
        self.source = source
        self.retargeter = retargeter or Retargeter()
        self.gestures = (gestures or GestureDetector()) if use_gestures else None
        self.control = control or ControlConfig()
        self.on_event = on_event
        self.events: list[GestureEvent] = []
        self.rejections: list[list[str]] = []
        self.last_result: RetargetResult | None = None
        self._target: NDArray[np.float64] | None = None

    def reset(self, seed: int | None = None) -> None:
        """Rewind the source and forget the last target (``seed`` is unused: teleop is not random)."""
        del seed
        self.source.reset()
        self.retargeter.reset()
        self._target = None
        self.last_result = None

    def act(self, obs: dict[str, NDArray[Any]], info: dict[str, Any] | None = None) -> NDArray[np.float32]:
        """16 delta joint positions (rad) towards the retargeted target of the newest right hand."""
        measured = np.asarray(obs[OBS_JOINT_POSITIONS], dtype=np.float64)
        sample = self.source.poll(self.control.control_dt)
        if sample is not None:
            if sample.left is not None and self.gestures is not None:
                for event in self.gestures.update(sample.left):
                    self.events.append(event)
                    if self.on_event is not None:
                        self.on_event(event)
            if sample.right is not None:
                try:
                    self.last_result = self.retargeter(sample.right)
                    self._target = self.last_result.joint_targets
                except FrameRejected as rejected:
                    self.rejections.append(rejected.reasons)
        target = measured if self._target is None else self._target
        return target_to_action(target, measured, self.control.max_joint_delta)
