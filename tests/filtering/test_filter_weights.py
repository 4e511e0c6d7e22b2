"""Encoder weights (dexsim.filtering.weights) and the feature cache (dexsim.filtering.cache)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_dataset
from safetensors.torch import save_file

from dexsim.data import DatasetStore
from dexsim.filtering._torch import import_timm
from dexsim.filtering.cache import FeatureCache
from dexsim.filtering.features import ImageEncoder
from dexsim.filtering.weights import WeightsError, build_encoder

FRAMES = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def random_convnext() -> ImageEncoder:
    return ImageEncoder("convnext_tiny", "random", seed=5, input_size=64, batch_size=2)


def test_random_init_is_seeded_and_announced(random_convnext):
    again = ImageEncoder("convnext_tiny", "random", seed=5, input_size=64)
    other = ImageEncoder("convnext_tiny", "random", seed=6, input_size=64)
    features = random_convnext.encode(FRAMES)
    assert features.shape == (3, 768) and features.dtype == np.float32
    np.testing.assert_allclose(features, again.encode(FRAMES), rtol=1e-4, atol=1e-5)  # other batch size
    assert not np.allclose(features, other.encode(FRAMES))
    assert random_convnext.weights_info.is_random and "RANDOM-INIT" in random_convnext.weights_info.describe()


def test_timm_safetensors_and_wrapped_pth_round_trip(random_convnext, tmp_path):
    state = {k: v.contiguous() for k, v in random_convnext.model.state_dict().items()}
    save_file(state, str(tmp_path / "convnext.safetensors"))
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "convnext.pth")
    expected = random_convnext.encode(FRAMES)
    for name in ("convnext.safetensors", "convnext.pth"):
        loaded = ImageEncoder("convnext_tiny", str(tmp_path / name), seed=0, input_size=64)
        assert not loaded.weights_info.is_random and loaded.weights_info.layout == "timm"
        assert loaded.weights_info.source == str(tmp_path / name) and len(loaded.weights_info.sha256) == 64
        np.testing.assert_allclose(loaded.encode(FRAMES), expected, rtol=1e-4, atol=1e-5)


def test_torchvision_convnext_layout_gives_torchvision_features(tmp_path):
    import_timm()  # keeps triton out when a MuJoCo/EGL test ran earlier in this process
    import torchvision

    torch.manual_seed(1)
    reference = torchvision.models.convnext_tiny().eval()
    torch.save(reference.state_dict(), tmp_path / "convnext_tiny-tv.pth")
    model, info = build_encoder("convnext_tiny", str(tmp_path / "convnext_tiny-tv.pth"))
    assert info.layout == "torchvision"
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        ours = model(x)
        theirs = reference.classifier[:2](reference.avgpool(reference.features(x)))
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_missing_and_mismatched_weights_name_the_file_and_keys(random_convnext, tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        build_encoder("convnext_tiny", str(tmp_path / "nope.pth"))
    resnet, _ = build_encoder("resnet18", "random")
    save_file({k: v.contiguous() for k, v in resnet.state_dict().items()}, str(tmp_path / "resnet.safetensors"))
    wrong_model = r"resnet\.safetensors.*missing keys: head\.norm\.bias.*unexpected keys: bn1\.bias"
    with pytest.raises(WeightsError, match=wrong_model):
        build_encoder("convnext_tiny", str(tmp_path / "resnet.safetensors"))
    state = dict(random_convnext.model.state_dict())
    state["stem.0.weight"] = torch.zeros(8, 3, 4, 4)
    state.pop("head.norm.bias")
    torch.save(state, tmp_path / "bad.pth")
    bad = r"bad\.pth.*missing keys: head\.norm\.bias.*shape mismatches: stem\.0\.weight"
    with pytest.raises(WeightsError, match=bad):
        build_encoder("convnext_tiny", str(tmp_path / "bad.pth"))
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file")
    with pytest.raises(WeightsError, match="junk.safetensors"):
        build_encoder("convnext_tiny", str(tmp_path / "junk.safetensors"))


def test_feature_cache_is_invalidated_by_episode_stride_and_weights(tmp_path: Path):
    store = make_dataset(tmp_path / "ds", ["clean"], length=10)
    cache = FeatureCache(tmp_path / "cache")
    calls = []

    def compute(value: float):
        def run():
            calls.append(value)
            return np.arange(3), np.full((3, 4), value, dtype=np.float32)
        return run

    def get(settings, value=1.0, store=store):
        return cache.get_or_compute(store.episode(0), "top", settings, compute(value))

    get({"stride": 5, "weights": "a"})
    frames, features = get({"stride": 5, "weights": "a"}, value=2.0)
    assert calls == [1.0] and cache.hits == 1 and features[0, 0] == 1.0 and frames.tolist() == [0, 1, 2]
    get({"stride": 4, "weights": "a"}, value=3.0)  # stride changed
    get({"stride": 4, "weights": "b"}, value=4.0)  # weights changed
    assert calls == [1.0, 3.0, 4.0]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1  # stale entries of the episode/camera removed
    # the episode is re-recorded: same id, new recording
    import shutil

    shutil.rmtree(store.episodes_dir / "episode_000000.zarr")
    make_dataset(tmp_path / "ds", ["clean"], length=12)
    store = DatasetStore.open(tmp_path / "ds")
    assert store.episode_ids() == [0]
    get({"stride": 4, "weights": "b"}, value=5.0, store=store)
    assert calls == [1.0, 3.0, 4.0, 5.0]
    get({"stride": 4, "weights": "b"}, value=6.0, store=store)
    assert calls == [1.0, 3.0, 4.0, 5.0]
