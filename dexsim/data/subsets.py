"""Named episode subsets of a dataset: lists of episode ids saved beside the data, no data copied.

Outlier filtering (``dexsim filter``) writes one subset per percentile cut; policy configs name a subset to
train on it. A subset is a small JSON file::

    <dataset>/subsets/<name>.json   {"format": "dexsim-subset", "version": 1, "name": ..., "episode_ids": [...],
                                     "description": ..., "created": ..., "source": {...}}

Names are lower-case letters, digits, ``-`` and ``_`` (they become file names). ``load_subset`` checks that every
listed episode exists in the dataset, so a subset written for another dataset is an error, not silent data.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from dexsim.data.store import DatasetError, DatasetStore

__all__ = ["SUBSETS_DIR", "SUBSET_FORMAT", "subset_path", "save_subset", "load_subset", "list_subsets"]

SUBSETS_DIR: Final = "subsets"
"""Folder of a dataset that holds the subset files."""
SUBSET_FORMAT: Final = "dexsim-subset"
_VERSION: Final = 1
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"subset name {name!r} is not valid: use 1-64 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )


def subset_path(dataset_root: str | Path, name: str) -> Path:
    """Path of subset ``name`` of the dataset at ``dataset_root``."""
    _check_name(name)
    return Path(dataset_root) / SUBSETS_DIR / f"{name}.json"


def save_subset(
    dataset_root: str | Path,
    name: str,
    episode_ids: Iterable[int],
    *,
    description: str = "",
    source: Mapping[str, Any] | None = None,
) -> Path:
    """Write (or replace) subset ``name``; the ids must be finalized episodes of the dataset.

    Args:
        dataset_root: Dataset directory (``dexsim collect`` output).
        name: Subset name (see module docstring).
        episode_ids: Episode ids in the subset; duplicates are an error; stored sorted.
        description: One line for humans (e.g. "outlier scores <= 75th percentile").
        source: What produced it (command, settings), stored as given (must be JSON-serialisable).

    Returns:
        The path written.
    """
    ids = [int(i) for i in episode_ids]
    if len(set(ids)) != len(ids):
        raise ValueError(f"subset {name!r}: episode ids are repeated")
    store = DatasetStore.open(dataset_root)
    missing = sorted(set(ids) - set(store.episode_ids()))
    if missing:
        raise DatasetError(f"subset {name!r}: dataset {store.root} has no episodes {missing}")
    path = subset_path(dataset_root, name)
    path.parent.mkdir(exist_ok=True)
    record = {
        "format": SUBSET_FORMAT,
        "version": _VERSION,
        "name": name,
        "episode_ids": sorted(ids),
        "description": description,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "source": dict(source or {}),
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(path)
    return path


def load_subset(dataset_root: str | Path, name: str) -> list[int]:
    """Episode ids of subset ``name``, checked against the dataset.

    Raises:
        DatasetError: the subset file is missing or malformed, or lists episodes the dataset lacks (named).
    """
    path = subset_path(dataset_root, name)
    if not path.is_file():
        known = list_subsets(dataset_root)
        hint = f"known subsets: {', '.join(known)}" if known else "the dataset has no subsets (run `dexsim filter`)"
        raise DatasetError(f"subset {name!r}: {path} does not exist ({hint})")
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"subset {name!r}: {path} is not readable JSON ({exc})") from exc
    if not isinstance(record, dict) or record.get("format") != SUBSET_FORMAT:
        raise DatasetError(f"subset {name!r}: {path} is not a dexsim subset file (field 'format')")
    ids = record.get("episode_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise DatasetError(f"subset {name!r}: {path} field 'episode_ids' must be a list of integers")
    store = DatasetStore.open(dataset_root)
    missing = sorted(set(ids) - set(store.episode_ids()))
    if missing:
        raise DatasetError(f"subset {name!r}: {path} lists episodes {missing} that dataset {store.root} lacks")
    return sorted(ids)


def list_subsets(dataset_root: str | Path) -> list[str]:
    """Names of the subsets saved beside a dataset, sorted."""
    folder = Path(dataset_root) / SUBSETS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if _NAME.match(p.stem))
