"""Artefacts of ``dexsim filter``: scores CSV, the Fig. 5-style histogram and the contact sheet."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dexsim.data.store import DatasetStore
from dexsim.filtering.features import read_frames, sample_frames
from dexsim.filtering.scoring import PercentileCut
from dexsim.interface import CAMERA_OBS_KEYS, OBS_JOINT_POSITIONS

__all__ = ["write_scores_csv", "plot_histogram", "plot_contact_sheet"]


def write_scores_csv(path: Path, episode_ids: Sequence[int], columns: Mapping[str, Sequence[object]]) -> None:
    """One row per demonstration: ``episode_id`` then ``columns`` in order (floats with 6 decimals)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["episode_id", *columns])
        for row, episode_id in enumerate(episode_ids):
            values = [columns[name][row] for name in columns]
            writer.writerow([episode_id, *(f"{v:.6f}" if isinstance(v, float) else v for v in values)])


def plot_histogram(path: Path, scores: NDArray[np.floating], cuts: Sequence[PercentileCut], title: str) -> None:
    """Histogram of the outlier scores with a vertical line at each cut's threshold (the paper's Fig. 5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.hist(scores, bins=min(40, max(10, len(scores) // 3)), color="#4c72b0", edgecolor="white")
    styles = ["--", "-.", ":", (0, (5, 1)), (0, (1, 1))]
    colors = ["#c44e52", "#dd8452", "#55a868", "#8172b3", "#937860"]
    for i, cut in enumerate(cuts):
        ax.axvline(cut.threshold, color=colors[i % len(colors)], linestyle=styles[i % len(styles)], linewidth=2,
                   label=f"{100 - cut.percent}th percentile ({cut.threshold:.3f}): removes {len(cut.removed)}")
    ax.set_xlabel("outlier score")
    ax.set_ylabel("demonstrations")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_contact_sheet(path: Path, store: DatasetStore, episode_ids: Sequence[int], scores: NDArray[np.floating],
                       labels: Sequence[str | None], title: str, *, rows_each: int = 4,
                       frames_per_demo: int = 4) -> None:
    """The ``rows_each`` most and least outlying demonstrations, one row each: ``frames_per_demo`` evenly spaced
    frames of every camera (or joint-position traces when the dataset has no camera)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(-np.asarray(scores), kind="stable")
    rows_each = min(rows_each, max(1, len(order) // 2))
    picks = [(i, "most outlying") for i in order[:rows_each]] + [(i, "least outlying") for i in order[::-1][:rows_each]]
    cameras = store.schema.cameras
    ncols = frames_per_demo * len(cameras) if cameras else 1
    fig, axes = plt.subplots(len(picks), ncols, figsize=(1.3 * ncols + 0.5, 1.45 * len(picks)), dpi=110,
                             squeeze=False)
    for row, (index, kind) in enumerate(picks):
        episode = store.episode(int(episode_ids[index]))
        label = labels[index] if labels[index] is not None else "unlabelled"
        seconds = episode.length / store.schema.control_hz
        caption = f"{kind}\nep {episode.episode_id} s={scores[index]:.3f}\n{label}, {seconds:.1f} s"
        if cameras:
            frames = np.linspace(0, episode.length - 1, frames_per_demo).round().astype(int)
            for c, camera in enumerate(cameras):
                images = read_frames(episode, CAMERA_OBS_KEYS[camera], frames)
                for f, image in enumerate(images):
                    ax = axes[row, c * frames_per_demo + f]
                    ax.imshow(image)
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if row == 0:
                        ax.set_title(f"{camera} {f / max(1, frames_per_demo - 1):.0%} through", fontsize=6)
        else:
            q = episode.read(OBS_JOINT_POSITIONS)
            t = sample_frames(len(q), 1) / store.schema.control_hz
            axes[row, 0].plot(t, q, linewidth=0.6)
            axes[row, 0].set_xlabel("s", fontsize=6)
        axes[row, 0].set_ylabel(caption, fontsize=6, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
