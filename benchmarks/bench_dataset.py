"""Dataset store benchmark: write speed, size on disk per hour, window-read throughput.

Frames come from real ``AllegroUnscrew-sim`` renders (scripted expert, default 96 px, 20 Hz, two cameras), then
are replayed into the recorder so the store is timed without the physics. Side by side in the same run:

- write: our journal + finalize vs. appending each frame straight into zarr arrays (the naive design);
  also with ``fsync`` per frame;
- size: lossless zstd zarr vs. raw bytes vs. the LeRobot (AV1 mp4) export; and with simulated sensor noise
  (real cameras compress worse than clean renders);
- windows: ``WindowDataset`` lazy (images read per window) vs. in-memory images.

Run: ``MUJOCO_GL=egl python benchmarks/bench_dataset.py [--episodes 3]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import zarr

from dexsim.data import DatasetStore, EpisodeMetadata, FrameSchema, Recorder, WindowConfig, WindowDataset
from dexsim.data.lerobot import LeRobotExportConfig, export_lerobot
from dexsim.sim.config import SimConfig
from dexsim.sim.env import AllegroUnscrewSimEnv
from dexsim.sim.expert import UnscrewExpert

Frame = tuple[dict[str, np.ndarray], np.ndarray]


def render_episodes(config: SimConfig, episodes: int) -> list[list[Frame]]:
    """Real observations and expert actions from the twin."""
    env = AllegroUnscrewSimEnv(config=config)
    expert = UnscrewExpert(env)
    result = []
    try:
        for seed in range(episodes):
            obs, info = env.reset(seed=seed)
            expert.reset(seed)
            frames: list[Frame] = []
            while True:
                action = expert.act(obs, info)
                frames.append(({k: v.copy() for k, v in obs.items()}, action))
                obs, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            result.append(frames)
    finally:
        env.close()
    return result


def disk_bytes(path: Path) -> int:
    return sum(os.path.getsize(Path(d) / f) for d, _, fs in os.walk(path) for f in fs)


def write_ours(root: Path, config: SimConfig, episodes: list[list[Frame]], fsync: bool) -> tuple[float, float]:
    """Seconds spent in add() and in stop() (finalize) over all episodes."""
    recorder = Recorder(DatasetStore.create(root, FrameSchema.from_config(config)), config, fsync_every_frame=fsync)
    t_add = t_stop = 0.0
    for frames in episodes:
        recorder.start(EpisodeMetadata(operator="bench"))
        t0 = time.perf_counter()
        for obs, action in frames:
            recorder.add(obs, action)
        t1 = time.perf_counter()
        recorder.stop(success=True)
        t_add += t1 - t0
        t_stop += time.perf_counter() - t1
    return t_add, t_stop


def write_naive_zarr(root: Path, episodes: list[list[Frame]]) -> float:
    """Append every frame to resizable zarr arrays (one chunk per frame for images) as it arrives."""
    t0 = time.perf_counter()
    for index, frames in enumerate(episodes):
        group = zarr.open_group(root / f"episode_{index}.zarr", mode="w")
        arrays: dict[str, Any] = {}
        for obs, action in frames:
            values = {**obs, "action": action}
            for key, value in values.items():
                value = np.asarray(value)
                if key not in arrays:
                    chunks = (1, *value.shape) if value.ndim == 3 else (256, *value.shape)
                    arrays[key] = group.create_array(key, shape=(0, *value.shape), dtype=value.dtype, chunks=chunks)
                array = arrays[key]
                array.resize((array.shape[0] + 1, *value.shape))
                array[-1] = value
    return time.perf_counter() - t0


def add_sensor_noise(episodes: list[list[Frame]], sigma: float, seed: int = 0) -> list[list[Frame]]:
    rng = np.random.default_rng(seed)
    noisy = []
    for frames in episodes:
        out = []
        for obs, action in frames:
            obs = dict(obs)
            for key in ("top_image", "wrist_image"):
                if key in obs:
                    obs[key] = np.clip(obs[key] + rng.normal(0, sigma, obs[key].shape), 0, 255).astype(np.uint8)
            out.append((obs, action))
        noisy.append(out)
    return noisy


def windows_per_second(dataset: WindowDataset, count: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, len(dataset), count)
    dataset[int(indices[0])]  # open arrays / fill caches outside the timing
    t0 = time.perf_counter()
    for i in indices:
        dataset[int(i)]
    return count / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3, help="expert episodes to render (default 3)")
    parser.add_argument("--windows", type=int, default=2000, help="windows to read per reader (default 2000)")
    args = parser.parse_args()
    config = SimConfig()  # defaults: 96 px, 20 Hz, top + wrist
    t0 = time.perf_counter()
    episodes = render_episodes(config, args.episodes)
    frames = sum(len(e) for e in episodes)
    print(f"rendered {args.episodes} expert episodes, {frames} frames ({config.image_size} px, "
          f"{config.control_hz:g} Hz, cameras {config.cameras}) in {time.perf_counter() - t0:.1f} s")
    frames_per_hour = 3600 * config.control_hz
    raw_per_frame = sum(np.asarray(v).nbytes for v in episodes[0][0][0].values()) + 16 * 4 * 2 + 8 * 2 + 4

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        # ---------------------------------------------------------------------------------------- write
        t_add, t_stop = write_ours(tmp_path / "ours", config, episodes, fsync=False)
        t_add_sync, t_stop_sync = write_ours(tmp_path / "ours_fsync", config, episodes, fsync=True)
        t_naive = write_naive_zarr(tmp_path / "naive", episodes)
        ours = frames / (t_add + t_stop)
        print("\nwrite speed (frames/s, two 96 px cameras; real time needs 20)")
        print(f"  recorder add() (journal, flushed per frame):  {frames / t_add:9.0f}")
        print(f"  finalize (zstd zarr + fsync + rename):        {frames / t_stop:9.0f}")
        print(f"  ours, add + finalize:                          {ours:9.0f}")
        print(f"  ours with fsync every frame:                   {frames / (t_add_sync + t_stop_sync):9.0f}")
        print(f"  naive per-frame zarr append:                   {frames / t_naive:9.0f}")
        print(f"  ratio ours / naive:                            {ours / (frames / t_naive):9.1f}x")

        # ---------------------------------------------------------------------------------------- size
        store = DatasetStore.open(tmp_path / "ours")
        ours_bytes = disk_bytes(store.episodes_dir)
        export_lerobot(store, tmp_path / "lerobot", config=LeRobotExportConfig())
        lerobot_bytes = disk_bytes(tmp_path / "lerobot")
        noisy = add_sensor_noise(episodes, sigma=3.0)
        write_ours(tmp_path / "noisy", config, noisy, fsync=False)
        noisy_bytes = disk_bytes(tmp_path / "noisy" / "episodes")
        gb_hour = lambda total: total / frames * frames_per_hour / 1e9  # noqa: E731
        print(f"\nsize on disk per hour of demos ({config.image_size} px, {config.control_hz:g} Hz, two cameras)")
        print(f"  raw (uncompressed):                 {raw_per_frame * frames_per_hour / 1e9:6.2f} GB/h")
        print(f"  ours, lossless zstd (sim renders):  {gb_hour(ours_bytes):6.2f} GB/h "
              f"({raw_per_frame * frames / ours_bytes:.1f}x smaller than raw)")
        print(f"  ours, renders + sensor noise s=3:   {gb_hour(noisy_bytes):6.2f} GB/h")
        print(f"  LeRobot export (AV1 crf 30, lossy): {gb_hour(lerobot_bytes):6.2f} GB/h "
              f"(ours / lerobot = {ours_bytes / lerobot_bytes:.1f}x)")

        # ---------------------------------------------------------------------------------------- windows
        window_config = WindowConfig()  # horizon 16, 2 obs steps, both cameras, joints, efforts
        lazy = WindowDataset(store, window_config, images="lazy")
        memory = WindowDataset(store, window_config, images="memory")
        for i in range(0, len(memory), 50):
            memory[i]  # decode every episode once
        lazy_rate = windows_per_second(lazy, args.windows)
        memory_rate = windows_per_second(memory, args.windows * 10)
        low_dim = WindowDataset(store, WindowConfig(obs_keys=("joint_positions", "joint_efforts")))
        low_rate = windows_per_second(low_dim, args.windows * 10)
        print(f"\nwindow reads (horizon 16, 2 obs steps), {len(lazy)} windows over {len(store)} episodes, 1 process")
        print(f"  lazy images (read from disk per window): {lazy_rate:9.0f} windows/s")
        print(f"  images decoded in memory:                {memory_rate:9.0f} windows/s "
              f"({memory_rate / lazy_rate:.1f}x lazy)")
        print(f"  low-dim only:                            {low_rate:9.0f} windows/s")
        print(f"  a batch of 64 (lazy): {64 / lazy_rate * 1e3:.0f} ms; (memory): {64 / memory_rate * 1e3:.1f} ms")
        shutil.rmtree(tmp_path, ignore_errors=True)


if __name__ == "__main__":
    main()
