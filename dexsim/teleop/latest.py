"""The newest tracked frame of each hand, shared between a receiving thread and the control loop.

Live links keep only the newest frame (a queue of stale frames is what makes weak Wi-Fi lag by seconds): each
:meth:`LatestHands.store` replaces the previous frame of that hand and wakes a control loop blocked in
:meth:`LatestHands.wait_newer`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from dexsim.teleop.skeleton import Handedness, HandFrame

__all__ = ["ReceivedFrame", "LatestHands"]


@dataclass(frozen=True)
class ReceivedFrame:
    """The newest frame of one hand.

    Attributes:
        frame: The decoded hand (OpenXR order, right-handed frame, m).
        received: ``time.perf_counter()`` when it arrived (its last byte was read), s.
        sequence: How many frames of this hand had arrived, this one included (1, 2, ...).
    """

    frame: HandFrame
    received: float
    sequence: int


class LatestHands:
    """Thread-safe newest frame per hand."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._latest: dict[str, ReceivedFrame] = {}
        self._counts = {"right": 0, "left": 0}

    def store(self, frame: HandFrame, received: float | None = None) -> ReceivedFrame:
        """Replace the newest frame of ``frame.handedness`` (``received`` defaults to now)."""
        hand = frame.handedness
        with self._condition:
            self._counts[hand] += 1
            item = ReceivedFrame(frame, time.perf_counter() if received is None else received, self._counts[hand])
            self._latest[hand] = item
            self._condition.notify_all()
        return item

    def latest(self, hand: Handedness) -> ReceivedFrame | None:
        """The newest frame of ``hand`` (``None`` before the first)."""
        with self._condition:
            return self._latest.get(hand)

    def wait_newer(self, hand: Handedness, sequence: int, timeout_s: float) -> ReceivedFrame | None:
        """Block until ``hand`` has a frame with a sequence number above ``sequence`` (at most ``timeout_s``);
        returns it, or ``None`` on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while True:
                item = self._latest.get(hand)
                if item is not None and item.sequence > sequence:
                    return item
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._condition.wait(left)

    def clear(self) -> None:
        """Forget the stored frames (sequence numbers keep counting)."""
        with self._condition:
            self._latest.clear()
