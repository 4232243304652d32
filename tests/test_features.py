"""extract_features and FeatureCache: what the key depends on, memory and disk, data checks."""

from __future__ import annotations

import pytest
import torch

from tlworkbench import features, zoo
from tlworkbench import data as datasets
from tlworkbench.errors import DataError
from tlworkbench.zoo.transforms import ImageTransform


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return datasets.load_dataset("mnist", max_size=200)


def new_model(seed: int = 0, size: int = 16) -> zoo.TransferModel:
    return zoo.load_model("small_cnn", num_classes=10, image_size=size, seed=seed)


def test_features_match_the_backbone_and_come_once(data):
    model = new_model().train()
    bn = model.groups["conv1"][1]
    stats = bn.running_mean.clone()
    cache = features.FeatureCache()
    f, y = features.extract_features(model, data, cache=cache, batch_size=64, progress=False)
    assert f.shape == (200, model.feature_dim) and f.dtype == torch.float32
    assert torch.equal(y, data.targets)
    model.eval()
    x, _ = data.with_transform(model).get_batch(torch.arange(5))
    with torch.no_grad():
        torch.testing.assert_close(f[:5], model.features(x))
    model.train()
    again, _ = features.extract_features(model, data, cache=cache, progress=False)
    assert again is f and (cache.hits, cache.misses) == (1, 1)
    assert model.training and bn.training  # the mode it had is restored
    assert torch.equal(bn.running_mean, stats)


def test_the_key_follows_weights_data_transform_and_depth(data):
    model = new_model()
    key = features.FeatureCache.key
    prepared = data.with_transform(model)
    base = key(model, prepared)
    assert key(model, prepared) == base
    assert key(new_model(seed=1), prepared) != base  # other weights
    assert key(model, prepared.subset(range(100))) != base  # other data
    assert key(model, data.with_transform(new_model(size=20))) != base  # other transform
    assert key(model, prepared, depth="conv2") != base
    with torch.no_grad():
        model.groups["conv1"][1].running_var.add_(1.0)  # buffers count as weights
    assert key(model, prepared) != base
    assert key(model, prepared).startswith("small_cnn-")


def test_depth_stops_after_a_group(data):
    model = new_model()
    f, _ = features.extract_features(model, data, depth="conv2", cache=False, progress=False)
    assert f.shape == (200, model.groups["conv2"][0].out_channels)
    assert model.groups["conv2"][0].out_channels != model.feature_dim


def test_disk_cache_through_the_argument_and_the_environment(data, tmp_path, monkeypatch):
    model = new_model()
    first = features.FeatureCache()
    f, _ = features.extract_features(model, data, cache=first, cache_dir=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    fresh = features.FeatureCache()
    g, y = features.extract_features(model, data, cache=fresh, cache_dir=tmp_path, progress=False)
    assert torch.equal(f, g) and (fresh.misses, fresh.disk_hits) == (0, 1)
    monkeypatch.setenv("TLW_FEATURE_CACHE", str(tmp_path))
    from_env = features.FeatureCache()
    features.extract_features(model, data, cache=from_env, progress=False)
    assert from_env.disk_hits == 1
    from_env.clear(disk=True)
    assert len(from_env) == 0 and not list(tmp_path.glob("*.pt"))


def test_memory_budget_drops_the_oldest_entries():
    cache = features.FeatureCache(max_bytes=1000)
    for i in range(3):
        cache.put(f"k{i}", torch.zeros(10, 10), torch.zeros(10, dtype=torch.long))
    assert "k2" in cache and "k0" not in cache and cache.nbytes <= 1000


def test_default_cache_is_shared():
    assert features.default_cache() is features.default_cache()
    with pytest.raises(TypeError, match="'cache'"):
        features._resolve_cache("yes")


def test_data_checks(data):
    model = new_model()
    with pytest.raises(DataError, match="empty"):
        features.extract_features(model, data.subset([]), progress=False)
    text = datasets.TextDataset(["a"], [0], ["a"])
    with pytest.raises(DataError, match="holds text"):
        features.prepare_data(model, text)
    rgb = data.with_transform(ImageTransform(16, channels=3, mean=(0.5,) * 3, std=(0.5,) * 3))
    with pytest.raises(DataError, match="3 channel.*with_transform"):
        features.prepare_data(model, rgb)
    wide = datasets.ImageDataset(data.images[:4], [0, 1, 2, 12], [str(i) for i in range(13)])
    with pytest.raises(DataError, match=r"\[0, 12\].*10 outputs.*num_classes=13"):
        features.prepare_data(model, wide)
    with pytest.raises(ValueError, match="'batch_size'"):
        features.extract_features(model, data, batch_size=0)
