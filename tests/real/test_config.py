"""Hardware YAML profiles and their validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from dexsim.hand import JOINT_NAMES
from dexsim.real.config import (
    COMMAND_FLOAT64_ARRAY,
    COMMAND_JOINT_STATE,
    HARDWARE_DIR,
    HardwareConfig,
    load_hardware_config,
    wonik_ros2_joint_names,
)
from dexsim.real.safety import SafetyConfig


def test_the_ros2_yaml_writes_out_the_defaults_of_wonik_s_driver() -> None:
    config = load_hardware_config(HARDWARE_DIR / "allegro_ros2.yaml")
    assert config == HardwareConfig()
    assert config.state_topic == "/joint_states"
    assert config.command_topic == "/allegro_hand_position_controller/commands"
    assert config.command_type == COMMAND_FLOAT64_ARRAY
    names = wonik_ros2_joint_names()
    assert [names[f"thumb_{i}"] for i in range(4)] == ["ah_joint00", "ah_joint01", "ah_joint02", "ah_joint03"]
    assert names["index_0"] == "ah_joint10" and names["ring_3"] == "ah_joint33"
    assert config.command_joint_order[:4] == ("ah_joint00", "ah_joint01", "ah_joint02", "ah_joint03")


def test_the_classic_profile_speaks_joint_state_on_allegrohand_0() -> None:
    config = load_hardware_config("classic", domain_id=5)
    assert config.domain_id == 5
    assert config.command_topic == "/allegroHand_0/joint_cmd" and config.command_type == COMMAND_JOINT_STATE
    assert [config.joint_names[name] for name in JOINT_NAMES] == [f"joint_{i}.0" for i in range(16)]


def test_bad_files_and_fields_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.yaml"):
        load_hardware_config(tmp_path / "nowhere.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("state_topic: /x\nstate_timeout: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml: unknown keys \['state_timeout'\]"):
        load_hardware_config(bad)
    bad.write_text("safety: {max_velocity: -1}\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*max_velocity"):
        load_hardware_config(bad)
    bad.write_text("cameras: {top: {topic: /t, qos: {reliability: sometimes}}}\n")
    with pytest.raises(ValueError, match=r"bad.yaml.cameras.top.qos.*reliability"):
        load_hardware_config(bad)
    bad.write_text("state_topic: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_hardware_config(bad)


def test_joint_maps_must_cover_every_joint_once() -> None:
    names = wonik_ros2_joint_names()
    names.pop("thumb_3")
    with pytest.raises(ValueError, match=r"missing \['thumb_3'\]"):
        HardwareConfig(joint_names=names)
    names = wonik_ros2_joint_names() | {"thumb_3": "ah_joint00"}
    with pytest.raises(ValueError, match="same driver joint"):
        HardwareConfig(joint_names=names)
    with pytest.raises(ValueError, match="command_joint_order"):
        HardwareConfig(command_joint_order=("ah_joint00",))
    assert HardwareConfig(safety=SafetyConfig(non_finite="hold")).safety.non_finite == "hold"
