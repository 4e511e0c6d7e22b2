"""Evaluation results on disk: ``trials.csv`` (one row per trial), ``summary.json`` and ``results.md``.

``trials.partial.csv`` receives each trial as it finishes (so a crash keeps the trials already run); it is renamed
to ``trials.csv`` when the evaluation completes, and ``summary.json`` is written last: its presence marks a
finished evaluation.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from dexsim.eval.stats import wilson_interval
from dexsim.eval.trials import TrialResult

__all__ = [
    "TRIALS_CSV",
    "PARTIAL_CSV",
    "SUMMARY_JSON",
    "RESULTS_MD",
    "Summary",
    "summarize",
    "TrialLog",
    "write_results",
    "read_trials",
    "read_summary",
    "results_table",
]

TRIALS_CSV = "trials.csv"
PARTIAL_CSV = "trials.partial.csv"
SUMMARY_JSON = "summary.json"
RESULTS_MD = "results.md"
_COLUMNS = [f.name for f in fields(TrialResult)]


@dataclass(frozen=True)
class Summary:
    """Aggregate of one policy's evaluation.

    Attributes:
        label: Policy name.
        trials: Trials run.
        successes: Trials with the lid off in time.
        rate: ``successes / trials``.
        ci_low: Lower end of the Wilson 95 % interval of the rate.
        ci_high: Upper end of that interval.
        median_time_to_success_s: Median episode time of the successes, s (``nan`` if none).
        outcomes: Outcome -> count (``success``, ``dropped``, ``timeout``, ...).
        first_seed: Seed of trial 0 (identifies the placement set).
        extra: Settings of the run (policy, env, workers, wall time, versions, command).
    """

    label: str
    trials: int
    successes: int
    rate: float
    ci_low: float
    ci_high: float
    median_time_to_success_s: float
    outcomes: dict[str, int]
    first_seed: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if math.isnan(self.median_time_to_success_s):
            data["median_time_to_success_s"] = None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = SUMMARY_JSON) -> Summary:
        try:
            median = data["median_time_to_success_s"]
            return cls(label=str(data["label"]), trials=int(data["trials"]), successes=int(data["successes"]),
                       rate=float(data["rate"]), ci_low=float(data["ci_low"]), ci_high=float(data["ci_high"]),
                       median_time_to_success_s=float("nan") if median is None else float(median),
                       outcomes={str(k): int(v) for k, v in data["outcomes"].items()},
                       first_seed=int(data["first_seed"]), extra=dict(data.get("extra", {})))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{where}: not an evaluation summary ({type(exc).__name__}: {exc})") from None


def summarize(label: str, results: Sequence[TrialResult], extra: dict[str, Any] | None = None) -> Summary:
    """Aggregate trial results (Wilson 95 % interval, median time to success, outcome counts)."""
    if not results:
        raise ValueError(f"{label}: no trial results to summarise")
    successes = sum(r.success for r in results)
    low, high = wilson_interval(successes, len(results))
    times = [r.time_to_success_s for r in results if r.success]
    outcome_counts = Counter(r.outcome for r in results)
    return Summary(label, len(results), successes, successes / len(results), low, high,
                   float(np.median(times)) if times else float("nan"), dict(sorted(outcome_counts.items())),
                   min(r.seed for r in results), dict(extra or {}))


class TrialLog:
    """Appends each finished trial to ``OUT/trials.partial.csv`` (flushed), so a crash loses no finished trial."""

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out) / PARTIAL_CSV
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=_COLUMNS)
        self._writer.writeheader()

    def append(self, result: TrialResult) -> None:
        self._writer.writerow(result.to_row())
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _write_csv(path: Path, results: Iterable[TrialResult]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=_COLUMNS)
        writer.writeheader()
        for result in sorted(results, key=lambda r: r.trial):
            writer.writerow(result.to_row())
    os.replace(temporary, path)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def results_table(summaries: Sequence[Summary]) -> str:
    """Markdown table: success rate with Wilson 95 % interval, median time to success, failure reasons."""
    lines = ["| policy | success | rate | Wilson 95% CI | median time to success | failures |",
             "|---|---|---|---|---|---|"]
    for s in summaries:
        failures = ", ".join(f"{name} {count}" for name, count in s.outcomes.items() if name != "success") or "-"
        median = "-" if math.isnan(s.median_time_to_success_s) else f"{s.median_time_to_success_s:.1f} s"
        lines.append(f"| {s.label} | {s.successes}/{s.trials} | {_percent(s.rate)} | "
                     f"[{_percent(s.ci_low)}, {_percent(s.ci_high)}] | {median} | {failures} |")
    return "\n".join(lines)


def write_results(out: str | Path, summary: Summary, results: Sequence[TrialResult]) -> dict[str, Path]:
    """Write ``trials.csv``, ``results.md`` and (last) ``summary.json`` into ``out``; remove the partial log."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"trials": out / TRIALS_CSV, "markdown": out / RESULTS_MD, "summary": out / SUMMARY_JSON}
    _write_csv(paths["trials"], results)
    extra = summary.extra
    settings = [f"- policy: `{extra.get('policy', {}).get('policy', summary.label)}`",
                f"- placements: seeds {summary.first_seed}..{summary.first_seed + summary.trials - 1}",
                f"- env: {json.dumps(extra.get('env', {}))}"]
    if "command" in extra:
        settings.append(f"- command: `{extra['command']}`")
    if "wall_s" in extra:
        settings.append(f"- wall time: {extra['wall_s']:.1f} s with {extra.get('workers', 1)} worker(s)")
    paths["markdown"].write_text(f"# Evaluation of {summary.label}\n\n{results_table([summary])}\n\n"
                                 + "\n".join(settings) + "\n")
    temporary = paths["summary"].with_name(SUMMARY_JSON + ".tmp")
    temporary.write_text(json.dumps(summary.to_json(), indent=1) + "\n")
    os.replace(temporary, paths["summary"])
    (out / PARTIAL_CSV).unlink(missing_ok=True)
    return paths


def _results_file(path: str | Path, name: str) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no evaluation results (run `dexsim eval ... --out DIR` first)")
    return path


def read_trials(path: str | Path) -> list[TrialResult]:
    """Trial results from ``trials.csv`` (or an evaluation directory holding one).

    Raises:
        FileNotFoundError: No such file.
        ValueError: A malformed file (naming it, the column and the trial).
    """
    file = _results_file(path, TRIALS_CSV)
    with file.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise ValueError(f"{file}: empty file")
        results = [TrialResult.from_row(row, str(file)) for row in reader]
    if not results:
        raise ValueError(f"{file}: no trials")
    return results


def read_summary(path: str | Path) -> Summary:
    """The summary of an evaluation directory (or a ``summary.json`` file)."""
    file = _results_file(path, SUMMARY_JSON)
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON ({exc})") from None
    return Summary.from_json(data, str(file))
