"""The report of a reproduction: ``report.md``, the Fig. 6-style chart, the outlier histogram, the commands."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dexsim.eval.results import Summary, read_summary, read_trials, results_table
from dexsim.eval.stats import PairedComparison, compare_paired
from dexsim.reproduce.scales import BASELINE_CONFIG, DEFECT_MIX
from dexsim.reproduce.steps import Step

__all__ = ["ReportInputs", "write_report", "plot_success_rates", "REPORT_DIR", "CHART_FILE", "HISTOGRAM_FILE"]

REPORT_DIR = "report"
CHART_FILE = "success_rates.png"
HISTOGRAM_FILE = "outlier_histogram.png"
COMMANDS_FILE = "commands.sh"


@dataclass(frozen=True)
class ReportInputs:
    """What the report is written from.

    Attributes:
        out: The reproduction's output directory.
        scale: Scale name.
        scale_table: The scale's parameters (name -> value).
        configs: Policy configs in report order; ``out/eval/<config>/`` holds each evaluation.
        steps: The steps that were run, in order.
        records: Their completion records (``command``, ``wall_s``, ``started``), in the same order.
        seeds: Seeds used (demonstrations, training, evaluation).
        versions: Library versions.
    """

    out: Path
    scale: str
    scale_table: dict[str, Any]
    configs: tuple[str, ...]
    steps: tuple[Step, ...]
    records: tuple[dict[str, Any], ...]
    seeds: dict[str, str]
    versions: dict[str, str]


def plot_success_rates(summaries: Sequence[Summary], path: str | Path, title: str) -> Path:
    """Bar chart of success rates with Wilson 95 % intervals (Fig. 6 style), ``k/n`` above each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [s.label for s in summaries]
    rates = [100 * s.rate for s in summaries]
    below = [100 * (s.rate - s.ci_low) for s in summaries]
    above = [100 * (s.ci_high - s.rate) for s in summaries]
    colours = ["0.6" if s.label == "expert" else "tab:blue" for s in summaries]
    figure, axes = plt.subplots(figsize=(1.1 * len(summaries) + 2.0, 4.0), dpi=120)
    positions = range(len(summaries))
    axes.bar(positions, rates, color=colours, yerr=[below, above], capsize=4, ecolor="black")
    for x, s in zip(positions, summaries, strict=True):
        axes.text(x, 100 * s.ci_high + 2, f"{s.successes}/{s.trials}", ha="center", va="bottom", fontsize=8)
    axes.set_xticks(list(positions), labels, rotation=30, ha="right")
    axes.set_ylabel("success rate, % (Wilson 95% CI)")
    axes.set_ylim(0, 112)
    axes.set_title(title, fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _comparisons(out: Path, configs: Sequence[str]) -> list[PairedComparison]:
    if BASELINE_CONFIG not in configs:
        return []
    baseline = {t.seed: t.success for t in read_trials(out / "eval" / BASELINE_CONFIG)}
    found = []
    for config in configs:
        if config == BASELINE_CONFIG:
            continue
        other = {t.seed: t.success for t in read_trials(out / "eval" / config)}
        found.append(compare_paired(config, other, BASELINE_CONFIG, baseline))
    return found


def _data_section(data: Path) -> list[str]:
    """Demonstrations per label and what each outlier subset kept (the filtered configs' training sets)."""
    from collections import Counter

    from dexsim.data.store import DatasetError, DatasetStore
    from dexsim.data.subsets import list_subsets, load_subset

    try:
        index = DatasetStore.open(data).index()
        subsets = {name: load_subset(data, name) for name in list_subsets(data)}
    except (DatasetError, OSError, ValueError) as exc:
        return [f"(the dataset {data} could not be read: {exc})", ""]
    labels = {s.episode_id: s.defect or "unlabelled" for s in index}
    counts = Counter(labels.values())
    lines = [f"{len(index)} demonstrations, {sum(s.success for s in index)} with the lid off; labels: "
             + ", ".join(f"{label} {n}" for label, n in sorted(counts.items())), ""]
    if subsets:
        lines += ["| subset | demonstrations kept | defective kept | removed (by ground-truth label) |",
                  "|---|---|---|---|"]
        for name, ids in subsets.items():
            kept = set(ids)
            removed = Counter(label for episode, label in labels.items() if episode not in kept)
            defective = sum(labels[i] != "clean" for i in kept if i in labels)
            lines.append(f"| {name} | {len(kept)}/{len(index)} | {defective} | "
                         + (", ".join(f"{label} {n}" for label, n in sorted(removed.items())) or "-") + " |")
        lines.append("")
    return lines


def _training_section(out: Path, configs: Sequence[str]) -> list[str]:
    """Per config what its run directory says about its training (steps, time, device), whichever machine ran it."""
    from dexsim.policy.checkpoint import read_policy_metadata

    lines = ["| policy | steps | epochs | stopped by | training time | device | best validation loss |",
             "|---|---|---|---|---|---|---|"]
    for config in configs:
        try:
            training = read_policy_metadata(out / "runs" / config).get("training", {})
        except (OSError, ValueError) as exc:
            lines.append(f"| {config} | ({exc}) | | | | | |")
            continue
        loss = training.get("best_val_loss")
        lines.append(f"| {config} | {training.get('steps', '?')} | {training.get('epochs', '?')} | "
                     f"{training.get('stopped') or '?'} | {_duration(float(training.get('wall_s', 0.0)))} | "
                     f"{training.get('device', 'not recorded')} | {'-' if loss is None else f'{loss:.4g}'} |")
    return lines + [""]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def write_report(inputs: ReportInputs) -> Path:
    """Write ``OUT/report/``: ``report.md``, the chart, the outlier histogram (copied) and ``commands.sh``.

    Raises:
        FileNotFoundError: An evaluation the report needs is missing (named).
    """
    out = inputs.out
    report = out / REPORT_DIR
    report.mkdir(parents=True, exist_ok=True)
    expert_dir = out / "eval" / "expert"
    # labelled by config name, whatever the run directory was called
    summaries = [replace(read_summary(out / "eval" / config), label=config) for config in inputs.configs]
    reference = [read_summary(expert_dir)] if (expert_dir / "summary.json").exists() else []
    plot_success_rates(summaries + reference, report / CHART_FILE,
                       f"dexsim reproduce --scale {inputs.scale}: lid-off success in the twin")
    histogram = out / "data" / "filter" / "histogram.png"
    has_histogram = histogram.is_file()
    if has_histogram:
        shutil.copyfile(histogram, report / HISTOGRAM_FILE)
    commands = ["#!/usr/bin/env bash", "# The commands of this reproduction, in order (dexsim reproduce ran them).",
                "set -euo pipefail"] + [step.display for step in inputs.steps]
    (report / COMMANDS_FILE).write_text("\n".join(commands) + "\n")

    lines = [f"# Seven-policy study (paper Fig. 6) in the twin: scale `{inputs.scale}`", "",
             f"Regenerate: `dexsim reproduce --scale {inputs.scale} --out {out}` (finished steps are reused).", "",
             "## Success rates", "", results_table(summaries + reference), "",
             f"![success rates]({CHART_FILE})", ""]
    comparisons = _comparisons(out, inputs.configs)
    if comparisons:
        lines += [f"## Paired comparisons with `{BASELINE_CONFIG}` (same placements, trial by trial)", "",
                  "| policy | trials | only it | only baseline | difference | paired bootstrap 95% CI | McNemar p |",
                  "|---|---|---|---|---|---|---|"]
        for c in comparisons:
            lines.append(f"| {c.label_a} | {c.trials} | {c.only_a} | {c.only_b} | {100 * c.difference:+.0f} pts | "
                         f"[{100 * c.bootstrap_low:+.0f}, {100 * c.bootstrap_high:+.0f}] | {c.mcnemar_p:.3g} |")
        lines.append("")
    lines += ["## Training", "", "From each run directory (`runs/<policy>/config.json`); a `train` step that found a "
              "finished run elsewhere (`--stages train` on another machine) takes seconds in the run times below.",
              ""] + _training_section(out, inputs.configs)
    lines += ["## Training data", ""] + _data_section(out / "data")
    lines += ["## Outlier filtering", ""]
    if has_histogram:
        lines += [f"![outlier scores]({HISTOGRAM_FILE})", ""]
    evaluation = out / "data" / "filter" / "evaluation.md"
    if evaluation.is_file():
        lines += ["Scores against the ground-truth defect labels (`dexsim filter --evaluate`):", "",
                  evaluation.read_text().strip(), ""]
    if not has_histogram and not evaluation.is_file():
        lines += ["(no filter artefacts found)", ""]
    lines += ["## Settings", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in inputs.scale_table.items()]
    lines += [f"| defect mix | `{DEFECT_MIX}` |", ""]
    lines += ["Seeds:", ""] + [f"- {key}: {value}" for key, value in inputs.seeds.items()] + [""]
    lines += ["## Commands and run times", "", "| step | command | wall time | finished run started |",
              "|---|---|---|---|"]
    total = 0.0
    for step, record in zip(inputs.steps, inputs.records, strict=True):
        total += float(record["wall_s"])
        lines.append(f"| {step.name} | `{record['command']}` | {_duration(float(record['wall_s']))} | "
                     f"{record.get('started', '')} |")
    lines += ["", f"Total: {_duration(total)} of step time (steps reused from an earlier run count with their "
              "original time).", "", f"The commands in order: [{COMMANDS_FILE}]({COMMANDS_FILE}).", "",
              "## Versions", ""] + [f"- {name} {version}" for name, version in inputs.versions.items()]
    path = report / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
