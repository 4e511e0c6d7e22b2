"""GLOSH, camera average, ranking and percentile cuts (dexsim.filtering.scoring) and the evaluation metrics."""

from __future__ import annotations

import numpy as np
import pytest

from dexsim.filtering.evaluation import auroc, evaluate_scores, length_strata, matched_pair_auroc
from dexsim.filtering.scoring import (
    average_over_cameras,
    glosh_scores,
    percentile_cuts,
    rank_descending,
    score_demonstrations,
)


def test_glosh_ranks_planted_outliers_above_cluster_members():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (3, 16))
    inliers = np.concatenate([c + rng.normal(0, 0.5, (40, 16)) for c in centres])
    outliers = rng.uniform(-30, 30, (6, 16))
    scores = glosh_scores(np.concatenate([inliers, outliers]), min_cluster_size=5, min_samples=5)
    assert scores.shape == (126,) and np.all((scores >= 0) & (scores <= 1))
    assert scores[120:].min() > np.quantile(scores[:120], 0.95)
    assert auroc(scores, np.arange(126) >= 120) == 1.0


@pytest.mark.parametrize("aggregation", ["pooled", "frames"])
def test_demonstration_scores_flag_the_odd_demonstrations(aggregation):
    rng = np.random.default_rng(1)
    demos = [rng.normal(0, 1, (12, 8)) for _ in range(20)] + [rng.uniform(-20, 20, (12, 8)) for _ in range(2)]
    scores = score_demonstrations(demos, aggregation, min_cluster_size=5, min_samples=5)
    assert scores.shape == (22,)
    assert scores[20:].min() > scores[:20].max()


def test_camera_average_ranking_and_cuts_on_a_hand_computed_case():
    top = np.array([0.1, 0.9, 0.3, 0.5])
    wrist = np.array([0.3, 0.7, 0.1, 0.9])
    ids = [4, 7, 9, 12]
    mean = average_over_cameras({"top": top, "wrist": wrist})
    np.testing.assert_allclose(mean, [0.2, 0.8, 0.2, 0.7])
    # ties (ids 4 and 9 at 0.2) go to the smaller id first
    assert rank_descending(mean, ids).tolist() == [3, 1, 4, 2]
    cuts = {c.percent: c for c in percentile_cuts(mean, ids, [10, 25, 50])}
    # sorted scores 0.2 0.2 0.7 0.8: 90th pct = 0.7 + 0.7*0.1, 75th = 0.7 + 0.25*0.1, 50th = 0.2 + 0.5*0.5
    assert cuts[10].threshold == pytest.approx(0.77) and cuts[10].removed == [7] and cuts[10].kept == [4, 9, 12]
    assert cuts[25].threshold == pytest.approx(0.725) and cuts[25].removed == [7]
    assert cuts[50].threshold == pytest.approx(0.45) and cuts[50].removed == [7, 12] and cuts[50].kept == [4, 9]


def test_too_few_points_for_hdbscan_is_a_clear_error():
    with pytest.raises(ValueError, match="needs at least 6 demonstrations, got 4"):
        score_demonstrations([np.zeros((3, 4))] * 4, "pooled", min_cluster_size=5, min_samples=5)


def test_auroc_and_length_control_on_a_hand_computed_case():
    scores = np.array([0.9, 0.4, 0.5, 0.1, 0.4])
    positive = np.array([True, True, False, False, False])
    # pairs: 0.9 beats all 3; 0.4 beats 0.1, ties 0.4, loses to 0.5 -> (3 + 1.5) / 6
    assert auroc(scores, positive) == pytest.approx(4.5 / 6)
    lengths = np.array([100, 200, 105, 300, 195])
    value, pairs = matched_pair_auroc(scores[positive], scores[~positive], lengths[positive], lengths[~positive], 0.1)
    assert pairs == 2 and value == pytest.approx((1 + 0.5) / 2)  # (100 vs 105) won, (200 vs 195) tied
    assert length_strata(np.array([1, 2, 3, 4, 5, 6]), 3).tolist() == [0, 0, 1, 1, 2, 2]


def test_a_score_that_only_tracks_length_is_not_length_controlled():
    rng = np.random.default_rng(2)
    clean = rng.integers(100, 300, 60)
    defective = rng.integers(200, 500, 20)
    lengths = np.concatenate([clean, defective])
    labels = ["clean"] * 60 + ["jitter"] * 20
    result = evaluate_scores("length", lengths.astype(float), labels, lengths, list(range(80)))
    assert result.auroc > 0.8
    assert abs(result.length_controlled_auroc - 0.5) < 0.1
    with pytest.raises(ValueError, match="ground-truth labels"):
        evaluate_scores("x", np.zeros(3), [None, None, "clean"], np.ones(3), [0, 1, 2])
