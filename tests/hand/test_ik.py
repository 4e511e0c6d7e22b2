"""Per-finger IK on the DH model: round trips, joint limits, unreachable targets, warm starts."""

import numpy as np
import pytest

from dexsim.hand import Finger, home_pose, lower_limits, upper_limits
from dexsim.hand.ik import FingerIKConfig, solve_fingertips
from dexsim.hand.kinematics import FINGER_CHAINS, fingertip_positions

ABDUCTION_JOINTS = [0, 4, 8]


def _within_limits(q):
    return bool(((q >= lower_limits()) & (q <= upper_limits())).all())


def test_round_trip_over_thousands_of_random_reachable_poses():
    rng = np.random.default_rng(0)
    q = rng.uniform(lower_limits(), upper_limits(), (4000, 16))
    q[:, ABDUCTION_JOINTS] = 0.0  # the abduction the solver holds (default config)
    targets = fingertip_positions(q)
    solution = solve_fingertips(targets)
    reached = solution.fingertips()
    error = np.linalg.norm(reached - targets, axis=-1)
    assert error.max() < 1e-3
    assert np.quantile(error, 0.99) < 1e-6
    np.testing.assert_allclose(solution.error, error, atol=1e-12)
    assert _within_limits(solution.q)
    np.testing.assert_array_equal(solution.q[:, ABDUCTION_JOINTS], 0.0)


def test_round_trip_with_other_fixed_abduction():
    rng = np.random.default_rng(1)
    config = FingerIKConfig(abduction=(0.2, -0.1, -0.3))
    q = rng.uniform(lower_limits(), upper_limits(), (500, 16))
    q[:, ABDUCTION_JOINTS] = config.abduction
    solution = solve_fingertips(fingertip_positions(q), config=config)
    assert solution.error.max() < 1e-3
    np.testing.assert_array_equal(solution.q[:, ABDUCTION_JOINTS], np.broadcast_to(config.abduction, (500, 3)))


def test_random_targets_anywhere_stay_within_limits():
    rng = np.random.default_rng(2)
    targets = rng.uniform(-0.25, 0.25, (300, 4, 3))
    solution = solve_fingertips(targets)
    assert _within_limits(solution.q)
    assert np.isfinite(solution.error).all()


def test_unreachable_target_goes_to_closest_reachable_point():
    # Straight above the middle finger, 30 cm out: the closest reachable point is the stretched finger.
    base = FINGER_CHAINS[Finger.MIDDLE].base[:3, 3]
    length = 0.0164 + 0.054 + 0.0384 + 0.0267
    targets = fingertip_positions(home_pose()).copy()
    targets[Finger.MIDDLE] = base + [0.0, 0.0, 0.3]
    solution = solve_fingertips(targets)
    assert solution.error[Finger.MIDDLE] == pytest.approx(0.3 - length, abs=2e-4)
    np.testing.assert_allclose(solution.q[5:8], 0.0, atol=0.02)
    # Beside the finger's plane of motion: the sideways offset cannot be reached, the rest can.
    q = home_pose().copy()
    targets = fingertip_positions(q) + np.array([0.0, 0.01, 0.0])
    solution = solve_fingertips(targets, q_warm=q)
    assert solution.error[Finger.MIDDLE] == pytest.approx(0.01, abs=1e-6)


def test_single_frames_and_batches_polish_alike():
    # A single frame polishes its few fingers in Python floats, a batch in numpy calls: the same closest points.
    rng = np.random.default_rng(7)
    targets = rng.uniform(-0.15, 0.15, size=(40, 4, 3))
    batch = solve_fingertips(targets)
    assert (batch.error > 1e-3).sum() > 20  # mostly unreachable: the polish runs
    for i in range(len(targets)):
        single = solve_fingertips(targets[i])
        np.testing.assert_allclose(single.q, batch.q[i], atol=1e-6)
        np.testing.assert_allclose(single.error, batch.error[i], atol=1e-9)


def test_compiled_candidate_sweep_matches_numpy():
    # With numba (the `fast` extra) the candidate sweep runs compiled: the same candidates, errors and scores as
    # the numpy version to rounding, on random targets (reachable or not), warm starts and sweeps.
    pytest.importorskip("numba")
    from dexsim.hand import _ik_numba, ik

    rng = np.random.default_rng(11)
    targets = rng.uniform(-0.15, 0.15, size=(60, 4, 3))
    targets[:30] = fingertip_positions(rng.uniform(lower_limits(), upper_limits(), (30, 16))).reshape(30, 4, 3)
    warm = rng.uniform(lower_limits(), upper_limits(), (60, 16)).reshape(60, 4, 4)
    sweep = ik._SWEEP_LOWER + rng.uniform(0.0, 1.0, (60, 23, 4)) * (ik._SWEEP_UPPER - ik._SWEEP_LOWER)
    abduction = np.array([0.1, 0.0, -0.1])
    compiled = _ik_numba.best_candidates(targets, sweep, warm, abduction, 1e-5, *ik._COMPILED_CONSTANTS)
    original, ik._compiled = ik._compiled, None
    try:
        reference = ik._best_candidates(targets, sweep, warm, abduction, 1e-5)
    finally:
        ik._compiled = original
    for got, want in zip(compiled, reference, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_numpy_fallback_solves_like_the_compiled_sweep(monkeypatch):
    # Without numba solve_fingertips uses the numpy sweep (CI exercises it here): the same solutions, frame by frame
    # along a warm-started stream and as a batch.
    pytest.importorskip("numba")
    from dexsim.hand import ik

    rng = np.random.default_rng(12)
    path = fingertip_positions(np.linspace(lower_limits(), upper_limits(), 60)) + rng.normal(0, 0.01, (60, 4, 3))
    runs = []
    for compiled in (ik._compiled, None):
        monkeypatch.setattr(ik, "_compiled", compiled)
        q, stream = home_pose(), []
        for target in path:
            q = solve_fingertips(target, q, FingerIKConfig(polish_iterations=2)).q
            stream.append(q)
        runs.append((np.array(stream), solve_fingertips(path).q))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=0, atol=1e-9)


def test_closest_point_is_no_worse_than_random_feasible_poses():
    rng = np.random.default_rng(3)
    targets = rng.uniform([-0.02, -0.06, -0.06], [0.12, 0.08, 0.18], (200, 4, 3))
    solution = solve_fingertips(targets)
    samples = rng.uniform(lower_limits(), upper_limits(), (3000, 16))
    samples[:, ABDUCTION_JOINTS] = 0.0
    sampled = fingertip_positions(samples)  # (3000, 4, 3)
    best_sampled = np.linalg.norm(sampled[None] - targets[:, None], axis=-1).min(axis=1)  # (200, 4)
    assert (solution.error <= best_sampled + 1e-3).mean() > 0.97
    assert (solution.error <= best_sampled + 5e-3).all()


def test_warm_start_keeps_a_smooth_trajectory_smooth():
    t = np.linspace(0.0, 1.0, 200)[:, None]
    q_path = lower_limits() + (upper_limits() - lower_limits()) * (0.3 + 0.4 * np.sin(np.pi * t) ** 2)
    q_path[:, ABDUCTION_JOINTS] = 0.0
    targets = fingertip_positions(q_path)
    q = q_path[0]
    solutions = []
    for target in targets:
        solution = solve_fingertips(target, q_warm=q)
        assert solution.error.max() < 1e-3
        q = solution.q
        solutions.append(q)
    steps = np.abs(np.diff(np.array(solutions), axis=0)).max()
    assert steps < 0.1  # rad per frame; the path itself moves <= 0.03 rad per frame


def test_bad_input_and_config():
    with pytest.raises(ValueError, match="shape"):
        solve_fingertips(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        solve_fingertips(np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="3 rows for 5 targets"):
        solve_fingertips(np.zeros((5, 4, 3)), q_warm=np.zeros((3, 16)))
    with pytest.raises(ValueError, match="abduction of index"):
        FingerIKConfig(abduction=(1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="sweep_samples"):
        FingerIKConfig(sweep_samples=1)
