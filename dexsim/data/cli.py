"""Command line of the recording stage: ``dexsim collect`` and ``dexsim dataset info | check | export-lerobot``."""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from dexsim.data.check import check_dataset
from dexsim.data.store import DatasetStore

__all__ = ["register", "parse_episode_ids"]


def parse_episode_ids(text: str | None) -> list[int] | None:
    """``"0,3,7"`` or ``"@file"`` (a JSON list, or one id per line) -> ids; ``None`` -> all."""
    if text is None:
        return None
    if text.startswith("@"):
        path = Path(text[1:])
        content = path.read_text()
        try:
            values = json.loads(content)
            if not isinstance(values, list):
                raise ValueError
        except ValueError:
            values = content.split()
        where = str(path)
    else:
        values, where = [v for v in text.split(",") if v.strip()], "--episodes"
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: episode ids must be integers, got {values!r}") from None


def _disk_bytes(root: Path) -> int:
    return sum(os.path.getsize(Path(d) / f) for d, _, files in os.walk(root) for f in files)


def _info(args: argparse.Namespace) -> int:
    store = DatasetStore.open(args.dataset)
    index = store.index()
    frames = sum(s.length for s in index)
    hours = frames / store.schema.control_hz / 3600
    size = _disk_bytes(store.episodes_dir)
    summary: dict[str, Any] = {
        "dataset": str(store.root),
        "schema": store.schema.to_json(),
        "episodes": len(index),
        "frames": frames,
        "hours": hours,
        "successes": sum(s.success for s in index),
        "labels": dict(Counter(s.defect or "unlabelled" for s in index)),
        "sources": dict(Counter(s.source for s in index)),
        "recovered": sum(s.recovered for s in index),
        "interrupted_recordings": sum(not i.already_finalized for i in store.incomplete()),
        "bytes_on_disk": size,
    }
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    schema = store.schema
    print(f"dataset {store.root}")
    print(f"  {schema.control_hz:g} Hz, {schema.image_size} px, cameras: {', '.join(schema.cameras) or 'none'}")
    print(f"  {len(index)} episodes, {frames} frames ({hours * 60:.1f} min), {size / 1e6:.1f} MB on disk"
          + (f" ({size / 1e9 / hours:.2f} GB per hour)" if hours > 0 else ""))
    print(f"  successes: {summary['successes']}/{len(index)}; labels: {summary['labels']}; "
          f"sources: {summary['sources']}")
    if summary["recovered"] or summary["interrupted_recordings"]:
        print(f"  recovered episodes: {summary['recovered']}; interrupted recordings waiting in incoming/: "
              f"{summary['interrupted_recordings']} (see `dexsim dataset check`)")
    if args.episodes:
        for s in index:
            print(f"  {s.episode_id:6d}  {s.length:5d} frames  success={s.success!s:5}  label={s.defect}  "
                  f"seed={s.seed}  operator={s.operator}")
    return 0


def _check(args: argparse.Namespace) -> int:
    store = DatasetStore.open(args.dataset)
    # with foreign entries in episodes/ the episode list is ambiguous: report them and change nothing
    pending = [] if store.foreign_entries() else store.incomplete()
    for item in pending:
        if item.already_finalized and args.fix:
            store.discard_incomplete(item)
            print(f"removed leftover journal {item.path}")
        elif not item.already_finalized and args.recover:
            episode_id = store.recover(item)
            print(f"recovered {item.path.name} as episode {episode_id}" if episode_id is not None
                  else f"removed {item.path.name}: no complete frame to recover")
        elif not item.already_finalized and args.discard:
            store.discard_incomplete(item)
            print(f"discarded interrupted recording {item.path.name} ({item.num_frames} frames)")
    if args.fix and not store.foreign_entries():
        store.write_index()
    report = check_dataset(args.dataset)
    for problem in report.problems:
        print(problem)
    status = "clean" if report.clean else ("ok (warnings)" if report.ok else "FAILED")
    print(f"checked {report.episodes_checked} episodes, {report.frames_checked} frames: {status}")
    return 0 if report.ok else 1


def _export(args: argparse.Namespace) -> int:
    from dexsim.data.lerobot import LeRobotExportConfig, export_lerobot

    store = DatasetStore.open(args.dataset)
    config = LeRobotExportConfig(vcodec=args.vcodec, crf=args.crf)
    try:
        info = export_lerobot(store, args.output, parse_episode_ids(args.episodes), config, overwrite=args.overwrite)
    except FileExistsError as exc:
        raise ValueError(str(exc)) from None
    print(f"wrote LeRobotDataset {info['codebase_version']} to {args.output}: {info['total_episodes']} episodes, "
          f"{info['total_frames']} frames at {info['fps']:g} fps")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from dexsim.data.collect import collect_expert_demos, parse_defect_mix
    from dexsim.sim.config import sim_config
    from dexsim.sim.expert import DefectMode

    mix = parse_defect_mix(args.defect_mix or "", [d.value for d in DefectMode])
    cameras = tuple(c for c in args.cameras.split(",") if c)
    config = sim_config(args.preset, image_size=args.image_size, control_hz=args.control_hz, cameras=cameras,
                        time_limit_s=args.time_limit)
    results = collect_expert_demos(args.output, args.episodes, seed=args.seed, defect_mix=mix, config=config,
                                   operator=args.operator, progress=not args.no_progress)
    labels = Counter(r.label for r in results)
    clean = [r for r in results if r.label == "clean"]
    print(f"recorded {len(results)} episodes into {args.output}: "
          f"{sum(r.success for r in results)} succeeded; labels {dict(labels)}"
          + (f"; clean success {sum(r.success for r in clean)}/{len(clean)}" if clean else ""))
    return 0


def register(subparsers: Any) -> None:
    """Add ``collect`` and ``dataset`` to the ``dexsim`` command line."""
    collect = subparsers.add_parser("collect", help="record scripted-expert demonstrations in the sim",
                                    description="Record N scripted-expert episodes of AllegroUnscrew-sim into a "
                                    "dataset, optionally with a labelled mix of defect modes.")
    collect.add_argument("output", help="dataset directory (created or appended to)")
    collect.add_argument("-n", "--episodes", type=int, default=10, help="episodes to record (default: 10)")
    collect.add_argument("--seed", type=int, default=0, help="reset seed of the first episode (default: 0)")
    collect.add_argument("--defect-mix", default="", metavar="MODE=FRAC,...",
                         help="fraction of episodes per defect mode, e.g. jitter=0.1,aborted=0.05")
    collect.add_argument("--preset", default="nominal",
                         help="sim randomisation preset: nominal, train or eval (default: nominal)")
    collect.add_argument("--image-size", type=int, default=96, help="camera resolution, px (default: 96)")
    collect.add_argument("--control-hz", type=float, default=20.0, help="control/recording rate (default: 20)")
    collect.add_argument("--cameras", default="top,wrist", help="comma-separated cameras (default: top,wrist)")
    collect.add_argument("--time-limit", type=float, default=40.0, help="episode time limit, s (default: 40)")
    collect.add_argument("--operator", default="scripted-expert", help="operator name stored with the episodes")
    collect.add_argument("--no-progress", action="store_true", help="no progress bar")
    collect.set_defaults(handler=_collect)

    dataset = subparsers.add_parser("dataset", help="inspect, check and export recorded datasets")
    sub = dataset.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    info = sub.add_parser("info", help="summary of a dataset")
    info.add_argument("dataset")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.add_argument("--episodes", action="store_true", help="also list every episode")
    info.set_defaults(handler=_info)

    check = sub.add_parser("check", help="decode and validate every episode; exit 1 on errors")
    check.add_argument("dataset")
    action = check.add_mutually_exclusive_group()
    action.add_argument("--recover", action="store_true",
                        help="add interrupted recordings as failed episodes flagged recovered")
    action.add_argument("--discard", action="store_true", help="delete interrupted recordings")
    check.add_argument("--fix", action="store_true", help="rewrite a stale index and remove leftover journals")
    check.set_defaults(handler=_check)

    export = sub.add_parser("export-lerobot", help="write a LeRobotDataset v3.0 (parquet + mp4 + meta/)")
    export.add_argument("dataset")
    export.add_argument("output", help="directory for the LeRobot dataset")
    export.add_argument("--episodes", default=None, metavar="IDS",
                        help="episodes to export: 0,3,7 or @file (JSON list or one id per line); default all")
    export.add_argument("--vcodec", default="libsvtav1", choices=["libsvtav1", "libx264"],
                        help="video encoder (default: libsvtav1, lerobot's)")
    export.add_argument("--crf", type=int, default=30, help="encoder quality, lower is better (default: 30)")
    export.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    export.set_defaults(handler=_export)
