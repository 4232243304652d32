"""save_model / load_model(path) / export: a model comes back whole, and exported graphs agree with it."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

import tlworkbench as tlw
from tlworkbench.errors import CorruptFileError, InvalidParameterError, MissingAssetError, UnknownNameError
from tlworkbench.saving import export_inputs

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture
def model():
    m = tlw.load_model("small_cnn", num_classes=3, classes=CLASSES, weights=None, seed=0)
    m.bn_policy = "train"
    m.lr_mult = {"head": 2.0}
    with torch.no_grad():  # BatchNorm statistics that differ from the defaults must travel too
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


def _images(n=5, side=40, seed=0):
    return (np.random.default_rng(seed).random((n, side, side, 3)) * 255).astype(np.uint8)


def test_save_then_load_gives_the_same_model(model, tmp_path):
    path = tlw.save_model(model, tmp_path / "m.pt", metrics={"test_accuracy": np.float64(0.75), "n": 40})
    again = tlw.load_model(path)  # a Path
    same = tlw.load_model(str(path))  # and a str
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(again(x), model(x)) and torch.equal(same(x), model(x))
    assert again.classes == CLASSES and again.name == "small_cnn"
    assert again.transforms == model.transforms
    assert again.metrics == {"test_accuracy": 0.75, "n": 40}
    assert again.bn_policy == "train" and again.lr_mult == {"head": 2.0}
    assert not again.training
    # predictions on raw inputs agree exactly too
    np.testing.assert_array_equal(again.predict_proba(_images()).to_numpy(), model.predict_proba(_images()).to_numpy())


def test_the_file_is_weights_only_and_sealed(model, tmp_path):
    path = tlw.save_model(model, tmp_path / "m.pt")
    content = torch.load(path, weights_only=True)  # no pickled code: the safe loader reads it
    assert content["format"] == "tlworkbench-model" and content["name"] == "small_cnn"
    assert set(content["state_dict"]) == set(model.state_dict())
    assert path.read_bytes().rstrip().rsplit(b"\n", 1)[-1].startswith(b"tlw-sha256:")
    # a changed byte is caught by the digest before anything is unpickled
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="sha256"):
        tlw.load_model(path)


def test_load_model_path_errors(model, tmp_path):
    with pytest.raises(MissingAssetError, match="does not exist"):
        tlw.load_model(str(tmp_path / "missing.pt"))
    plain = tmp_path / "state.pt"
    torch.save(model.state_dict(), plain)
    with pytest.raises(CorruptFileError, match="weights=path"):
        tlw.load_model(plain)
    path = tlw.save_model(model, tmp_path / "m.pt")
    with pytest.raises(InvalidParameterError, match="replace_head"):
        tlw.load_model(path, num_classes=5)
    # the image size may change: the transforms follow
    assert tlw.load_model(path, image_size=48).transforms.size == 48
    with pytest.raises(InvalidParameterError):
        tlw.save_model(model, tmp_path / "bad.pt", metrics={"f": object()})
    with pytest.raises(InvalidParameterError):
        tlw.save_model(torch.nn.Linear(2, 2), tmp_path / "bad.pt")


def test_a_colour_pretrained_model_round_trips(tmp_path):
    m = tlw.load_model("efficientnet_lite0", num_classes=2, classes=["a", "b"], image_size=32, seed=0)
    again = tlw.load_model(tlw.save_model(m, tmp_path / "lite.pt"))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(again(x), m(x))
    assert again.weights == "ImageNet-1k" and again.transforms.mean == m.transforms.mean


def test_export_torch_export_matches_the_model(model, tmp_path):
    path = tlw.export(model, tmp_path / "m.pt2", format="torch_export")
    program = torch.export.load(path)
    x = torch.randn(5, 1, 32, 32)  # another batch size than the example: the batch is dynamic
    with torch.no_grad():
        np.testing.assert_allclose(program.module()(x).numpy(), model(x).numpy(), atol=1e-4, rtol=0)
    with zipfile.ZipFile(path) as z:
        classes = [n for n in z.namelist() if n.endswith("classes.json")]
        assert json.loads(z.read(classes[0])) == CLASSES


def test_export_onnx_matches_the_model(model, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="pip install 'tlworkbench[export]'")
    pytest.importorskip("onnxscript", reason="pip install 'tlworkbench[export]'")
    path = tlw.export(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path))
    x = torch.randn(7, 1, 32, 32)
    got = session.run(None, {"images": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), atol=1e-4, rtol=0)
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == CLASSES and json.loads(meta["transforms"])["size"] == 32
    assert model.training is False and export_inputs(model)[0].shape == (2, 1, 32, 32)


def test_export_rejects_an_unknown_format(model, tmp_path):
    with pytest.raises(UnknownNameError, match="onnx"):
        tlw.export(model, tmp_path / "m.x", format="tflite")
