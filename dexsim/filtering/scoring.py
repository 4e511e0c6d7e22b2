"""From embeddings to one outlier score per demonstration: HDBSCAN + GLOSH, aggregation, camera average, ranking
and percentile cuts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAX_COMPONENTS",
    "PercentileCut",
    "glosh_scores",
    "standardize",
    "demo_scores_from_frames",
    "pooled_descriptors",
    "score_demonstrations",
    "average_over_cameras",
    "rank_descending",
    "percentile_cuts",
]

MAX_COMPONENTS = 32
"""Embeddings are z-scored and projected on at most this many principal components before HDBSCAN (768-D
ConvNeXt features otherwise make the fit slow and the density estimate noisy)."""


def standardize(x: NDArray[np.floating], max_components: int = MAX_COMPONENTS) -> NDArray[np.float64]:
    """Z-score every column (constant columns become 0) and keep the leading ``max_components`` principal
    components (whitened); rows = points."""
    x = np.asarray(x, dtype=np.float64)
    std = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)
    if z.shape[1] <= max_components:
        return z
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    k = min(max_components, int(np.sum(s > 1e-9 * max(s[0], 1e-300))))
    k = max(k, 1)
    return u[:, :k] * np.sqrt(len(z))


def glosh_scores(points: NDArray[np.floating], min_cluster_size: int, min_samples: int, *,
                 what: str = "points") -> NDArray[np.float64]:
    """GLOSH outlier score in [0, 1] of every row of ``points`` (HDBSCAN fitted afresh on them).

    Raises:
        ValueError: Fewer rows than HDBSCAN needs (``max(min_cluster_size, min_samples) + 1``), named by ``what``.
    """
    import hdbscan

    points = np.asarray(points, dtype=np.float64)
    need = max(min_cluster_size, min_samples) + 1
    if points.ndim != 2 or len(points) < need:
        raise ValueError(
            f"HDBSCAN with min_cluster_size={min_cluster_size}, min_samples={min_samples} needs at least {need} "
            f"{what}, got {len(points)}: record more demonstrations or lower --min-cluster-size/--min-samples"
        )
    model = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, core_dist_n_jobs=1)
    model.fit(points)
    return np.nan_to_num(np.asarray(model.outlier_scores_, dtype=np.float64), nan=0.0, posinf=1.0)


def demo_scores_from_frames(frame_scores: NDArray[np.floating], demo_of_frame: NDArray[np.integer],
                            num_demos: int) -> NDArray[np.float64]:
    """Mean frame score of each demonstration (demonstration ``i`` owns the frames with ``demo_of_frame == i``)."""
    sums = np.bincount(demo_of_frame, weights=frame_scores, minlength=num_demos)
    counts = np.bincount(demo_of_frame, minlength=num_demos)
    if np.any(counts == 0):
        raise ValueError(f"demonstrations {np.flatnonzero(counts == 0).tolist()} have no frames")
    return sums / counts


def pooled_descriptors(per_demo: Sequence[NDArray[np.floating]]) -> NDArray[np.float64]:
    """One descriptor per demonstration: mean and standard deviation of its frame embeddings, concatenated."""
    return np.stack([np.concatenate([f.mean(axis=0), f.std(axis=0)]) for f in per_demo])


def score_demonstrations(per_demo: Sequence[NDArray[np.floating]], aggregation: str, min_cluster_size: int,
                         min_samples: int, *, what: str = "demonstrations") -> NDArray[np.float64]:
    """One GLOSH-based score per demonstration from its frame embeddings (``per_demo[i]``: (frames_i, D)).

    ``aggregation="frames"``: HDBSCAN on every frame of every demonstration, then the mean frame score per
    demonstration. ``"pooled"``: HDBSCAN on :func:`pooled_descriptors`. Both standardise first
    (:func:`standardize`).
    """
    if len(per_demo) < 2:
        raise ValueError(f"outlier scoring needs at least 2 {what}, got {len(per_demo)}")
    if aggregation == "pooled":
        return glosh_scores(standardize(pooled_descriptors(per_demo)), min_cluster_size, min_samples, what=what)
    if aggregation != "frames":
        raise ValueError(f"unknown aggregation {aggregation!r}")
    need = max(min_cluster_size, min_samples) + 1
    if len(per_demo) < need:
        raise ValueError(
            f"HDBSCAN with min_cluster_size={min_cluster_size}, min_samples={min_samples} needs at least {need} "
            f"{what}, got {len(per_demo)}: record more demonstrations or lower --min-cluster-size/--min-samples"
        )
    demo_of_frame = np.concatenate([np.full(len(f), i) for i, f in enumerate(per_demo)])
    frame_scores = glosh_scores(standardize(np.concatenate(per_demo)), min_cluster_size, min_samples,
                                what=f"frames of {what}")
    return demo_scores_from_frames(frame_scores, demo_of_frame, len(per_demo))


def average_over_cameras(per_camera: Mapping[str, NDArray[np.floating]]) -> NDArray[np.float64]:
    """Mean over cameras of per-demonstration scores (all arrays aligned on the same demonstrations)."""
    if not per_camera:
        raise ValueError("no camera scores to average")
    stacked = np.stack([np.asarray(v, dtype=np.float64) for v in per_camera.values()])
    return stacked.mean(axis=0)


def rank_descending(scores: NDArray[np.floating], episode_ids: Sequence[int]) -> NDArray[np.int64]:
    """Rank of each demonstration, 1 = most outlying; ties go to the smaller episode id first."""
    order = np.lexsort((np.asarray(episode_ids), -np.asarray(scores, dtype=np.float64)))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


@dataclass(frozen=True)
class PercentileCut:
    """Removal of the demonstrations scoring above the ``100 - percent`` th percentile."""

    percent: int
    """Percent to remove (10 -> threshold = 90th percentile of the scores)."""
    threshold: float
    """Scores strictly above it are removed (numpy's linear-interpolation percentile)."""
    kept: list[int]
    """Episode ids kept, ascending."""
    removed: list[int]
    """Episode ids removed, ascending."""


def percentile_cuts(scores: NDArray[np.floating], episode_ids: Sequence[int],
                    percents: Sequence[int]) -> list[PercentileCut]:
    """The paper's cuts: for each ``p``, remove demonstrations with score > the (100 - p)th percentile."""
    scores = np.asarray(scores, dtype=np.float64)
    ids = np.asarray(episode_ids, dtype=np.int64)
    cuts = []
    for percent in percents:
        threshold = float(np.percentile(scores, 100 - percent))
        removed = scores > threshold
        cuts.append(PercentileCut(int(percent), threshold, sorted(ids[~removed].tolist()),
                                  sorted(ids[removed].tolist())))
    return cuts
