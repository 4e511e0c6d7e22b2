"""Policy files without pickles: weights as safetensors, configuration and metadata as JSON.

A finished run directory (and ``policies/pretrained/<name>/``)::

    model.safetensors   EMA weights                      config.json   format, policy config, dataset facts
    stats.json          normalisation statistics          train_log.csv (runs only)

A resumable checkpoint (``RUN_DIR/checkpoints/step_00001000/``) adds the training weights, the optimiser state
(tensors in ``optimizer.safetensors``, the rest in ``state.json``), the random generator state and the loop
position, and holds its own ``config.json`` / ``stats.json`` so it loads on its own.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Final

import torch
from safetensors.torch import load_file, save_file

from dexsim.policy.configuration import POLICY_FORMAT, POLICY_FORMAT_VERSION, PolicyConfig
from dexsim.policy.modeling import DiffusionPolicy
from dexsim.policy.normalize import Normalizer

__all__ = [
    "CONFIG_FILE",
    "STATS_FILE",
    "MODEL_FILE",
    "EMA_FILE",
    "CHECKPOINTS_DIR",
    "policy_metadata",
    "write_policy",
    "read_policy_metadata",
    "resolve_policy_path",
    "load_policy",
    "save_training_checkpoint",
    "load_training_checkpoint",
    "list_checkpoints",
    "optimizer_to_tensors",
    "optimizer_from_tensors",
]

CONFIG_FILE: Final = "config.json"
STATS_FILE: Final = "stats.json"
MODEL_FILE: Final = "model.safetensors"
EMA_FILE: Final = "ema.safetensors"
TRAIN_WEIGHTS_FILE: Final = "train_model.safetensors"
OPTIMIZER_FILE: Final = "optimizer.safetensors"
STATE_FILE: Final = "state.json"
CHECKPOINTS_DIR: Final = "checkpoints"
_STEP_PREFIX: Final = "step_"


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def policy_metadata(config: PolicyConfig, dataset: dict[str, Any], training: dict[str, Any]) -> dict[str, Any]:
    """The content of ``config.json``: format marker, the full policy config, dataset and training facts."""
    return {"format": POLICY_FORMAT, "version": POLICY_FORMAT_VERSION, "config": config.to_dict(),
            "dataset": dataset, "training": training}


def write_policy(directory: Path, metadata: dict[str, Any], normalizer: Normalizer,
                 weights: dict[str, torch.Tensor], weights_name: str = MODEL_FILE) -> None:
    """Write weights + ``config.json`` + ``stats.json`` into ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    normalizer.save(directory / STATS_FILE)
    _write_json(directory / CONFIG_FILE, metadata)
    tmp = directory / f".{weights_name}.tmp"
    save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp),
              metadata={"format": POLICY_FORMAT})
    os.replace(tmp, directory / weights_name)


def read_policy_metadata(directory: Path) -> dict[str, Any]:
    """Parse and check ``directory/config.json``.

    Raises:
        FileNotFoundError: It does not exist. ValueError: Not a dexsim policy config (names the file).
    """
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"policy config {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != POLICY_FORMAT:
        raise ValueError(f"{path}: not a dexsim diffusion-policy config (field 'format')")
    if int(data.get("version", 0)) > POLICY_FORMAT_VERSION:
        raise ValueError(f"{path}: format version {data.get('version')} is newer than this dexsim supports")
    for field in ("config", "dataset"):
        if not isinstance(data.get(field), dict):
            raise ValueError(f"{path}: field {field!r} is missing")
    return data


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete resumable checkpoints of a run, oldest first."""
    folder = Path(run_dir) / CHECKPOINTS_DIR
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.name.startswith(_STEP_PREFIX) and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(p.name[len(_STEP_PREFIX):]))


def resolve_policy_path(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(directory with config.json/stats.json, weights file) of a run dir, checkpoint dir or weights file.

    A run dir that has not finished yet resolves to its latest checkpoint's EMA weights.

    Raises:
        FileNotFoundError: Nothing loadable there (names what was looked for).
    """
    path = Path(path)
    if path.is_file():
        return path.parent, path
    if not path.is_dir():
        raise FileNotFoundError(f"policy {path} does not exist")
    for name in (MODEL_FILE, EMA_FILE):
        if (path / name).is_file():
            return path, path / name
    checkpoints = list_checkpoints(path)
    if checkpoints:
        return checkpoints[-1], checkpoints[-1] / EMA_FILE
    raise FileNotFoundError(f"policy {path}: no {MODEL_FILE}, {EMA_FILE} or {CHECKPOINTS_DIR}/ with a checkpoint")


def load_policy(path: str | os.PathLike[str], device: str | torch.device = "cpu"
                ) -> tuple[DiffusionPolicy, dict[str, Any]]:
    """Rebuild a policy from its files; returns (policy in eval mode on ``device``, config.json content).

    Raises:
        FileNotFoundError: A file is missing (named). ValueError: The files do not fit together (named).
    """
    directory, weights_path = resolve_policy_path(path)
    metadata = read_policy_metadata(directory)
    config = PolicyConfig.from_dict(metadata["config"], str(directory / CONFIG_FILE))
    normalizer = Normalizer.load(directory / STATS_FILE)
    try:
        policy = DiffusionPolicy(config, normalizer)
    except ValueError as exc:
        raise ValueError(f"{directory / STATS_FILE}: {exc}") from None
    try:
        weights = load_file(str(weights_path))
    except Exception as exc:  # safetensors raises its own error types for truncated/foreign files
        raise ValueError(f"{weights_path}: unreadable safetensors file: {exc}") from None
    expected = policy.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = sorted(k for k in set(expected) & set(weights) if expected[k].shape != weights[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(part for part in (
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}" if missing else "",
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}" if unexpected else "",
            f"shape mismatch {[(k, tuple(weights[k].shape), tuple(expected[k].shape)) for k in wrong[:3]]}"
            if wrong else "") if part)
        raise ValueError(f"{weights_path} does not fit the configuration in {directory / CONFIG_FILE}: {detail}")
    policy.load_state_dict(weights)
    return policy.to(device).eval(), metadata


# ----------------------------------------------------------------------------------- optimiser state
def optimizer_to_tensors(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors (``state.<param>.<name>``) and a JSON-friendly rest."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_tensors(tensors: dict[str, torch.Tensor], rest: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`optimizer_to_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for index, values in rest.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": rest["param_groups"]}


# ----------------------------------------------------------------------------------- training state
def save_training_checkpoint(run_dir: Path, step: int, *, metadata: dict[str, Any], normalizer: Normalizer,
                             model: dict[str, torch.Tensor], ema: dict[str, torch.Tensor],
                             optimizer: dict[str, Any], generator_state: torch.Tensor, loop: dict[str, Any],
                             keep: int) -> Path:
    """Write ``checkpoints/step_<step>/`` atomically (built beside, then renamed) and prune old ones."""
    folder = Path(run_dir) / CHECKPOINTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{_STEP_PREFIX}{step:08d}"
    build = folder / f".build-{step:08d}"
    shutil.rmtree(build, ignore_errors=True)
    write_policy(build, metadata, normalizer, ema, EMA_FILE)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.items()}, str(build / TRAIN_WEIGHTS_FILE))
    tensors, rest = optimizer_to_tensors(optimizer)
    tensors["rng.generator"] = generator_state.cpu()
    save_file(tensors, str(build / OPTIMIZER_FILE))
    _write_json(build / STATE_FILE, {"step": step, "loop": loop, "optimizer": rest})
    shutil.rmtree(final, ignore_errors=True)
    os.replace(build, final)
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_training_checkpoint(checkpoint: Path) -> dict[str, Any]:
    """Read what :func:`save_training_checkpoint` wrote: ``step``, ``loop``, ``model``, ``ema``, ``optimizer``
    (a state dict), ``generator_state``.

    Raises:
        ValueError: A file is missing or unreadable (named).
    """
    try:
        state = json.loads((checkpoint / STATE_FILE).read_text())
        tensors = load_file(str(checkpoint / OPTIMIZER_FILE))
        generator_state = tensors.pop("rng.generator")
        return {
            "step": int(state["step"]),
            "loop": state["loop"],
            "model": load_file(str(checkpoint / TRAIN_WEIGHTS_FILE)),
            "ema": load_file(str(checkpoint / EMA_FILE)),
            "optimizer": optimizer_from_tensors(tensors, state["optimizer"]),
            "generator_state": generator_state,
        }
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"checkpoint {checkpoint} is incomplete or unreadable: {exc}") from None
