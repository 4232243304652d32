"""Augmentation changes the training batches of fine-tuning, never cached features, validation or test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tlworkbench as tlw
from tlworkbench.data.augment import DEFAULT_AUGMENTATION, AugmentedImages, augmentation, augmented
from tlworkbench.errors import DataError, InvalidParameterError, UnknownNameError


def _data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 24, 24), dtype=torch.uint8, generator=g)
    y = np.arange(n) % 3
    x[y == 1, 0] = 255  # something to learn: a red channel, a green one
    x[y == 2, 1] = 255
    return tlw.ImageDataset(x, y, ["a", "b", "c"], name="toy")


class Recorder:
    """An augmentation that flips each image and counts the images it saw."""

    def __init__(self):
        self.calls = 0

    def __call__(self, image):
        self.calls += 1
        return image.flip(-1)


def test_recipes_and_profile_defaults():
    assert DEFAULT_AUGMENTATION == {"quick": "light", "full": "standard"}
    assert augmentation("none", size=32) is None and augmentation(False, size=32) is None
    img = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    for kind in ("light", "standard", True):
        out = augmentation(kind, size=32, profile="quick")(img)
        assert out.shape == img.shape and out.dtype == torch.uint8
    with pytest.raises(UnknownNameError, match="light"):
        augmentation("heavy", size=32)


def test_the_view_augments_batches_and_leaves_the_set_alone():
    model = tlw.load_model("small_cnn", num_classes=3, weights=None, image_size=24)
    data = _data().with_transform(model)
    before = data.images.clone()
    view = augmented(data, "light")
    assert isinstance(view, AugmentedImages) and augmented(data, None) is data
    idx = torch.arange(16)
    torch.manual_seed(0)
    xa, ya = view.get_batch(idx)
    xp, yp = data.get_batch(idx)
    assert xa.shape == xp.shape and torch.equal(ya, yp)
    assert not torch.allclose(xa, xp)  # the batch changed
    assert torch.equal(data.images, before) and torch.equal(data.get_batch(idx)[0], xp)  # the set did not
    torch.manual_seed(0)
    assert torch.equal(view.get_batch(idx)[0], xa)  # seeded: repeatable
    texts = tlw.TextDataset(["x", "y"], [0, 1], ["a", "b"])
    with pytest.raises(DataError, match="image"):
        augmented(texts, "light")


def test_fit_augments_fine_tuning_but_not_cached_features_or_validation():
    train, val, test = _data(seed=0), _data(n=12, seed=1), _data(n=12, seed=2)
    model = tlw.load_model("small_cnn", num_classes=3, weights=None, image_size=24, seed=0)
    features_before, _ = tlw.extract_features(model, train, cache=False)
    test_before = tlw.evaluate(model, test).probabilities

    rec = Recorder()
    tlw.fit(model, train, val, strategy="linear_probe", epochs=2, augment=rec, progress=False)
    assert rec.calls == 0  # the probe trains on cached features: nothing to augment

    model = tlw.load_model("small_cnn", num_classes=3, weights=None, image_size=24, seed=0)
    rec = Recorder()
    history = tlw.fit(model, train, val, strategy="fine_tune", epochs=2, min_steps=0, batch_size=16, augment=rec,
                      progress=False)
    # every training image of each epoch, and no validation image, went through the augmentation
    assert rec.calls == 2 * len(train)
    assert history.frame["split"].tolist().count("val") == 2

    # the features of the training set and the test set's reading are untouched by it
    fresh = tlw.load_model("small_cnn", num_classes=3, weights=None, image_size=24, seed=0)
    features_after, _ = tlw.extract_features(fresh, train, cache=False)
    assert torch.equal(features_before, features_after)
    np.testing.assert_array_equal(tlw.evaluate(fresh, test).probabilities, test_before)


def test_augmentation_changes_what_fine_tuning_learns():
    train = _data(seed=0)
    weights = []
    for augment in (None, "light"):
        model = tlw.load_model("small_cnn", num_classes=3, weights=None, image_size=24, seed=0)
        tlw.fit(model, train, strategy="fine_tune", epochs=1, min_steps=0, batch_size=16, augment=augment, seed=0,
                progress=False)
        weights.append(model.head.weight.detach().clone() if hasattr(model.head, "weight") else
                       [p.detach().clone() for p in model.head.parameters()][0])
    assert not torch.equal(weights[0], weights[1])


def test_fit_val_fraction_carves_a_stratified_split():
    train = _data(n=60)
    model = tlw.load_model("small_cnn", num_classes=3, weights=None, image_size=24, seed=0)
    history = tlw.fit(model, train, strategy="linear_probe", epochs=2, val_fraction=0.25, progress=False)
    assert (history.frame["split"] == "val").sum() == 2 and history.best_epoch is not None
    with pytest.raises(InvalidParameterError, match="val_fraction"):
        tlw.fit(model, train, train, strategy="linear_probe", val_fraction=0.2)
    with pytest.raises(InvalidParameterError, match="val_fraction"):
        tlw.fit(model, train, strategy="linear_probe", val_fraction=1.5)
