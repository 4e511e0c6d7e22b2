"""Policy configs: every file in policies/ validates and builds a model of the right shapes; bad fields are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dexsim.data.stats import stats_of
from dexsim.policy.configuration import PolicyConfig, load_policy_config, parse_override
from dexsim.policy.modeling import DiffusionPolicy
from dexsim.policy.normalize import Normalizer

POLICIES = Path(__file__).parents[2] / "policies"
PAPER_CONFIGS = ("all_inputs", "no_top_camera", "no_wrist_camera", "no_effort", "filtered_10", "filtered_25",
                 "filtered_50")
SMALL = ['model.encoder="conv"', "model.image_size=32", "model.conv_channels=[8,8]", "model.down_dims=[16,32]",
         "model.step_embed_dim=16", "diffusion.inference_steps=2"]


def _normalizer() -> Normalizer:
    rng = np.random.default_rng(0)
    keys = ("joint_positions", "joint_efforts", "joint_target", "action")
    return Normalizer.from_stats({k: stats_of(rng.normal(size=(50, 16))) for k in keys}, dict.fromkeys(keys, 0.05))


def _batch(config: PolicyConfig, batch: int) -> dict[str, torch.Tensor]:
    n_obs, size = config.horizon.n_obs_steps, config.model.image_size
    data = {k: torch.randn(batch, n_obs, 16) for k in config.inputs.low_dim}
    data.update({k: torch.randint(0, 256, (batch, n_obs, size, size, 3), dtype=torch.uint8)
                 for k in config.inputs.image_keys})
    data["action"] = torch.randn(batch, config.horizon.horizon, 16)
    return data


def test_the_papers_seven_configs_exist_with_their_inputs() -> None:
    names = {p.stem for p in POLICIES.glob("*.toml")}
    assert set(PAPER_CONFIGS) <= names
    configs = {name: load_policy_config(POLICIES / f"{name}.toml") for name in PAPER_CONFIGS}
    assert configs["all_inputs"].inputs.cameras == ("top", "wrist")
    assert configs["no_top_camera"].inputs.cameras == ("wrist",)
    assert configs["no_wrist_camera"].inputs.cameras == ("top",)
    assert configs["no_effort"].inputs.low_dim == ("joint_positions",)
    for percent in (10, 25, 50):
        assert configs[f"filtered_{percent}"].data.subset == f"outliers-removed-{percent}"
    assert all(c.policy.name == name for name, c in configs.items())


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_config_builds_a_model_with_the_right_shapes(path: Path) -> None:
    config = load_policy_config(path, SMALL)
    torch.manual_seed(0)
    policy = DiffusionPolicy(config, _normalizer())
    batch = _batch(config, 3)
    loss = policy(batch, torch.randn(3, config.horizon.horizon, 16), torch.randint(0, 100, (3,)),
                  {k: torch.zeros(3, 2, dtype=torch.long) for k in config.inputs.image_keys})
    assert loss.shape == () and torch.isfinite(loss)
    chunk = policy.sample({k: v for k, v in batch.items() if k != "action"})
    assert chunk.shape == (3, config.horizon.horizon, 16)
    expected = config.horizon.n_obs_steps * (len(config.inputs.cameras) * config.model.image_feature_dim
                                             + 16 * len(config.inputs.low_dim))
    assert policy.unet.step_encoder[1].in_features + expected == policy.unet.down[0][0].film[1].in_features


def test_paper_scale_resnet18_encoder_uses_groupnorm_and_keypoints() -> None:
    config = load_policy_config(POLICIES / "no_top_camera.toml", ["model.down_dims=[16,32]"])
    policy = DiffusionPolicy(config, _normalizer())
    encoder = policy.encoder.cameras["wrist_image"]
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in policy.modules())
    assert any(isinstance(m, torch.nn.GroupNorm) and m.num_groups == 4 for m in encoder.trunk.modules())  # 64 // 16
    features = encoder(torch.zeros(2, 3, 84, 84))
    assert features.shape == (2, 64)
    assert config.model.crop_size == 84


def test_bad_fields_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    cases = {
        '[inputs]\nlow_dim = ["joint_velocities"]\n': r"bad\.toml: \[inputs\] low_dim: unknown observation keys",
        '[inputs]\ncameras = ["side"]\n': r"\[inputs\] cameras: unknown cameras \['side'\]",
        "[model]\nencoder = 'vit'\n": r"\[model\] encoder",
        "[model]\nkeypoint = 3\n": r"\[model\] unknown fields \['keypoint'\]",
        "[modle]\n": r"unknown sections \['modle'\]",
        "[train]\nbatch_size = 'big'\n": r"\[train\] batch_size: expected int",
        "[horizon]\nhorizon = 10\n": r"\[horizon\] horizon: 10 must be divisible by 2\^2",
        "[data]\nsubset = 'a'\nepisode_ids = [1]\n": r"\[data\] subset/episode_ids",
        "[model\n": r"bad\.toml: not valid TOML",
    }
    for text, message in cases.items():
        bad.write_text(text)
        with pytest.raises(ValueError, match=message):
            load_policy_config(bad)
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        load_policy_config(tmp_path / "nope.toml")


def test_overrides_parse_toml_values_and_name_unknown_fields() -> None:
    assert parse_override("model.down_dims=[64,128,256]") == ("model", "down_dims", [64, 128, 256])
    assert parse_override("model.encoder=conv") == ("model", "encoder", "conv")
    config = PolicyConfig().with_overrides(["model.encoder=conv", "train.lr=3e-4", "inputs.cameras=[]"])
    assert (config.model.encoder, config.train.lr, config.inputs.cameras) == ("conv", 3e-4, ())
    assert config.differences(PolicyConfig()) == ["inputs.cameras", "model.encoder", "train.lr"]
    with pytest.raises(ValueError, match=r"\[train\] has no field 'steps'"):
        PolicyConfig().with_overrides(["train.steps=3"])
    with pytest.raises(ValueError, match="expected section.key=value"):
        PolicyConfig().with_overrides(["steps=3"])
    assert PolicyConfig.from_dict(config.to_dict()) == config
