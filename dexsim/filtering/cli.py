"""``dexsim filter DATASET``: demonstration outlier scores, percentile subsets, histogram and contact sheet."""

from __future__ import annotations

import argparse
import shlex
import sys

from dexsim.filtering.config import AGGREGATIONS, BACKBONES, SCORERS, FilterConfig, subset_name

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from dexsim.filtering.pipeline import run_filter

    cameras = tuple(c.strip() for c in args.cameras.split(",") if c.strip()) if args.cameras else ()
    config = FilterConfig(
        scorer=args.scorer, backbone=args.backbone, weights=args.weights, seed=args.seed,
        input_size=args.input_size, stride=args.stride, batch_size=args.batch_size, cameras=cameras,
        aggregation=args.aggregation, min_cluster_size=args.min_cluster_size, min_samples=args.min_samples,
        threads=args.threads,
    )
    command = "dexsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else ""
    result = run_filter(args.dataset, config, out=args.out, evaluate=args.evaluate,
                        progress=not args.no_progress, command=command)
    if result.weights is not None and result.weights.is_random:
        print("NOTE: the image encoder is RANDOMLY INITIALISED (no pre-trained weights found); pass --weights "
              "FILE for the paper's ImageNet features (docs/filtering.md)")
    print(f"scored {len(result.episode_ids)} demonstrations ({config.scorer}); "
          f"{result.images_encoded} images encoded, {result.cache_hits} cached entries reused; "
          f"{result.timings_s.get('total_s', 0):.1f} s")
    if result.weights is not None:
        print(f"image encoder: {result.weights.describe()}")
    for cut in result.cuts:
        print(f"  {subset_name(cut.percent)}: removed {len(cut.removed)} (score > {cut.threshold:.4f}), "
              f"kept {len(cut.kept)}")
    top = [result.episode_ids[i] for i in result.ranks.argsort()[:5]]
    print(f"  most outlying episodes: {top}")
    if result.evaluation:
        for r in result.evaluation:
            print(f"  {r.name:40s} AUROC {r.auroc:.3f}  length-controlled {r.length_controlled_auroc:.3f}")
    print(f"artefacts in {result.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dexsim filter``."""
    defaults = FilterConfig()
    p = subparsers.add_parser(
        "filter", help="score demonstrations as outliers (ConvNeXt + HDBSCAN/GLOSH) and save filtered subsets",
        description="Score every demonstration of DATASET as an outlier (the paper's Sec. IV-B: ConvNeXt-Tiny "
                    "image embeddings, HDBSCAN, GLOSH, camera average), save the subsets outliers-removed-10/25/50 "
                    "and write scores.csv, scores.json, histogram.png and contact_sheet.png.",
    )
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--out", default=None, help="artefact directory (default: DATASET/filter)")
    p.add_argument("--weights", default=defaults.weights,
                   help="encoder weights: a .pth/.pt/.bin/.safetensors file (timm or torchvision layout), 'hf' "
                        "(offline Hugging Face cache), 'random', or 'auto' = cache if present else random "
                        "(default: auto)")
    p.add_argument("--stride", type=int, default=defaults.stride,
                   help=f"use every N-th frame (default: {defaults.stride})")
    p.add_argument("--evaluate", action="store_true",
                   help="compare every scorer with the ground-truth defect labels (evaluation.md/json)")
    p.add_argument("--scorer", choices=SCORERS, default=defaults.scorer,
                   help="image = the paper; trajectory = joint/effort/action GLOSH; combined = their mean "
                        f"(default: {defaults.scorer})")
    p.add_argument("--backbone", choices=BACKBONES, default=defaults.backbone,
                   help=f"image encoder (default: {defaults.backbone})")
    p.add_argument("--input-size", type=int, default=defaults.input_size,
                   help=f"encoder input side, px, multiple of 32 (default: {defaults.input_size}; 96: 2x slower, "
                        "224 = ImageNet training size: 17x slower)")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per forward pass")
    p.add_argument("--cameras", default=None, help="comma-separated cameras (default: all recorded)")
    p.add_argument("--aggregation", choices=AGGREGATIONS, default=defaults.aggregation,
                   help=f"frames -> demonstration score (default: {defaults.aggregation})")
    p.add_argument("--min-cluster-size", type=int, default=defaults.min_cluster_size,
                   help=f"HDBSCAN min_cluster_size (default: {defaults.min_cluster_size})")
    p.add_argument("--min-samples", type=int, default=None,
                   help="HDBSCAN min_samples (default: = min_cluster_size)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="random-initialisation seed")
    p.add_argument("--threads", type=int, default=defaults.threads, help="torch CPU threads (0: torch default)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=_run)
