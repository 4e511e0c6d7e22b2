"""Touch probes: the thumb finds the lid's end face, the index touches its front and top, against the twin."""

import gymnasium as gym
import numpy as np
import pytest

import dexsim  # noqa: F401
from dexsim.hand import FINGER_JOINT_SLICES, Finger, home_pose
from dexsim.sim.expert import UnscrewExpert
from dexsim.sim.probes import LidTouchConfig, ThumbProbeConfig, palm_clearance


def test_palm_clearance_is_positive_at_the_parked_thumb_and_negative_into_the_palm() -> None:
    parked = home_pose()[FINGER_JOINT_SLICES[Finger.THUMB]]
    assert palm_clearance(parked) > 0.003
    into_palm = parked.copy()
    into_palm[0] = 0.55  # the root joint swings the medial phalanx's base into the palm block's edge
    assert palm_clearance(into_palm) < 0.0
    assert palm_clearance(np.stack([parked, into_palm])).shape == (2,)


@pytest.mark.parametrize("config", [lambda: ThumbProbeConfig(start_y_m=0.05, end_y_m=0.06),
                                    lambda: ThumbProbeConfig(speed_m_s=0.0),
                                    lambda: LidTouchConfig(stall_fraction=1.5),
                                    lambda: LidTouchConfig(move_s=-0.1)])
def test_bad_probe_settings_are_refused(config) -> None:
    with pytest.raises(ValueError):
        config()


def test_probes_locate_the_lid_at_the_train_spread() -> None:
    """At ``train`` (placement +-20 mm, yaw +-10 deg, bottle radius 31-35 mm, gains, latency and joint noise)
    the probes put the lid's end face, axis and radius within a few mm of the twin's state."""
    env = gym.make("AllegroUnscrew-sim", cameras=(), preset="train")
    expert = UnscrewExpert(env, privileged=False)
    simulation = env.unwrapped.simulation
    for seed in (200, 211, 224):  # lids towards the thumb, towards the ring finger, towards the fingertips
        observation, info = env.reset(seed=seed)
        expert.reset(seed)
        face = None
        for _ in range(200):
            observation, *_, info = env.step(expert.act(observation, info))
            probe = expert._probe
            if face is None and probe is not None and probe.end_face_y_m is not None:
                face = probe.end_face_y_m
                true_face = simulation.lid_position_in_hand()[1] + simulation.scene_params.lid_half_height
                assert abs(face - true_face) < 0.003, (seed, face, true_face)
            if expert._touches_done:
                break
        assert face is not None and expert._touches_done, seed
        centre, radius = expert._lid_centre
        error = centre - simulation.lid_position_in_hand()
        assert abs(error[0]) < 0.0025 and abs(error[2]) < 0.004, (seed, error)
        assert abs(radius - simulation.scene_params.lid_radius) < 0.0025, (seed, radius)
    env.close()
