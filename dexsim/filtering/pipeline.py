"""``dexsim filter``'s engine: score every demonstration of a dataset, cut, save subsets and artefacts."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dexsim.data.store import DatasetError, DatasetStore, Episode
from dexsim.data.subsets import save_subset
from dexsim.filtering.cache import FeatureCache
from dexsim.filtering.config import FilterConfig, subset_name
from dexsim.filtering.evaluation import (
    CLEAN_LABEL,
    ScorerEvaluation,
    evaluate_scores,
    evaluation_markdown,
    has_labels,
    length_strata,
    matched_pair_auroc,
    random_evaluation,
)
from dexsim.filtering.features import ImageEncoder, read_frames, sample_frames
from dexsim.filtering.report import plot_contact_sheet, plot_histogram, write_scores_csv
from dexsim.filtering.scoring import (
    PercentileCut,
    average_over_cameras,
    percentile_cuts,
    rank_descending,
    score_demonstrations,
)
from dexsim.filtering.trajectory import action_jerk, read_trajectory, window_descriptors
from dexsim.filtering.weights import WeightsInfo
from dexsim.interface import CAMERA_OBS_KEYS

__all__ = ["FilterResult", "ARTEFACTS", "run_filter", "image_embeddings", "trajectory_embeddings"]

ARTEFACTS = ("scores.csv", "scores.json", "histogram.png", "contact_sheet.png")
"""Files ``dexsim filter`` always writes (``--evaluate`` adds evaluation.md / evaluation.json)."""
CACHE_DIR = "cache"


@dataclass
class FilterResult:
    """What one filtering run produced."""

    out: Path
    episode_ids: list[int]
    scores: NDArray[np.float64]
    """The configured scorer's score per demonstration (higher = more outlying)."""
    ranks: NDArray[np.int64]
    cuts: list[PercentileCut]
    weights: WeightsInfo | None
    """Image-encoder weights (``None`` when no image embeddings were computed)."""
    components: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    """Every score computed (``image``, ``image_<camera>``, ``trajectory``, ``combined``, baselines)."""
    evaluation: list[ScorerEvaluation] | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    images_encoded: int = 0
    cache_hits: int = 0


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("dexsim", "numpy", "torch", "timm", "hdbscan", "scikit-learn", "zarr"):
        try:
            out[dist] = _metadata.version(dist)
        except _metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="episode", disable=not enabled)


def image_embeddings(store: DatasetStore, episodes: list[Episode], cameras: tuple[str, ...], config: FilterConfig,
                     cache: FeatureCache, encoder: ImageEncoder, *, progress: bool = False
                     ) -> tuple[dict[str, list[NDArray[np.float32]]], int]:
    """Per camera, the embeddings (frames_i, D) of every episode's sampled frames (cached); returns
    (embeddings, images encoded now)."""
    settings = {"stride": config.stride, **encoder.describe()}
    out: dict[str, list[NDArray[np.float32]]] = {camera: [] for camera in cameras}
    encoded = 0
    bar = _progress(len(episodes) * len(cameras), "features", progress)
    for episode in episodes:
        for camera in cameras:
            def compute(episode: Episode = episode, camera: str = camera
                        ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
                nonlocal encoded
                frames = sample_frames(episode.length, config.stride)
                images = read_frames(episode, CAMERA_OBS_KEYS[camera], frames)
                encoded += len(frames)
                return frames, encoder.encode(images)

            out[camera].append(cache.get_or_compute(episode, camera, settings, compute)[1])
            bar.update(1)
    bar.close()
    return out, encoded


def trajectory_embeddings(store: DatasetStore, episodes: list[Episode], config: FilterConfig
                          ) -> tuple[list[NDArray[np.float64]], NDArray[np.float64]]:
    """Window descriptors of every episode (see :func:`window_descriptors`) and the action-jerk baseline."""
    hz = store.schema.control_hz
    window = max(1, int(round(config.window_s * hz)))
    descriptors, jerk = [], []
    for episode in episodes:
        trajectory = read_trajectory(episode)
        descriptors.append(window_descriptors(trajectory, config.stride, window, hz)[1])
        jerk.append(action_jerk(trajectory, hz))
    return descriptors, np.asarray(jerk)


def _check_inputs(store: DatasetStore, config: FilterConfig, evaluate: bool) -> tuple[list[int], tuple[str, ...]]:
    ids = store.episode_ids()
    need = max(config.min_cluster_size, config.effective_min_samples) + 1
    if len(ids) < need:
        raise DatasetError(
            f"dataset {store.root} has {len(ids)} demonstrations; HDBSCAN with min_cluster_size="
            f"{config.min_cluster_size}, min_samples={config.effective_min_samples} needs at least {need} "
            "(record more or lower --min-cluster-size/--min-samples)"
        )
    recorded = store.schema.cameras
    missing = [c for c in config.cameras if c not in recorded]
    if missing:
        raise DatasetError(f"dataset {store.root} has no camera {missing[0]!r} (it records "
                           f"{list(recorded) or 'no cameras'}); choose --cameras from those")
    cameras = config.cameras or tuple(recorded)
    if config.uses_images and not cameras:
        raise DatasetError(f"dataset {store.root} records no camera images: the {config.scorer!r} scorer needs "
                           "them (use --scorer trajectory)")
    return ids, cameras


def run_filter(dataset: str | Path, config: FilterConfig | None = None, *, out: str | Path | None = None,
               evaluate: bool = False, progress: bool = True, command: str = "") -> FilterResult:
    """Score every demonstration of ``dataset``, save the percentile subsets and write the artefacts.

    Args:
        dataset: Dataset directory.
        config: Settings (defaults: the paper's image GLOSH).
        out: Artefact directory (default ``<dataset>/filter``); the feature cache lives in ``<out>/cache``.
        evaluate: Also compare every scorer with the ground-truth defect labels (evaluation.md / .json).
        progress: Progress bars on stderr.
        command: The command line, recorded in scores.json and the subsets.

    Raises:
        FileNotFoundError, DatasetError (a ValueError): missing dataset, too few demonstrations, a camera the
            config asks for that the dataset lacks, no labels with ``evaluate``; WeightsError: bad weights file.
    """
    config = config or FilterConfig()
    started = time.perf_counter()
    store = DatasetStore.open(dataset)
    ids, cameras = _check_inputs(store, config, evaluate)
    index = {s.episode_id: s for s in store.index()}
    labels = [index[i].defect for i in ids]
    lengths = np.array([index[i].length for i in ids])
    if evaluate and not has_labels(labels):
        raise DatasetError(f"--evaluate: dataset {store.root} has no ground-truth labels (needs 'clean' and "
                           "defective episodes in metadata 'defect', as `dexsim collect --defect-mix` records)")
    out = Path(out) if out is not None else store.root / "filter"
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    episodes = [store.episode(i) for i in ids]
    mcs, ms = config.min_cluster_size, config.effective_min_samples
    components: dict[str, NDArray[np.float64]] = {}
    timings: dict[str, float] = {}
    weights: WeightsInfo | None = None
    encoded, hits = 0, 0
    if config.uses_images or (evaluate and cameras):
        t0 = time.perf_counter()
        encoder = ImageEncoder(config.backbone, config.weights, seed=config.seed, input_size=config.input_size,
                               batch_size=config.batch_size)
        weights = encoder.weights_info
        cache = FeatureCache(out / CACHE_DIR)
        embeddings, encoded = image_embeddings(store, episodes, cameras, config, cache, encoder, progress=progress)
        hits = cache.hits
        timings["features_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        per_camera = {camera: score_demonstrations(embeddings[camera], config.aggregation, mcs, ms)
                      for camera in cameras}
        for camera, values in per_camera.items():
            components[f"image_{camera}"] = values
        components["image"] = average_over_cameras(per_camera)
        timings["image_scoring_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    descriptors, jerk = trajectory_embeddings(store, episodes, config)
    components["trajectory"] = score_demonstrations(descriptors, config.aggregation, mcs, ms)
    timings["trajectory_s"] = time.perf_counter() - t0
    if "image" in components:
        components["combined"] = 0.5 * (components["image"] + components["trajectory"])
    components["action_jerk"] = jerk
    components["episode_length"] = lengths.astype(np.float64)
    scores = components[config.scorer]
    ranks = rank_descending(scores, ids)
    cuts = percentile_cuts(scores, ids, config.percentiles)

    weights_line = weights.describe() if weights is not None else "no image encoder (trajectory scorer)"
    source = {"command": command, "scorer": config.scorer, "settings": config.to_json(),
              "weights": weights.to_json() if weights else None}
    for cut in cuts:
        save_subset(store.root, subset_name(cut.percent), cut.kept,
                    description=f"{config.scorer} outlier scores <= {100 - cut.percent}th percentile "
                                f"({cut.threshold:.6f}); {len(cut.removed)} of {len(ids)} removed; {weights_line}",
                    source=source)
    columns: dict[str, list[object]] = {"score": [float(v) for v in scores], "rank": [int(r) for r in ranks]}
    for name, values in components.items():
        if name != config.scorer:
            columns[name] = [float(v) for v in values]
    columns["length"] = [int(v) for v in lengths]
    columns["defect"] = [label if label is not None else "" for label in labels]
    for cut in cuts:
        removed = set(cut.removed)
        columns[f"removed_{cut.percent}"] = [int(i in removed) for i in ids]
    write_scores_csv(out / "scores.csv", ids, columns)
    title = (f"dexsim filter: {config.scorer} GLOSH ({config.aggregation}) of {len(ids)} demos, "
             f"{store.root.name}\n{weights_line}")
    plot_histogram(out / "histogram.png", scores, cuts, title)
    plot_contact_sheet(out / "contact_sheet.png", store, ids, scores, labels, title)
    evaluation = None
    if evaluate:
        evaluation = _evaluate(out, store, config, components, labels, lengths, ids, weights_line, command)
    timings["total_s"] = time.perf_counter() - started
    record = {
        "format": "dexsim-filter-scores", "version": 1,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dataset": str(store.root), "command": command, "settings": config.to_json(),
        "cameras": list(cameras), "weights": weights.to_json() if weights else None,
        "weights_note": weights_line, "versions": _versions(),
        "cuts": [{"percent": c.percent, "threshold": c.threshold, "subset": subset_name(c.percent),
                  "kept": len(c.kept), "removed": c.removed} for c in cuts],
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "images_encoded": encoded, "cache_hits": hits,
        "episodes": [{"episode_id": i, "score": float(scores[k]), "rank": int(ranks[k]), "length": int(lengths[k]),
                      "defect": labels[k], **{n: float(v[k]) for n, v in components.items() if n != config.scorer}}
                     for k, i in enumerate(ids)],
    }
    (out / "scores.json").write_text(json.dumps(record, indent=1) + "\n")
    return FilterResult(out, ids, scores, ranks, cuts, weights, components, evaluation, timings, encoded, hits)


def _evaluate(out: Path, store: DatasetStore, config: FilterConfig, components: dict[str, NDArray[np.float64]],
              labels: list[str | None], lengths: NDArray[np.int64], ids: list[int], weights_line: str,
              command: str) -> list[ScorerEvaluation]:
    names = {"image": f"image GLOSH ({config.backbone}, {config.aggregation})",
             "trajectory": f"trajectory GLOSH ({config.aggregation})", "combined": "combined (image + trajectory)",
             "action_jerk": "baseline: action jerk", "episode_length": "baseline: episode length"}
    results = [evaluate_scores(names[k], components[k], labels, lengths, ids) for k in names if k in components]
    results.append(random_evaluation(labels, lengths, ids))
    labelled = np.array([label is not None for label in labels])
    strata = length_strata(lengths[labelled])
    kept_labels = [label for label in labels if label is not None]
    ranges = []
    for s in range(3):  # evaluate_scores' default number of strata
        in_s = strata == s
        if not in_s.any():  # many equal lengths can leave a quantile bin empty
            ranges.append((0, 0, 0, 0))
            continue
        defective = sum(1 for k, label in enumerate(kept_labels) if in_s[k] and label != CLEAN_LABEL)
        ranges.append((int(lengths[labelled][in_s].min()), int(lengths[labelled][in_s].max()), defective,
                       int(in_s.sum()) - defective))
    header = (f"# Outlier scores vs ground truth: {store.root}\n\n{len(ids)} demonstrations; "
              f"configured scorer: {config.scorer}; stride {config.stride} frames; input {config.input_size} px; "
              f"HDBSCAN min_cluster_size={config.min_cluster_size}, min_samples={config.effective_min_samples}.\n"
              f"Image encoder: {weights_line}.\n" + (f"Command: `{command}`\n" if command else ""))
    counts = dict(Counter(kept_labels))
    positive = np.array([label != CLEAN_LABEL for label in kept_labels])
    kept_lengths = lengths[labelled]
    matched = matched_pair_auroc(kept_lengths[positive], kept_lengths[~positive], kept_lengths[positive],
                                 kept_lengths[~positive], 0.1)[1]
    (out / "evaluation.md").write_text(evaluation_markdown(results, counts, ranges, header, matched))
    (out / "evaluation.json").write_text(json.dumps({
        "dataset": str(store.root), "weights_note": weights_line, "settings": config.to_json(),
        "label_counts": counts, "length_strata": [{"min": a, "max": b, "defective": d, "clean": c}
                                                  for a, b, d, c in ranges],
        "scorers": [r.to_json() for r in results]}, indent=1) + "\n")
    return results
