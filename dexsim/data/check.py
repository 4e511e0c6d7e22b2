"""Integrity check of a dataset: every episode fully decoded and validated, the index, interrupted recordings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from dexsim.data.schema import KEY_LID_ANGLE, KEY_TIME, KEY_WALL_TIME
from dexsim.data.store import DatasetError, DatasetStore, IncompleteEpisode

__all__ = ["Problem", "CheckReport", "check_dataset"]


@dataclass(frozen=True)
class Problem:
    """One finding: ``error`` means data is unusable, ``warning`` that something needs attention."""

    severity: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


@dataclass
class CheckReport:
    """What :func:`check_dataset` found."""

    root: Path
    episodes_checked: int = 0
    frames_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    incomplete: list[IncompleteEpisode] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(p.severity == "error" for p in self.problems)

    @property
    def clean(self) -> bool:
        """No errors and no warnings."""
        return not self.problems


def _check_episode(store: DatasetStore, episode_id: int, report: CheckReport, uuids: dict[str, int]) -> None:
    try:
        episode = store.episode(episode_id)
    except DatasetError as exc:
        report.problems.append(Problem("error", str(store.episodes_dir / f"episode_{episode_id:06d}.zarr"), str(exc)))
        return
    where = str(episode.path)
    if episode.uuid in uuids:
        report.problems.append(Problem("error", where, f"same uuid as episode {uuids[episode.uuid]} (copied twice?)"))
    uuids[episode.uuid] = episode_id
    if episode.length == 0:
        report.problems.append(Problem("error", where, "episode has no frames"))
    for key in store.schema.fields():
        if not episode.every_chunk_stored and (missing := episode.missing_files(key)):
            report.problems.append(Problem(
                "warning", where, f"array {key!r}: no file {', '.join(map(str, missing))}; it reads as zeros "
                "(this episode predates per-chunk files: an all-zero chunk or a deleted file, cannot tell)"))
        try:
            data = episode.read(key)
        except DatasetError as exc:
            report.problems.append(Problem("error", where, str(exc)))
            continue
        if data.dtype.kind == "f" and key != KEY_LID_ANGLE:
            bad = ~np.isfinite(data.reshape(len(data), -1)).all(axis=1)
            if bad.any():
                report.problems.append(Problem(
                    "error", where,
                    f"array {key!r} has non-finite values at frames {np.flatnonzero(bad)[:10].tolist()}"))
        if key in (KEY_TIME, KEY_WALL_TIME) and len(data) > 1 and np.any(np.diff(data) < 0):
            report.problems.append(Problem("error", where, f"array {key!r} goes backwards in time"))
    report.episodes_checked += 1
    report.frames_checked += episode.length


def check_dataset(root: str | Path) -> CheckReport:
    """Decode and validate every episode of the dataset at ``root``.

    Raises:
        FileNotFoundError, DatasetError: ``root`` is missing or is not a dexsim dataset.
    """
    store = DatasetStore.open(root)
    report = CheckReport(Path(root))
    foreign = store.foreign_entries()
    for path in foreign:
        report.problems.append(Problem("error", str(path), "not an episode (foreign entry in episodes/)"))
    foreign_names = {p.name for p in foreign}
    ids = sorted(int(p.name[8:14]) for p in store.episodes_dir.iterdir()
                 if p.name not in foreign_names and not p.name.startswith("."))
    uuids: dict[str, int] = {}
    for episode_id in ids:
        _check_episode(store, episode_id, report, uuids)
    if not foreign and report.ok and not store.index_is_current():
        report.problems.append(Problem("warning", str(store.root / "index.json"),
                                       "index is stale or missing (rebuilt automatically; `--fix` rewrites it)"))
    if not foreign:
        report.incomplete = store.incomplete()
    for item in report.incomplete:
        if item.foreign:
            message = f"{item.foreign}: foreign content in incoming/, left alone (`--discard` deletes it)"
        elif item.already_finalized:
            message = "leftover journal of an episode that was finalized (`--fix` removes it)"
        else:
            message = (f"interrupted recording with {item.num_frames} complete frames"
                       f"{' and a torn last frame' if item.torn_tail else ''} "
                       "(`--recover` adds it as a failed episode labelled recovered; `--discard` deletes it)")
        report.problems.append(Problem("warning", str(item.path), message))
    return report
