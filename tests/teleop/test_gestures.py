"""Left-hand fist gestures: one event per fist, no chatter, open-palm reset."""

import numpy as np
import pytest

from dexsim.teleop.gestures import GestureConfig, GestureDetector, GestureEvent, hand_curl
from dexsim.teleop.synthetic import POSES, gesture_stream, interpolate, synthetic_frame

RATE = 60.0


def _run(frames, detector=None):
    detector = detector or GestureDetector()
    events = []
    for frame in frames:
        events += [(round(frame.timestamp, 3), event) for event in detector.update(frame)]
    return events


def test_each_fist_toggles_recording_once_and_a_held_open_palm_resets():
    script = [("open", 1.0), ("fist", 0.6), ("open", 1.0), ("fist", 0.6), ("open", 3.0), ("fist", 0.6), ("open", 0.5)]
    events = _run(gesture_stream(script, RATE, noise=0.002, seed=1))
    kinds = [event for _, event in events]
    assert kinds == [GestureEvent.START, GestureEvent.STOP, GestureEvent.RESET, GestureEvent.START]
    times = [t for t, _ in events]
    assert 1.0 < times[0] < 1.5 and 2.6 < times[1] < 3.1
    assert times[2] == pytest.approx(3.2 + 2.0, abs=0.3)  # 2 s into the open hold after the stop


def _hovering(weights, start=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return [
        synthetic_frame(
            interpolate(POSES["open"], POSES["fist"], w),
            handedness="left",
            timestamp=start + i / RATE,
            noise=0.001,
            rng=rng,
        )
        for i, w in enumerate(weights)
    ]


def test_no_chatter_at_the_threshold():
    low, high = 0.58, 0.64  # curl ~1.21 and ~1.10, either side of fist_enter (1.15)
    assert hand_curl(_hovering([low])[0]) > 1.15 > hand_curl(_hovering([high])[0])
    flicker = [low, high] * 60  # 2 s of frame-by-frame flicker: never stable for the debounce time
    frames = _hovering(flicker + [high] * 30 + flicker + [0.0] * 30 + flicker)
    events = _run(frames)
    # One fist (the steady part), which ends only when the hand opens beyond fist_exit: START once.
    assert [event for _, event in events] == [GestureEvent.START]


def test_short_fists_and_lost_tracking_are_ignored():
    detector = GestureDetector(GestureConfig(reset_hold_s=None))
    frames = gesture_stream([("open", 0.5), ("fist", 0.08), ("open", 0.5)], RATE)
    assert _run(frames, detector) == []
    assert detector.update(None) == []
    broken = synthetic_frame("fist", handedness="left")
    broken.positions[3] = np.nan
    assert detector.update(broken) == []
    with pytest.raises(ValueError, match="left hand"):
        detector.update(synthetic_frame("fist"))


def test_config_validation():
    with pytest.raises(ValueError, match="fist_enter < fist_exit"):
        GestureConfig(fist_enter=1.5, fist_exit=1.2)
    with pytest.raises(ValueError, match="reset_hold_s"):
        GestureConfig(reset_hold_s=0.0)
