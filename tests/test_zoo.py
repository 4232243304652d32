"""The model zoo: real offline ImageNet weights, heads, groups, and every loading error."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import sys
import urllib.request
from functools import partial
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data as skdata

from tlworkbench import zoo
from tlworkbench.errors import (
    CorruptFileError,
    IncompatibleWeightsError,
    InvalidParameterError,
    MissingAssetError,
    NoWeightsError,
    UnknownModelError,
    UnknownNameError,
)
from tlworkbench.zoo import registry
from tlworkbench.zoo.transforms import ImageTransform
from tlworkbench.zoo.weights import atomic_write_bytes, load_state_dict, read_card, save_state_dict, sha256_file

CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def lite0():
    return zoo.load_model("efficientnet_lite0")


def _predict(model, image: np.ndarray) -> str:
    x = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        logits = model(model.transforms(x))
    return model.classes[int(logits.argmax())]


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
    monkeypatch.setitem(registry._registry(), name, dataclasses.replace(spec, weights_file=partial(Path, path)))


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


# --- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, hint", [({"num_clases": 3}, "num_classes"), ({"wieghts": None}, "weights"),
                                          ({"class_names": ["a"]}, "classes")])
def test_load_model_rejects_unknown_keywords_with_the_closest_name(kwargs, hint):
    with pytest.raises(InvalidParameterError, match=f"{next(iter(kwargs))}.*Did you mean '{hint}'"):
        zoo.load_model("small_cnn", **kwargs)


@pytest.mark.parametrize("bad", [8, 2048, 2.5, "64", True])
def test_image_size_must_be_an_int_in_a_sane_range(bad):
    with pytest.raises(InvalidParameterError, match="'image_size' parameter of load_model"):
        zoo.load_model("small_cnn", image_size=bad)


def test_numpy_ints_are_ints():
    model = zoo.load_model("small_cnn", num_classes=np.int64(3), image_size=np.int64(24), seed=np.int64(0))
    assert model.num_classes == 3 and model.transforms.size == 24 and type(model.transforms.size) is int


def test_classes_name_each_output():
    model = zoo.load_model("small_cnn", num_classes=2, classes=["cat", "dog"])
    assert model.classes == ["cat", "dog"]
    with pytest.raises(InvalidParameterError, match="classes"):
        zoo.load_model("small_cnn", num_classes=3, classes=["cat", "dog"])


def test_misspelt_weights_word_suggests_the_right_one():
    with pytest.raises(MissingAssetError, match="Did you mean 'pretrained'"):
        zoo.load_model("efficientnet_lite0", weights="pretrianed")


def test_unknown_weights_prefix_suggests_the_known_one():
    with pytest.raises(NoWeightsError, match="Did you mean 'tlw'"):
        zoo.load_model("small_cnn", weights="tlx:mnist")


def test_unknown_depth_names_the_groups():
    model = zoo.load_model("small_cnn", num_classes=2)
    with pytest.raises(UnknownNameError, match="Did you mean 'conv2'"):
        model.features(torch.zeros(1, 1, 32, 32), depth="conv22")


def test_image_transform_checks_its_fields():
    assert ImageTransform(np.int64(8), 1, [0.5], [0.5]).mean == (0.5,)
    with pytest.raises(InvalidParameterError, match="channels"):
        ImageTransform(32, channels=2, mean=(0.5,) * 2, std=(0.5,) * 2)
    with pytest.raises(InvalidParameterError, match="'std' parameter"):
        ImageTransform(32, channels=3, std=(0.5,))


# --- weights providers -------------------------------------------------------------------------


def test_weights_providers_are_an_explicit_table_imported_on_demand(monkeypatch):
    import tlworkbench
    from tlworkbench import sources

    assert isinstance(zoo.WEIGHTS_PROVIDERS, MappingProxyType)
    assert dict(zoo.WEIGHTS_PROVIDERS) == {"tlw": "tlworkbench.sources:provide_weights"}
    # forget the module: asking for the provider imports it again, nothing had to register it
    monkeypatch.setattr(tlworkbench, "sources", sources)
    monkeypatch.delitem(sys.modules, "tlworkbench.sources")
    provider = registry.weights_provider("tlw")
    assert provider.__module__ == "tlworkbench.sources" and provider.__name__ == "provide_weights"
    assert sys.modules["tlworkbench.sources"] is not sources


# --- pickling ----------------------------------------------------------------------------------


def _same(a, b) -> bool:
    if isinstance(a, partial):
        return isinstance(b, partial) and (a.func, a.args, a.keywords) == (b.func, b.args, b.keywords)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_every_card_pickles():
    names = list(zoo.list_models()["name"])
    assert len(names) >= 14
    for name in names:
        spec = zoo.get_spec(name)
        again = pickle.loads(pickle.dumps(spec))
        for f in dataclasses.fields(spec):
            assert _same(getattr(spec, f.name), getattr(again, f.name)), (name, f.name)


@pytest.mark.parametrize("name", ["efficientnet_lite0", "small_cnn", "small_resnet"])
def test_a_trained_model_pickles_and_round_trips_through_torch_save(name, tmp_path):
    model = zoo.load_model(name, num_classes=5, image_size=32, seed=0, classes=list("abcde"))
    x = model.transforms(torch.rand(4, 3, 40, 40))
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    F.cross_entropy(model(x), torch.arange(4)).backward()
    optimizer.step()
    model.eval()
    clone = pickle.loads(pickle.dumps(model))
    torch.save(model, tmp_path / "model.pt")
    loaded = torch.load(tmp_path / "model.pt", weights_only=False)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(clone(x), expected) and torch.equal(loaded(x), expected)
    assert loaded.spec.name == name and loaded.classes == list("abcde") and loaded.transforms == model.transforms
    assert list(loaded.groups) == list(model.groups)


# --- weight files ------------------------------------------------------------------------------


def test_sha256_of_a_file(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"tlw" * 1000)
    assert sha256_file(path) == hashlib.sha256(b"tlw" * 1000).hexdigest()


def test_empty_digest_file_is_corrupt(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.zeros(2)}, path)  # a plain file relies on the digest beside it
    Path(str(path) + ".sha256").write_text("")
    with pytest.raises(CorruptFileError, match="empty"):
        load_state_dict(path)


def test_card_that_is_not_json_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "w.pt"
    save_state_dict({"a": torch.zeros(2)}, path, card={"source": "mnist"})
    assert read_card(path)["source"] == "mnist"
    Path(str(path) + ".json").write_text('{"source": "mni')
    with pytest.raises(CorruptFileError, match=r"w\.pt\.json.*not valid JSON.*Delete"):
        read_card(path)
