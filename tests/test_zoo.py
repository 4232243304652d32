"""The model zoo: real offline ImageNet weights, heads, groups, and every loading error."""

from __future__ import annotations

import dataclasses
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data as skdata

from tlworkbench import zoo
from tlworkbench.errors import (
    CorruptFileError,
    IncompatibleWeightsError,
    MissingAssetError,
    NoWeightsError,
    UnknownModelError,
)
from tlworkbench.weights import atomic_write_bytes, save_state_dict

CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def lite0():
    return zoo.load_model("efficientnet_lite0")


def _predict(model, image: np.ndarray) -> str:
    x = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        logits = model(model.transforms(x))
    return model.class_names[int(logits.argmax())]


def test_imagenet_weights_classify_real_photos_offline(lite0):
    assert _predict(lite0, skdata.chelsea()) in CAT_CLASSES
    assert _predict(lite0, skdata.coffee()) == "espresso"


def test_groups_run_from_input_to_head(lite0):
    names = list(lite0.groups)
    assert names[0] == "stem" and names[-2:] == ["top", "head"]
    assert sum(p.numel() for g in lite0.groups.values() for p in g.parameters()) == \
        sum(p.numel() for p in lite0.parameters())
    x = torch.zeros(2, 3, 64, 64)
    with torch.no_grad():
        assert lite0.features(x).shape == (2, 1280)
        assert lite0.features(x, depth="stage3").shape == (2, 40)


def test_head_replacement_changes_the_architecture_only_at_the_top():
    imagenet = zoo.load_model("efficientnet_lite0")
    new = zoo.load_model("efficientnet_lite0", num_classes=7, seed=0)
    assert imagenet.num_classes == 1000 and new.num_classes == 7
    for (ka, va), (kb, vb) in zip(imagenet.backbone.state_dict().items(), new.backbone.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    again = zoo.load_model("efficientnet_lite0", num_classes=7, seed=0)
    assert torch.equal(new.head[1].weight, again.head[1].weight)


@pytest.mark.parametrize("name", ["small_cnn", "small_resnet"])
def test_small_models_read_grayscale(name):
    model = zoo.load_model(name, num_classes=10)
    assert model.transforms.channels == 1 and model.transforms.size == 32
    out = model(model.transforms(torch.zeros(3, 1, 28, 28, dtype=torch.uint8)))
    assert out.shape == (3, 10)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny", "vit_b_16"])
def test_torchvision_backbones_have_groups_and_a_replaceable_head(name):
    model = zoo.load_model(name, weights=None, num_classes=4)
    assert len(model.groups) >= 5 and list(model.groups)[-1] == "head"
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 4)


def test_list_models_table():
    table = zoo.list_models()
    assert {"name", "modality", "source", "params", "input_size", "offline", "licence"} <= set(table.columns)
    row = table.set_index("name").loc["efficientnet_lite0"]
    assert bool(row["offline"]) and row["params"] > 3_000_000
    assert {"resnet18", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
            "convnext_tiny", "vit_b_16", "minilm", "minilm_sre", "small_cnn"} <= set(table["name"])


def test_unknown_model_suggests_the_closest_name():
    with pytest.raises(UnknownModelError, match="Did you mean 'resnet18'"):
        zoo.load_model("resnet19")
    with pytest.raises(ValueError):  # the documented built-in base
        zoo.load_model("resnet19")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_num_classes_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="num_classes"):
        zoo.load_model("small_cnn", num_classes=bad)


def test_pretrained_weights_asked_for_a_model_without_them():
    with pytest.raises(NoWeightsError, match="tlw:"):
        zoo.load_model("small_cnn", weights="pretrained")


def test_missing_torchvision_weights_name_file_url_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingAssetError) as err:
        zoo.load_model("resnet18", profile="quick")
    msg = str(err.value)
    assert "resnet18-" in msg and "https://download.pytorch.org" in msg and str(tmp_path) in msg


def _with_weights_file(monkeypatch, name: str, path: Path) -> None:
    spec = zoo.get_spec(name)
    monkeypatch.setitem(zoo._REGISTRY, name, dataclasses.replace(spec, weights_file=lambda: path))


def test_truncated_weight_file_is_reported_as_corrupt(tmp_path, monkeypatch):
    good = zoo.get_spec("efficientnet_lite0").weights_file()
    bad = tmp_path / good.name
    bad.write_bytes(good.read_bytes()[:100_000])
    _with_weights_file(monkeypatch, "efficientnet_lite0", bad)
    with pytest.raises(CorruptFileError, match="sha256"):
        zoo.load_model("efficientnet_lite0")


def test_unreadable_file_without_a_recorded_digest_is_corrupt(tmp_path):
    path = tmp_path / "w.pt"
    path.write_bytes(b"not a state dict")
    with pytest.raises(CorruptFileError, match="cannot be read"):
        zoo.load_model("small_cnn", weights=str(path))


def test_state_dict_that_does_not_fit_the_architecture(tmp_path):
    other = zoo.load_model("small_resnet", num_classes=10)
    path = tmp_path / "resnet.pt"
    save_state_dict(other.state_dict(), path)
    with pytest.raises(IncompatibleWeightsError, match="do not fit"):
        zoo.load_model("small_cnn", weights=str(path))


def test_saved_weights_round_trip_and_a_changed_file_is_caught(tmp_path):
    model = zoo.load_model("small_cnn", num_classes=10, seed=1)
    path = tmp_path / "cnn.pt"
    save_state_dict(model.state_dict(), path)
    loaded = zoo.load_model("small_cnn", weights=str(path))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError):
        zoo.load_model("small_cnn", weights=str(path))


def test_atomic_write_leaves_no_half_written_file(tmp_path):
    target = tmp_path / "cache" / "file.bin"
    with pytest.raises(TypeError):
        atomic_write_bytes(target, object())  # type: ignore[arg-type]
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_text_encoder_loads_offline():
    model = zoo.load_model("minilm", num_classes=3)
    batch = model.transforms(["the server is down", "a recipe for bread"])
    with torch.no_grad():
        feats = model.features(batch)
    assert feats.shape == (2, 384)
    assert list(model.groups)[:2] == ["embeddings", "layer1"]


def test_network_is_blocked_inside_tests():
    with pytest.raises(Exception, match="(?i)blocked|allowed"):
        urllib.request.urlopen("http://93.184.216.34", timeout=2)
