"""Run a trained diffusion policy on either env: a :class:`~dexsim.interface.Controller` that keeps the observation
history, samples action chunks, executes them and re-plans.

Chunks are anchored to the observation that produced them. With absolute joint targets (the default action key)
each executed target becomes the env's delta action only at execution time, against the joint positions measured
at that tick (``target_to_action``), so nothing drifts when a chunk runs open-loop. With delta actions the
recorded deltas are sent as predicted.

Timing (all measured, see :class:`ExecutionStats`):

- synchronous (default): at a chunk boundary ``act`` blocks while the next chunk is sampled; that wall time is
  the chunk's idle time (on a real-time robot the hand holds its last target meanwhile);
- asynchronous: the next chunk is sampled in a background thread from the observation of the tick at which it
  starts, ``ceil(latency / control_dt) + margin`` ticks before the current chunk runs out (latency = the largest
  of the recent measured latencies); when it arrives, its entries for ticks that have already passed are
  dropped, so it joins the timeline where the robot is. ``act`` blocks only if a chunk is late (an idle tick).

Temporal ensembling (optional, ACT-style): every tick's target is the weighted mean of the targets all chunks
still covering that tick predicted for it, weights ``exp(-k * i)`` with ``i = 0`` for the oldest chunk.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from dexsim.interface import OBS_JOINT_POSITIONS, target_to_action
from dexsim.policy.modeling import DiffusionPolicy, make_scheduler

__all__ = ["ExecutionStats", "DiffusionPolicyExecutor"]


@dataclass
class ExecutionStats:
    """What the executor measured since the last ``reset``.

    Attributes:
        chunk_latency_s: Wall time of each chunk's sampling, s.
        idle_s: Per chunk after the first: wall time ``act`` waited for that chunk, s (sync: its whole latency).
        idle_ticks: Ticks at which ``act`` had to wait for a chunk (the first chunk not counted).
        boundary_jump_rad: Per chunk switch: max over joints of |first target of the new chunk - last target
            executed|, rad.
        step_change_rad: Max over joints of |target - previous target| at ticks inside a chunk, rad (the scale
            a boundary jump compares to).
        ticks: Calls of ``act``.
    """

    chunk_latency_s: list[float] = field(default_factory=list)
    idle_s: list[float] = field(default_factory=list)
    idle_ticks: int = 0
    boundary_jump_rad: list[float] = field(default_factory=list)
    step_change_rad: list[float] = field(default_factory=list)
    ticks: int = 0

    def summary(self) -> dict[str, float]:
        """Medians / 90th percentiles / maxima of the lists, NaN where empty."""

        def stat(values: list[float], fn: Any) -> float:
            return float(fn(values)) if values else float("nan")

        return {
            "chunks": float(len(self.chunk_latency_s)),
            "latency_median_s": stat(self.chunk_latency_s, np.median),
            "latency_p90_s": stat(self.chunk_latency_s, lambda v: np.percentile(v, 90)),
            "idle_per_chunk_s": stat(self.idle_s, np.mean),
            "idle_ticks": float(self.idle_ticks),
            "boundary_jump_median_rad": stat(self.boundary_jump_rad, np.median),
            "boundary_jump_max_rad": stat(self.boundary_jump_rad, np.max),
            "step_change_median_rad": stat(self.step_change_rad, np.median),
        }


class DiffusionPolicyExecutor:
    """The policy as a controller (``reset(seed)``, ``act(obs, info)``) for ``run_episode`` or any loop.

    Args:
        policy: A trained :class:`DiffusionPolicy` (eval mode).
        metadata: Its ``config.json`` content (dataset facts: control rate, image size, max joint delta).
        device: Where to run the model.
        inference_steps: Denoising steps per chunk (default: the config's).
        sampler: ``"ddim"``, ``"dpmsolver"`` or ``"ddpm"`` (default: the config's inference scheduler).
        temporal_ensemble: Ensembling weight ``k`` (default: the config's ``[executor]``); 0 = off.
        asynchronous: Sample the next chunk while the current one executes (default: the config's).
        latency_margin_ticks: Extra lead ticks for asynchronous inference (default: the config's).
    """

    def __init__(self, policy: DiffusionPolicy, metadata: dict[str, Any], *, device: str | torch.device = "cpu",
                 inference_steps: int | None = None, sampler: str | None = None,
                 temporal_ensemble: float | None = None, asynchronous: bool | None = None,
                 latency_margin_ticks: int | None = None) -> None:
        config = policy.config
        self.policy = policy.eval()
        self.metadata = metadata
        self.device = torch.device(device)
        self.config = config
        diffusion = config.diffusion
        self.sampler = sampler or diffusion.inference_scheduler
        self.inference_steps = int(inference_steps or (diffusion.train_steps if self.sampler == "ddpm"
                                                       else diffusion.inference_steps))
        if not 1 <= self.inference_steps <= diffusion.train_steps:
            raise ValueError(f"inference_steps must be in [1, {diffusion.train_steps}], got {self.inference_steps}")
        self.scheduler = make_scheduler(diffusion, self.sampler)
        executor = config.executor
        self.temporal_ensemble = executor.temporal_ensemble if temporal_ensemble is None else float(temporal_ensemble)
        self.asynchronous = executor.asynchronous if asynchronous is None else bool(asynchronous)
        self.latency_margin_ticks = (executor.latency_margin_ticks if latency_margin_ticks is None
                                     else int(latency_margin_ticks))
        dataset = metadata.get("dataset", {})
        self.control_hz = float(dataset.get("control_hz", 20.0))
        self.image_size = int(dataset.get("image_size", config.model.image_size))
        self.max_joint_delta = float(dataset.get("max_joint_delta", 0.8))
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.stats = ExecutionStats()
        self.reset()

    # ------------------------------------------------------------------------------------ contract
    def env_kwargs(self) -> dict[str, Any]:
        """``gym.make`` keyword arguments the policy needs: cameras, image size, control rate, delta bound."""
        return {"cameras": tuple(self.config.inputs.cameras), "image_size": self.image_size,
                "control_hz": self.control_hz, "max_joint_delta": self.max_joint_delta}

    def reset(self, seed: int | None = None) -> None:
        """Forget the history and queued chunks (waiting for an in-flight chunk); reseed the sampling noise."""
        pending = getattr(self, "_pending", None)
        if pending is not None:
            pending[2].result()
        self._generator = torch.Generator(device="cpu").manual_seed(0 if seed is None else int(seed))
        self._history: deque[dict[str, NDArray[Any]]] = deque(maxlen=self.config.horizon.n_obs_steps)
        self._tick = 0
        self._plans: list[tuple[int, NDArray[np.float64]]] = []  # (tick of its first entry, (n, A) targets)
        self._pending: tuple[int, int, Future[NDArray[np.float64]]] | None = None  # (obs tick, switch tick, chunk)
        self._next_replan = 0
        self._last_target: NDArray[np.float64] | None = None
        self._just_switched = False
        self.stats = ExecutionStats()

    def act(self, obs: dict[str, NDArray[Any]], info: dict[str, Any] | None = None) -> NDArray[np.float32]:
        """The action for this tick (16 delta joint positions, rad, or the predicted delta)."""
        self._check(obs)
        self._history.append({k: np.array(obs[k], copy=True) for k in self.policy.obs_keys})
        while len(self._history) < self._history.maxlen:  # episode start: repeat the first frame (edge padding)
            self._history.appendleft(self._history[0])
        tick = self._tick
        if self.asynchronous:
            self._act_async(tick)
        elif tick >= self._next_replan or not self._covers(tick):
            self._install(tick, self._infer(self._snapshot()), waited=None)
            self._next_replan = tick + self.config.horizon.n_action_steps
        target = self._target_at(tick)
        if self._last_target is not None and not self._just_switched:
            self.stats.step_change_rad.append(float(np.max(np.abs(target - self._last_target))))
        self._just_switched = False
        self._last_target = target
        self._tick += 1
        self.stats.ticks += 1
        if self.config.inputs.absolute_actions:
            return target_to_action(target, obs[OBS_JOINT_POSITIONS], self.max_joint_delta)
        return np.clip(target, -self.max_joint_delta, self.max_joint_delta).astype(np.float32)

    def close(self) -> None:
        """Stop the background inference thread (if any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)

    # ------------------------------------------------------------------------------------ inference
    def _check(self, obs: dict[str, NDArray[Any]]) -> None:
        for key in self.policy.obs_keys:
            if key not in obs:
                raise ValueError(f"observation lacks {key!r}, which the policy reads; make the env with "
                                 f"executor.env_kwargs() = {self.env_kwargs()}")
        for key in self.policy.image_keys:
            shape = tuple(np.shape(obs[key]))
            if shape != (self.image_size, self.image_size, 3):
                raise ValueError(f"observation {key!r} is {shape}, the policy was trained on "
                                 f"{(self.image_size, self.image_size, 3)} images")

    def _snapshot(self) -> dict[str, torch.Tensor]:
        frames = list(self._history)
        return {key: torch.from_numpy(np.stack([f[key] for f in frames])[None]).to(self.device)
                for key in self.policy.obs_keys}

    def _sample(self, obs: dict[str, torch.Tensor]) -> NDArray[np.float64]:
        """One chunk of the ticks from the newest observed frame on: (horizon - n_obs + 1, A)."""
        with self._lock:
            chunk = self.policy.sample(obs, generator=self._generator, scheduler=self.scheduler,
                                       steps=self.inference_steps)
        n_obs = self.config.horizon.n_obs_steps
        return chunk[0, n_obs - 1 :].detach().cpu().double().numpy()

    def _infer(self, obs: dict[str, torch.Tensor]) -> NDArray[np.float64]:
        """:meth:`_sample`, timed into ``stats.chunk_latency_s``."""
        start = time.perf_counter()
        plan = self._sample(obs)
        self.stats.chunk_latency_s.append(time.perf_counter() - start)
        return plan

    def _covers(self, tick: int) -> bool:
        return any(start <= tick < start + len(plan) for start, plan in self._plans)

    def _install(self, start: int, plan: NDArray[np.float64], waited: float | None) -> None:
        """Add a chunk whose first entry is for tick ``start``; record the boundary jump against what was
        executed last (the entries for ticks before now are dropped)."""
        now = self._tick
        plan = plan[max(0, now - start) :]
        start = max(start, now)
        n = self.config.horizon.n_action_steps
        keep = len(plan) if self.temporal_ensemble > 0 or self.asynchronous else n
        self._plans = [(s, p) for s, p in self._plans if s + len(p) > now] + [(start, plan[:keep])]
        if not self.temporal_ensemble:
            self._plans = self._plans[-1:]
        if self._last_target is not None and len(plan):
            self.stats.boundary_jump_rad.append(float(np.max(np.abs(plan[0] - self._last_target))))
            self._just_switched = True
            self.stats.idle_s.append(self.stats.chunk_latency_s[-1] if waited is None else waited)

    def _target_at(self, tick: int) -> NDArray[np.float64]:
        covering = [(start, plan) for start, plan in self._plans if start <= tick < start + len(plan)]
        if not covering:
            raise RuntimeError(f"no chunk covers tick {tick}")  # unreachable: act() installs one first
        if not self.temporal_ensemble or len(covering) == 1:
            start, plan = covering[-1]
            return plan[tick - start]
        weights = np.exp(-self.temporal_ensemble * np.arange(len(covering)))
        targets = np.stack([plan[tick - start] for start, plan in covering])
        return (weights[:, None] * targets).sum(axis=0) / weights.sum()

    def _act_async(self, tick: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dexsim-policy")
        pending = self._pending
        if pending is not None and pending[2].done() and (tick >= pending[1] or not self._covers(tick)):
            self._pending = None
            self._install(pending[0], pending[2].result(), waited=0.0)
        if not self._covers(tick):
            if self._last_target is not None:
                self.stats.idle_ticks += 1
            wait_start = time.perf_counter()
            while not self._covers(tick):  # a chunk later than its whole length is replaced by a fresh one
                if self._pending is None:
                    self._pending = (tick, tick, self._pool.submit(self._infer, self._snapshot()))
                start, _, future = self._pending
                self._pending = None
                plan = future.result()
                self._install(start, plan, waited=time.perf_counter() - wait_start)
        if self._pending is None:
            switch = self._plans[-1][0] + self.config.horizon.n_action_steps
            latencies = self.stats.chunk_latency_s[-5:]
            lead = math.ceil(max(latencies) * self.control_hz) + self.latency_margin_ticks if latencies else 0
            if tick >= switch - lead:
                self._pending = (tick, switch, self._pool.submit(self._infer, self._snapshot()))
