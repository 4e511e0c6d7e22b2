"""Joint vectors (Allegro order) to and from the driver's messages, mapped by joint name via the config."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dexsim.hand import NUM_JOINTS
from dexsim.real.config import COMMAND_FLOAT64_ARRAY, HardwareConfig

__all__ = ["read_joint_state", "fill_joint_state", "fill_command", "read_command", "stamp_header"]


def _named_values(names: list[str], values: Any, field: str, index: dict[str, int]) -> NDArray[np.float64]:
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(names),):
        raise ValueError(f"JointState.{field} has {values.size} values for {len(names)} names")
    out = np.full(NUM_JOINTS, np.nan)
    for name, value in zip(names, values, strict=True):
        i = index.get(name)
        if i is not None:
            out[i] = value
    missing = np.isnan(out)
    if missing.any():
        wanted = [name for name, i in index.items() if missing[i]]
        raise ValueError(f"JointState.{field} lacks joints {wanted}")
    return out


def read_joint_state(message: Any, config: HardwareConfig) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(positions rad, efforts N m)`` in Allegro order from a driver ``JointState`` (extra joints ignored).

    An empty ``effort`` field reads as zeros. Raises ``ValueError`` if a configured joint is missing or
    the arrays do not match the names.
    """
    names = [str(name) for name in message.name]
    index = config.driver_to_allegro
    positions = _named_values(names, message.position, "position", index)
    efforts = (
        _named_values(names, message.effort, "effort", index) if len(message.effort) else np.zeros(NUM_JOINTS)
    )
    return positions, efforts


def fill_joint_state(
    message: Any,
    config: HardwareConfig,
    positions: NDArray[np.floating],
    velocities: NDArray[np.floating] | None = None,
    efforts: NDArray[np.floating] | None = None,
) -> Any:
    """Fill a ``JointState`` with Allegro-ordered vectors under the driver's names (stamped now)."""
    order = list(config.joint_names.values())
    stamp_header(message)
    message.name = order
    message.position = [float(v) for v in positions]
    message.velocity = [float(v) for v in velocities] if velocities is not None else []
    message.effort = [float(v) for v in efforts] if efforts is not None else []
    return message


def stamp_header(message: Any) -> Any:
    """Stamp ``message.header`` with the current wall-clock time; returns the message."""
    ns = time.time_ns()
    message.header.stamp.sec, message.header.stamp.nanosec = ns // 1_000_000_000, ns % 1_000_000_000
    return message


def fill_command(message: Any, config: HardwareConfig, targets: NDArray[np.floating]) -> Any:
    """Fill the configured command message with absolute targets (rad, Allegro order)."""
    targets = np.asarray(targets, dtype=np.float64)
    if config.command_type == COMMAND_FLOAT64_ARRAY:
        index = config.driver_to_allegro
        message.data = [float(targets[index[name]]) for name in config.command_joint_order]
        return message
    return fill_joint_state(message, config, targets)


def read_command(message: Any, config: HardwareConfig) -> NDArray[np.float64]:
    """Absolute targets (rad, Allegro order) from a command message; ``ValueError`` if malformed."""
    if config.command_type == COMMAND_FLOAT64_ARRAY:
        data = np.asarray(message.data, dtype=np.float64)
        if data.shape != (len(config.command_joint_order),):
            raise ValueError(f"command has {data.size} values, expected {len(config.command_joint_order)}")
        index = config.driver_to_allegro
        targets = np.empty(NUM_JOINTS)
        for name, value in zip(config.command_joint_order, data, strict=True):
            targets[index[name]] = value
    else:
        targets = read_joint_state(message, config)[0]
    if not np.all(np.isfinite(targets)):
        raise ValueError("command has non-finite values")
    return targets
