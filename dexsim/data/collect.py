"""``dexsim collect``'s engine: record scripted-expert demonstrations in the twin, with labelled defect modes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dexsim.data.recorder import Recorder, record_episode
from dexsim.data.schema import EpisodeMetadata

__all__ = ["CollectedEpisode", "parse_defect_mix", "defect_counts", "plan_defects", "next_free_seed",
           "collect_expert_demos"]

_CLEAN = ""


@dataclass(frozen=True)
class CollectedEpisode:
    """One recorded demonstration."""

    episode_id: int
    seed: int
    label: str
    success: bool
    termination_reason: str
    frames: int


def parse_defect_mix(text: str, known: list[str]) -> dict[str, float]:
    """Parse ``"jitter=0.1,aborted=0.05"`` into label -> fraction of episodes.

    Raises:
        ValueError: Unknown label, bad number, or fractions summing above 1 (all named).
    """
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        label, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"defect mix entry {part!r} must look like MODE=FRACTION")
        if label not in known:
            raise ValueError(f"unknown defect mode {label!r}; known: {known}")
        try:
            fraction = float(value)
        except ValueError:
            raise ValueError(f"defect mix entry {part!r}: {value!r} is not a number") from None
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"defect mix entry {part!r}: fraction must be in [0, 1]")
        mix[label] = fraction
    if sum(mix.values()) > 1.0 + 1e-9:
        raise ValueError(f"defect mix fractions sum to {sum(mix.values()):.3f} > 1")
    return mix


def defect_counts(num_episodes: int, mix: Mapping[str, float]) -> dict[str, int]:
    """Exact episode counts per defect mode for ``num_episodes`` episodes (clean ones not listed).

    Largest remainder over the modes and the clean rest: counts sum to ``num_episodes`` and each is its exact
    share rounded down or up, so small runs keep their defects (``jitter=0.1`` of 5 episodes gives 1, not 0).
    """
    shares = {label: fraction * num_episodes for label, fraction in mix.items()}
    shares[_CLEAN] = max(0.0, num_episodes - sum(shares.values()))
    counts = {label: int(share + 1e-9) for label, share in shares.items()}
    # largest remainders first; on a tie the modes (listed first) go before the clean rest
    order = sorted(shares, key=lambda label: -round(shares[label] - counts[label], 9))
    for label in order[: num_episodes - sum(counts.values())]:
        counts[label] += 1
    counts.pop(_CLEAN)
    return counts


def plan_defects(num_episodes: int, mix: Mapping[str, float], seed: int) -> list[str | None]:
    """Which defect each episode gets: :func:`defect_counts` episodes per mode, shuffled by ``seed``; the rest
    are clean (``None``)."""
    plan: list[str | None] = []
    for label, count in defect_counts(num_episodes, mix).items():
        plan += [label] * count
    plan += [None] * (num_episodes - len(plan))
    order = np.random.default_rng(seed).permutation(num_episodes)
    return [plan[i] for i in order]


def next_free_seed(out: str | Path) -> int:
    """First reset seed after every seed recorded in the dataset at ``out`` (0 for a new or empty dataset)."""
    from dexsim.data.store import DATASET_FILE, DatasetStore

    if not (Path(out) / DATASET_FILE).is_file():
        return 0
    seeds = [s.seed for s in DatasetStore.open(out).index() if s.seed is not None]
    return max(seeds) + 1 if seeds else 0


def _check_seeds_unused(out: str | Path, seeds: range) -> None:
    from dexsim.data.store import DATASET_FILE, DatasetStore

    if not (Path(out) / DATASET_FILE).is_file():
        return
    used = sorted({s.seed for s in DatasetStore.open(out).index() if s.seed in seeds})
    if used:
        listed = f"{used[:10]}{' ...' if len(used) > 10 else ''}"
        raise ValueError(f"dataset {out} already holds episodes with seeds {listed}: they would repeat those "
                         f"scenes; leave out --seed to continue at seed {next_free_seed(out)}")


def collect_expert_demos(
    out: str | Path,
    num_episodes: int,
    *,
    seed: int | None = None,
    defect_mix: Mapping[str, float] | None = None,
    config: Any = None,
    operator: str = "scripted-expert",
    progress: bool = True,
    on_episode: Callable[[CollectedEpisode], None] | None = None,
) -> list[CollectedEpisode]:
    """Record ``num_episodes`` scripted-expert episodes of ``AllegroUnscrew-sim`` into the dataset at ``out``.

    Episode ``i`` uses reset seed ``seed + i``; its label is the expert's (``"clean"`` or a defect mode). Without
    ``seed`` a new dataset starts at 0 and an existing one continues after its highest seed, so re-running
    appends new scenes; an explicit ``seed`` whose range meets seeds already in the dataset is refused.

    Args:
        out: Dataset directory (created, or appended to if it has the same frame schema).
        num_episodes: Episodes to record.
        seed: First reset seed (``None``: :func:`next_free_seed`); also shuffles which episodes get which defect.
        defect_mix: Defect label -> fraction of episodes (see :func:`parse_defect_mix`).
        config: A ``dexsim.sim.config.SimConfig`` (default settings if ``None``).
        operator: Stored as the episodes' operator.
        progress: Show a tqdm progress bar.
        on_episode: Called after each episode.
    """
    from tqdm import tqdm

    from dexsim.sim.config import SimConfig  # the twin is needed only here
    from dexsim.sim.env import AllegroUnscrewSimEnv
    from dexsim.sim.expert import DefectMode, UnscrewExpert

    if num_episodes < 1:
        raise ValueError(f"-n/--episodes must be >= 1, got {num_episodes}")
    if seed is None:
        seed = next_free_seed(out)
    elif seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")
    else:
        _check_seeds_unused(out, range(seed, seed + num_episodes))
    config = config or SimConfig()
    plan = plan_defects(num_episodes, defect_mix or {}, seed)
    env = AllegroUnscrewSimEnv(config=config)
    results: list[CollectedEpisode] = []
    try:
        recorder = Recorder.for_env(env, out)
        bar = tqdm(total=num_episodes, unit="episode", disable=not progress, desc="collect")
        for i, defect in enumerate(plan):
            expert = UnscrewExpert(env, defect=DefectMode(defect) if defect else None)
            metadata = EpisodeMetadata(source="sim", operator=operator, defect=expert.label)
            episode_id, info = record_episode(env, expert, recorder, seed=seed + i, metadata=metadata)
            result = CollectedEpisode(
                episode_id, seed + i, expert.label, bool(info.get("success", False)),
                str(info.get("termination_reason", "")), recorder.store.episode(episode_id).length,
            )
            results.append(result)
            if on_episode is not None:
                on_episode(result)
            bar.update(1)
            bar.set_postfix(success=f"{sum(r.success for r in results)}/{len(results)}")
        bar.close()
    finally:
        env.close()
    return results
