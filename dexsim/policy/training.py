"""Training loop of ``dexsim train``: episode-wise validation split, AdamW + warm-up/cosine, EMA, early stopping,
CSV (and optional TensorBoard) logs, safetensors checkpoints with exact resume, and ``torchrun`` data parallelism.

Determinism: batches come from a per-epoch permutation seeded by ``(seed, epoch)``; the diffusion noise, steps
and crop offsets of the *global* batch come from one torch generator on every process (each process takes its
slice), so a resumed run continues the same loss curve and an N-process run computes the same update as one
process on the same global batch (GroupNorm has no cross-sample statistics).
"""

from __future__ import annotations

import copy
import csv
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from torch import nn

from dexsim.data import DatasetStore, WindowConfig, WindowDataset, compute_stats
from dexsim.data.subsets import load_subset
from dexsim.policy.checkpoint import (
    CONFIG_FILE,
    MODEL_FILE,
    STATS_FILE,
    list_checkpoints,
    load_training_checkpoint,
    policy_metadata,
    read_policy_metadata,
    save_training_checkpoint,
    write_policy,
)
from dexsim.policy.configuration import PolicyConfig
from dexsim.policy.modeling import DiffusionPolicy, parameter_count
from dexsim.policy.normalize import Normalizer, range_floor_for

__all__ = ["LOG_FILE", "LOG_FIELDS", "TrainResult", "ExponentialMovingAverage", "learning_rate", "dataset_facts",
           "select_episodes", "split_episodes", "train_policy"]

LOG_FILE: Final = "train_log.csv"
LOG_FIELDS: Final = ("step", "epoch", "loss", "val_loss", "lr", "samples_per_s", "elapsed_s")


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_policy` did.

    Attributes:
        run_dir: The run directory.
        steps: Optimiser steps done in total.
        epochs: Completed epochs.
        best_val_loss: Lowest validation loss (nan without a validation split).
        stopped: ``"max_steps"``, ``"max_epochs"``, ``"early_stopping"``, ``"max_minutes"`` or ``"finished"``
            (the run had finished before).
        wall_s: Training wall time over all sessions, s.
    """

    run_dir: Path
    steps: int
    epochs: int
    best_val_loss: float
    stopped: str
    wall_s: float


class ExponentialMovingAverage:
    """EMA copy of a model with diffusion_policy's warm-up decay ``1 - (1 + step / inv_gamma) ** -power``."""

    def __init__(self, model: nn.Module, power: float, inv_gamma: float, max_decay: float) -> None:
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)
        self.power, self.inv_gamma, self.max_decay = power, inv_gamma, max_decay

    def decay(self, step: int) -> float:
        """Decay used for the update after optimiser step ``step`` (1-based)."""
        k = max(0, step - 1)
        if k <= 0:
            return 0.0
        return float(min(max(1.0 - (1.0 + k / self.inv_gamma) ** -self.power, 0.0), self.max_decay))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Blend ``model``'s weights in after optimiser step ``step``."""
        d = self.decay(step)
        for averaged, current in zip(self.model.parameters(), model.parameters(), strict=True):
            averaged.mul_(d).add_(current.detach(), alpha=1.0 - d)
        for averaged, current in zip(self.model.buffers(), model.buffers(), strict=True):
            averaged.copy_(current)


def learning_rate(step: int, peak: float, warmup: int, total: int) -> float:
    """Linear warm-up to ``peak`` over ``warmup`` steps, then cosine decay to 0 at ``total`` steps."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def select_episodes(store: DatasetStore, config: PolicyConfig) -> tuple[list[int], str]:
    """Episode ids the config trains on and a description (``subset NAME``, ``listed ids`` or ``all``)."""
    if config.data.subset:
        return load_subset(store.root, config.data.subset), f"subset {config.data.subset}"
    if config.data.episode_ids:
        missing = sorted(set(config.data.episode_ids) - set(store.episode_ids()))
        if missing:
            raise ValueError(f"[data] episode_ids: dataset {store.root} has no episodes {missing}")
        return sorted(config.data.episode_ids), "listed ids"
    return store.episode_ids(), "all"


def split_episodes(episode_ids: list[int], val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, validation) episode ids: a seeded shuffle, ``round(fraction * n)`` episodes (at least one when the
    fraction is positive and two or more episodes exist) held out."""
    ids = np.asarray(sorted(episode_ids))
    n_val = int(round(val_fraction * len(ids)))
    if val_fraction > 0 and len(ids) >= 2:
        n_val = max(1, n_val)
    n_val = min(n_val, len(ids) - 1)
    order = np.random.default_rng(seed).permutation(len(ids))
    return sorted(ids[order[n_val:]].tolist()), sorted(ids[order[:n_val]].tolist())


def dataset_facts(store: DatasetStore, config: PolicyConfig) -> dict[str, Any]:
    """Check that the dataset has what the config reads; returns the facts stored in ``config.json``.

    Raises:
        ValueError: A camera the config needs is not recorded, or the image size differs (both named).
    """
    schema = store.schema
    missing = [c for c in config.inputs.cameras if c not in schema.cameras]
    if missing:
        raise ValueError(f"dataset {store.root} lacks cameras {missing} (it records {list(schema.cameras)}); "
                         f"[inputs] cameras = {list(config.inputs.cameras)} needs them")
    if config.inputs.cameras and schema.image_size != config.model.image_size:
        raise ValueError(f"dataset {store.root} records {schema.image_size} px images but [model] image_size = "
                         f"{config.model.image_size}: collect at that size or --set model.image_size="
                         f"{schema.image_size}")
    max_delta = 0.8
    first = store.episode_ids()[:1]
    if first:
        max_delta = float(store.episode(first[0]).metadata.env_config.get("max_joint_delta", max_delta))
    return {"path": str(store.root.resolve()), "control_hz": schema.control_hz, "image_size": schema.image_size,
            "cameras": list(config.inputs.cameras), "recorded_cameras": list(schema.cameras),
            "max_joint_delta": max_delta}


class _Log:
    """The CSV log (rank 0 only); on resume rows after the checkpoint's step are dropped."""

    def __init__(self, path: Path, resume_step: int | None, tensorboard: bool) -> None:
        self.path = path
        rows: list[dict[str, str]] = []
        if resume_step is not None and path.is_file():
            with path.open(newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        self.writer: Any = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ValueError("[train] tensorboard = true needs the 'tensorboard' package") from None
            self.writer = SummaryWriter(str(path.parent / "tensorboard"))

    def write(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=LOG_FIELDS).writerow(row)
        if self.writer is not None:
            for key in ("loss", "val_loss", "lr"):
                if row.get(key, "") != "":
                    self.writer.add_scalar(key, float(row[key]), int(row["step"]))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _to_torch(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(np.ascontiguousarray(value)).to(device) for key, value in batch.items()}


def _random_draws(generator: torch.Generator, config: PolicyConfig, image_keys: tuple[str, ...], batch: int,
                  action_dim: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Noise, diffusion steps and crop offsets of a global batch (the same on every process)."""
    noise = torch.randn((batch, config.horizon.horizon, action_dim), generator=generator)
    steps = torch.randint(0, config.diffusion.train_steps, (batch,), generator=generator)
    room = config.model.image_size - config.model.crop_size + 1
    crops = {key: torch.randint(0, room, (batch, 2), generator=generator) for key in image_keys}
    return noise, steps, crops


@torch.no_grad()
def _validation_loss(model: DiffusionPolicy, data: WindowDataset, config: PolicyConfig,
                     device: torch.device) -> float:
    """Mean loss of the EMA model on up to ``val_windows`` evenly spaced validation windows, fixed noise."""
    count = min(len(data), config.train.val_windows)
    indices = np.unique(np.linspace(0, len(data) - 1, count).astype(np.int64))
    generator = torch.Generator().manual_seed(config.train.seed + 1)
    total, seen = 0.0, 0
    for start in range(0, len(indices), config.train.batch_size):
        chunk = indices[start : start + config.train.batch_size]
        batch = _to_torch(data.batch(chunk.tolist()), device)
        noise, steps, _ = _random_draws(generator, config, (), len(chunk), model.action_dim)
        loss = model(batch, noise.to(device), steps.to(device), None)
        total += float(loss) * len(chunk)
        seen += len(chunk)
    return total / max(seen, 1)


def _distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group under ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _all_mean(value: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        import torch.distributed as dist

        value = value.detach().clone()
        dist.all_reduce(value)
        value /= world
    return value


def _agree(flag: bool, world: int) -> bool:
    """Rank 0's decision, shared with every process."""
    if world <= 1:
        return flag
    import torch.distributed as dist

    tensor = torch.tensor([1.0 if flag else 0.0])
    dist.broadcast(tensor, 0)
    return bool(tensor.item())


def train_policy(
    config: PolicyConfig,
    data_dir: str | Path,
    run_dir: str | Path,
    *,
    progress: bool = True,
    command: str = "",
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train (or resume training of) a diffusion policy; the final EMA weights land in ``run_dir``.

    Args:
        config: Policy configuration (overrides already applied).
        data_dir: ``dexsim collect`` dataset.
        run_dir: Output directory (resumed when it holds checkpoints of the same configuration).
        progress: Show a progress bar (rank 0).
        command: The command line, stored in ``config.json``.
        on_step: Called with (step, loss) after every optimiser step (tests use it to interrupt a run).

    Raises:
        ValueError: Dataset and config do not fit, or the run dir holds a different configuration (named).
    """
    run_dir = Path(run_dir)
    rank, world = _distributed()
    train = config.train
    if train.batch_size % world:
        raise ValueError(f"[train] batch_size {train.batch_size} is not divisible by {world} processes")
    if train.threads:
        torch.set_num_threads(train.threads)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if (run_dir / MODEL_FILE).is_file():
        meta = read_policy_metadata(run_dir).get("training", {})
        return TrainResult(run_dir, int(meta.get("steps", 0)), int(meta.get("epochs", 0)),
                           float(meta.get("best_val_loss") or float("nan")), "finished", float(meta.get("wall_s", 0)))

    store = DatasetStore.open(data_dir)
    facts = dataset_facts(store, config)
    episodes, selection = select_episodes(store, config)
    train_ids, val_ids = split_episodes(episodes, config.data.val_fraction, train.seed)
    facts.update(selection=selection, train_episodes=train_ids, val_episodes=val_ids)

    checkpoints = list_checkpoints(run_dir)
    resume = load_training_checkpoint(checkpoints[-1]) if checkpoints else None
    if checkpoints:
        stored = read_policy_metadata(checkpoints[-1])
        previous = PolicyConfig.from_dict(stored["config"], str(checkpoints[-1] / CONFIG_FILE))
        changed = config.differences(previous)
        if changed:
            raise ValueError(f"{run_dir} holds checkpoints of another configuration (fields {changed} differ); "
                             "use another --out or the same settings to resume")
        normalizer = Normalizer.load(checkpoints[-1] / STATS_FILE)
        facts = stored["dataset"]
    else:
        keys = (*config.inputs.low_dim, config.inputs.action)
        stats = compute_stats(store, keys, train_ids)
        floors = {k: range_floor_for(k, config.data.range_floor_rad, config.data.range_floor_nm) for k in keys}
        normalizer = Normalizer.from_stats(stats, floors)

    horizon = config.horizon
    windows = WindowConfig(horizon=horizon.horizon, n_obs_steps=horizon.n_obs_steps,
                           n_action_steps=horizon.n_action_steps,
                           obs_keys=(*config.inputs.low_dim, *config.inputs.image_keys),
                           action_key=config.inputs.action)
    train_data = WindowDataset(store, windows, train_ids, images="memory")
    val_data = WindowDataset(store, windows, val_ids, images="memory") if val_ids else None
    if len(train_data) < train.batch_size:
        raise ValueError(f"[train] batch_size {train.batch_size} exceeds the {len(train_data)} training windows "
                         f"of {store.root}")
    steps_per_epoch = len(train_data) // train.batch_size
    local = train.batch_size // world

    torch.manual_seed(train.seed)
    model = DiffusionPolicy(config, normalizer).to(device)
    ema = ExponentialMovingAverage(model, train.ema_power, train.ema_inv_gamma, train.ema_max)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.lr, betas=train.betas, weight_decay=train.weight_decay)
    generator = torch.Generator().manual_seed(train.seed)
    step, loop = 0, {"best_val_loss": None, "bad_epochs": 0, "epochs": 0, "loss_sum": 0.0, "loss_count": 0,
                     "wall_s": 0.0, "stopped": ""}
    if resume is not None:
        model.load_state_dict(resume["model"])
        ema.model.load_state_dict(resume["ema"])
        optimizer.load_state_dict(resume["optimizer"])
        generator.set_state(resume["generator_state"])
        step, loop = resume["step"], {**loop, **resume["loop"]}
    network: nn.Module = model
    if world > 1:
        network = nn.parallel.DistributedDataParallel(model)

    device_name = (torch.cuda.get_device_name(device) if device.type == "cuda"
                   else f"cpu x {torch.get_num_threads()} threads")

    def metadata(stopped: str = "") -> dict[str, Any]:
        return policy_metadata(config, facts, {
            "steps": step, "epochs": loop["epochs"], "wall_s": round(loop["wall_s"], 1), "command": command,
            "world_size": world, "device": device_name, "torch": torch.__version__,
            "best_val_loss": loop["best_val_loss"], "stopped": stopped,
            "parameters": {"total": parameter_count(model), "encoder": parameter_count(model.encoder),
                           "unet": parameter_count(model.unet)},
            "train_windows": len(train_data)})

    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
    log = _Log(run_dir / LOG_FILE, step if resume else None, train.tensorboard) if rank == 0 else None
    from tqdm import tqdm

    bar = tqdm(total=train.max_steps, initial=step, disable=not progress or rank != 0, unit="step", desc="train",
               dynamic_ncols=True)
    session_start, last_log = time.monotonic(), time.monotonic()
    wall_before = loop["wall_s"]

    def checkpoint() -> None:
        loop["wall_s"] = wall_before + time.monotonic() - session_start
        if rank == 0:
            save_training_checkpoint(run_dir, step, metadata=metadata(), normalizer=normalizer,
                                     model=model.state_dict(), ema=ema.model.state_dict(),
                                     optimizer=optimizer.state_dict(), generator_state=generator.get_state(),
                                     loop=loop, keep=train.keep_checkpoints)

    stopped = ""
    model.train()
    while not stopped:
        epoch, position = divmod(step, steps_per_epoch)
        order = np.random.default_rng([train.seed, epoch]).permutation(len(train_data))
        indices = order[position * train.batch_size : (position + 1) * train.batch_size]
        mine = indices[rank * local : (rank + 1) * local]
        noise, timesteps, crops = _random_draws(generator, config, model.image_keys, train.batch_size,
                                                model.action_dim)
        part = slice(rank * local, (rank + 1) * local)
        batch = _to_torch(train_data.batch(mine.tolist()), device)
        for param_group in optimizer.param_groups:
            param_group["lr"] = learning_rate(step, train.lr, train.warmup_steps, train.max_steps)
        loss = network(batch, noise[part].to(device), timesteps[part].to(device),
                       {k: v[part] for k, v in crops.items()})
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        ema.update(model, step)
        loss_value = float(_all_mean(loss.detach(), world))
        loop["loss_sum"] += loss_value
        loop["loss_count"] += 1
        bar.update(1)
        if on_step is not None:
            on_step(step, loss_value)
        row: dict[str, Any] = {}
        if step % train.log_every == 0:
            now = time.monotonic()
            row = {"loss": f"{loop['loss_sum'] / loop['loss_count']:.6g}",
                   "samples_per_s": f"{train.log_every * train.batch_size / max(now - last_log, 1e-9):.1f}"}
            loop["loss_sum"], loop["loss_count"], last_log = 0.0, 0, now
            bar.set_postfix(loss=row["loss"])
        if step % steps_per_epoch == 0:
            loop["epochs"] += 1
            if val_data is not None:
                val = _validation_loss(ema.model, val_data, config, device)
                row["val_loss"] = f"{val:.6g}"
                if loop["best_val_loss"] is None or val < loop["best_val_loss"]:
                    loop["best_val_loss"], loop["bad_epochs"] = val, 0
                else:
                    loop["bad_epochs"] += 1
                bar.set_postfix(loss=row.get("loss", ""), val=row["val_loss"])
            if train.patience and loop["bad_epochs"] >= train.patience:
                stopped = "early_stopping"
            elif train.max_epochs and loop["epochs"] >= train.max_epochs:
                stopped = "max_epochs"
        if row and log is not None:
            row.update(step=step, epoch=loop["epochs"], lr=f"{optimizer.param_groups[0]['lr']:.6g}",
                       elapsed_s=f"{wall_before + time.monotonic() - session_start:.1f}")
            log.write(row)
        if step >= train.max_steps:
            stopped = stopped or "max_steps"
        if train.max_minutes and step % train.log_every == 0:
            over = wall_before + time.monotonic() - session_start > 60.0 * train.max_minutes
            if _agree(over, world):
                stopped = stopped or "max_minutes"
        if step % train.checkpoint_every == 0 or stopped:
            checkpoint()
    bar.close()
    loop["wall_s"] = wall_before + time.monotonic() - session_start
    if rank == 0:
        write_policy(run_dir, metadata(stopped), normalizer, ema.model.state_dict(), MODEL_FILE)
        assert log is not None
        log.close()
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    best = float("nan") if loop["best_val_loss"] is None else float(loop["best_val_loss"])
    return TrainResult(run_dir, step, loop["epochs"], best, stopped, loop["wall_s"])

