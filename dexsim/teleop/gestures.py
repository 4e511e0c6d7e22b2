"""Left-hand gestures that drive recording: a fist toggles start/stop, a held open palm asks for a reset.

The hand's *curl* is the mean over the four fingers of ``|tip - wrist| / |knuckle - wrist|``: about 2 for
an open hand, below 1 for a fist, whatever the hand's size. Classification has hysteresis (a fist starts
below ``fist_enter`` and ends above ``fist_exit``) and a debounce (a new state must hold for ``debounce_s``
of frame time before it counts), so tracking jitter at a threshold cannot make a gesture chatter. Each
debounced fist emits one event: ``START`` when not recording, ``STOP`` when recording. An open palm held for
``reset_hold_s`` while not recording emits one ``RESET``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from dexsim.teleop.skeleton import HandFrame, HandJoint, frame_problems, require_frame

__all__ = ["GestureConfig", "GestureEvent", "GestureDetector", "hand_curl"]

_TIPS = [HandJoint.INDEX_TIP, HandJoint.MIDDLE_TIP, HandJoint.RING_TIP, HandJoint.LITTLE_TIP]
_KNUCKLES = [HandJoint.INDEX_PROXIMAL, HandJoint.MIDDLE_PROXIMAL, HandJoint.RING_PROXIMAL, HandJoint.LITTLE_PROXIMAL]


class GestureEvent(enum.Enum):
    """What a gesture asks for."""

    START = "start"
    STOP = "stop"
    RESET = "reset"


class _Pose(enum.Enum):
    OPEN = "open"
    NEUTRAL = "neutral"
    FIST = "fist"


@dataclass(frozen=True)
class GestureConfig:
    """Thresholds of :class:`GestureDetector`.

    Attributes:
        fist_enter: Curl below which a hand becomes a fist.
        fist_exit: Curl above which a fist ends (> ``fist_enter``: hysteresis).
        open_enter: Curl above which a hand counts as an open palm.
        open_exit: Curl below which an open palm ends (< ``open_enter``).
        debounce_s: How long a new state must hold before it is accepted, s.
        reset_hold_s: How long an open palm must be held to emit ``RESET``, s; ``None`` disables resets.
    """

    fist_enter: float = 1.15
    fist_exit: float = 1.35
    open_enter: float = 1.85
    open_exit: float = 1.7
    debounce_s: float = 0.15
    reset_hold_s: float | None = 2.0

    def __post_init__(self) -> None:
        if not self.fist_enter < self.fist_exit <= self.open_exit < self.open_enter:
            raise ValueError(
                "need fist_enter < fist_exit <= open_exit < open_enter, got "
                f"{self.fist_enter}, {self.fist_exit}, {self.open_exit}, {self.open_enter}"
            )
        if self.debounce_s < 0:
            raise ValueError(f"debounce_s must be >= 0, got {self.debounce_s}")
        if self.reset_hold_s is not None and self.reset_hold_s <= 0:
            raise ValueError(f"reset_hold_s must be positive or None, got {self.reset_hold_s}")


def hand_curl(frame: HandFrame) -> float:
    """Mean tip-to-wrist over knuckle-to-wrist distance of the four fingers (about 2 open, < 1 fist).

    Raises:
        TypeError: ``frame`` is not a :class:`HandFrame`.
    """
    p = require_frame(frame).positions
    wrist = p[HandJoint.WRIST]
    return float(np.mean(np.linalg.norm(p[_TIPS] - wrist, axis=1) / np.linalg.norm(p[_KNUCKLES] - wrist, axis=1)))


class GestureDetector:
    """Turns a stream of left-hand frames into :class:`GestureEvent` s.

    Args:
        config: Thresholds.
    """

    def __init__(self, config: GestureConfig | None = None) -> None:
        self.config = config or GestureConfig()
        self.reset()

    def reset(self, recording: bool = False) -> None:
        """Forget the gesture state; ``recording`` says whether a recording is running."""
        self.recording = recording
        self._state = _Pose.NEUTRAL
        self._candidate = _Pose.NEUTRAL
        self._candidate_since: float | None = None
        self._state_since: float | None = None
        self._reset_sent = False

    def _classify(self, curl: float) -> _Pose:
        c = self.config
        if self._state is _Pose.FIST:
            return _Pose.FIST if curl < c.fist_exit else (_Pose.OPEN if curl > c.open_enter else _Pose.NEUTRAL)
        if self._state is _Pose.OPEN:
            return _Pose.OPEN if curl > c.open_exit else (_Pose.FIST if curl < c.fist_enter else _Pose.NEUTRAL)
        return _Pose.FIST if curl < c.fist_enter else (_Pose.OPEN if curl > c.open_enter else _Pose.NEUTRAL)

    def update(self, frame: HandFrame | None) -> list[GestureEvent]:
        """Feed one left-hand frame (``None`` or an implausible frame: tracking lost); returns new events.

        Raises:
            TypeError: ``frame`` is neither ``None`` nor a :class:`HandFrame`.
        """
        if frame is None or frame_problems(frame):
            self._candidate, self._candidate_since = self._state, None
            return []
        if frame.handedness != "left":
            raise ValueError("gestures come from the left hand; got a right-hand frame")
        t = frame.timestamp
        raw = self._classify(hand_curl(frame))
        events: list[GestureEvent] = []
        if raw is self._state:
            self._candidate, self._candidate_since = raw, None
        elif raw is not self._candidate or self._candidate_since is None:
            self._candidate, self._candidate_since = raw, t
        if self._candidate is not self._state and self._candidate_since is not None:
            if t - self._candidate_since >= self.config.debounce_s:
                self._state, self._state_since, self._reset_sent = self._candidate, self._candidate_since, False
                if self._state is _Pose.FIST:
                    events.append(GestureEvent.STOP if self.recording else GestureEvent.START)
                    self.recording = not self.recording
        hold = self.config.reset_hold_s
        if (
            hold is not None
            and self._state is _Pose.OPEN
            and not self.recording
            and not self._reset_sent
            and self._state_since is not None
            and t - self._state_since >= hold
        ):
            self._reset_sent = True
            events.append(GestureEvent.RESET)
        return events
