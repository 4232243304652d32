"""TransferModel.predict: files, PIL images, arrays and tensors read as training reads them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import tlworkbench as tlw
from tlworkbench.errors import DataError, InvalidParameterError, MissingAssetError


@pytest.fixture(scope="module")
def model():
    return tlw.load_model("efficientnet_lite0", num_classes=3, classes=["red", "green", "blue"], image_size=32,
                          seed=0)


@pytest.fixture(scope="module")
def images():
    return (np.random.default_rng(0).random((4, 24, 30, 3)) * 255).astype(np.uint8)


def test_every_input_form_gives_the_same_answer(model, images, tmp_path):
    files = []
    for i, im in enumerate(images):
        files.append(tmp_path / f"im{i}.png")
        Image.fromarray(im).save(files[-1])
    reference = model.predict_proba(images)  # a batch (N, H, W, C)
    forms = {
        "paths": [str(f) for f in files],
        "Path objects": files,
        "PIL": [Image.fromarray(im) for im in images],
        "arrays": list(images),
        "tensors (C, H, W)": [torch.from_numpy(im).permute(2, 0, 1) for im in images],
        "a tensor batch": torch.from_numpy(images).permute(0, 3, 1, 2),
    }
    for name, x in forms.items():
        np.testing.assert_allclose(model.predict_proba(x).to_numpy(), reference.to_numpy(), atol=1e-5, err_msg=name)
    # float images are resized without rounding to uint8 (as a uint8 set is): a few 1e-4 apart
    np.testing.assert_allclose(model.predict_proba([im / 255.0 for im in images]).to_numpy(), reference.to_numpy(),
                               atol=2e-3)
    out = model.predict([str(f) for f in files])
    assert list(out.columns) == ["prediction", "probability"]
    assert list(out.index) == [f.name for f in files]
    assert set(out["prediction"]) <= {"red", "green", "blue"}
    np.testing.assert_allclose(out["probability"], reference.max(axis=1).to_numpy(), atol=1e-6)
    np.testing.assert_allclose(reference.sum(axis=1), 1.0, atol=1e-5)
    # one input alone
    assert len(model.predict(files[0])) == 1


def test_predict_matches_the_model_on_its_transforms(model, images):
    x = model.transforms(torch.from_numpy(images).permute(0, 3, 1, 2))
    with torch.no_grad():
        p = torch.softmax(model(x), 1).numpy()
    np.testing.assert_allclose(model.predict_proba(images).to_numpy(), p, atol=1e-5)


def test_transparency_grey_and_model_mode(model):
    rgba = np.zeros((20, 20, 4), np.uint8)  # fully transparent: seen as white
    white = np.full((20, 20, 3), 255, np.uint8)
    np.testing.assert_allclose(model.predict_proba(Image.fromarray(rgba, "RGBA")).to_numpy(),
                               model.predict_proba(white).to_numpy(), atol=1e-6)
    grey = np.full((20, 20), 128, np.uint8)
    assert len(model.predict(grey)) == 1
    model.train()
    model.predict(white)
    assert model.training  # left in the mode it was in
    model.eval()


def test_predict_errors(model, tmp_path):
    with pytest.raises(MissingAssetError, match="cannot find"):
        model.predict(str(tmp_path / "nope.png"))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot read"):
        model.predict(bad)
    with pytest.raises(InvalidParameterError):
        model.predict(3.5)
    with pytest.raises(InvalidParameterError):
        model.predict([])
    with pytest.raises(DataError, match="shaped"):
        model.predict(np.zeros((5, 5, 5, 5, 5)))
