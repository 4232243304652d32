"""Tests of the domain shifts (tlw.shifts) and named domains: each shift is the identity at
strength 0, grows with the strength, is reproducible from its seed, and a domain name gives the
same images wherever it is loaded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tlworkbench as tlw
from tlworkbench.data import DIGITS, ImageDataset, load_dataset, load_domain
from tlworkbench.data import domains as P
from tlworkbench.data import offline
from tlworkbench.data import shifts as S
from tlworkbench.errors import DataError, UnknownDatasetError, UnknownNameError
from tlworkbench.zoo.transforms import ImageTransform

STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0]
RANDOM_KINDS = ["colour", "background", "noise", "rotate", "elastic"]


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_dataset("mnist", split="test").images[::5]  # 200 digits, all classes


def mean_abs_change(before: torch.Tensor, after: torch.Tensor) -> float:
    before = before.float().expand(-1, after.shape[1], -1, -1)  # grey compared with colour output
    return float((after.float() - before).abs().mean())


@pytest.mark.parametrize("kind", list(S.SHIFT_KINDS))
def test_shift_is_identity_at_zero_and_grows_with_strength(kind, digits):
    changes = []
    for s in STRENGTHS:
        out = S.make_shift(kind).with_strength(s)(digits, seed=0)
        assert out.dtype == torch.uint8 and out.shape[0] == digits.shape[0] and out.shape[-2:] == digits.shape[-2:]
        if s == 0:
            assert torch.equal(out, digits) and out.data_ptr() != digits.data_ptr()
        changes.append(mean_abs_change(digits, out))
    assert changes[0] == 0.0
    assert all(b > a for a, b in zip(changes, changes[1:])), (kind, changes)
    assert changes[-1] > 5.0  # a visible change, in grey levels


@pytest.mark.parametrize("kind", list(S.SHIFT_KINDS))
def test_shift_is_deterministic_per_seed(kind, digits):
    shift = S.make_shift(f"{kind}0.5")
    a, b = shift(digits, seed=7), shift(digits, seed=7)
    assert torch.equal(a, b)
    if kind in RANDOM_KINDS:
        assert not torch.equal(a, shift(digits, seed=8))


def test_colour_shifts_give_three_channels_and_others_keep_them(digits):
    assert S.Colour(0.5)(digits).shape[1] == 3
    assert S.Background(0.5)(digits).shape[1] == 3
    assert S.Blur(0.5)(digits).shape[1] == 1
    coloured = S.Colour(1.0)(digits[:20], seed=0)
    assert not torch.equal(coloured[:, 0], coloured[:, 1])
    for kind in S.SHIFT_KINDS:  # every shift reads colour images too
        out = S.make_shift(f"{kind}0.5")(coloured, seed=0)
        assert out.shape == coloured.shape


def test_background_cuts_patches_from_photos_even_for_large_images():
    big = torch.zeros(2, 1, 400, 480, dtype=torch.uint8)
    out = S.Background(1.0, photos=("chelsea",))(big, seed=0)
    assert out.shape == (2, 3, 400, 480) and out.float().std() > 10  # photo texture on a black image
    with pytest.raises(ValueError, match="'photos'"):
        S.Background(photos=("lena",))


def test_strength_and_images_are_validated():
    with pytest.raises(ValueError, match=r"'strength' parameter of Blur must be a finite number >= 0 and "
                                         r"<= 1. Got 1.5"):
        S.Blur(1.5)
    assert S.Blur(np.float32(0.5)).strength == 0.5 and S.Noise(np.int64(1)).strength == 1.0
    with pytest.raises(ValueError, match="'strength'"):
        S.Noise(float("nan"))
    with pytest.raises(ValueError, match="'images'"):
        S.Blur(0.5)(torch.zeros(2, 1, 8, 8))
    with pytest.raises(TypeError, match="'images'"):
        S.Blur(0.5)(np.zeros((2, 8, 8), dtype=np.uint8))


def test_make_shift_parses_names_and_suggests_kinds():
    assert S.make_shift("blur0.5") == S.Blur(0.5)
    assert S.make_shift("invert") == S.Invert(1.0)
    assert S.make_shift("thin0.5") == S.Thickness(0.5, thinner=True)
    combo = S.make_shift("blur0.5+noise0.3")
    assert isinstance(combo, S.Compose) and combo.name == "blur0.5+noise0.3"
    assert (S.Blur(0.5) + S.Noise(0.3)) == combo
    with pytest.raises(UnknownNameError, match="Did you mean 'colour'"):
        S.make_shift("color0.5")
    with pytest.raises(ValueError, match="'strength'"):
        S.make_shift("blur2")
    table = S.list_shifts()
    assert list(table["kind"]) == list(S.SHIFT_KINDS)


def test_compose_applies_in_order_and_scales_together(digits):
    combo = S.Compose([S.Blur(0.5), S.Invert(1.0)])
    out = combo(digits, seed=0)
    assert torch.equal(out, S.Invert(1.0)(S.Blur(0.5)(digits)))  # neither is random
    assert torch.equal(combo.with_strength(0.0)(digits), digits)
    assert torch.equal(combo(digits, seed=3), combo(digits, seed=3))
    with pytest.raises(TypeError, match="'shifts'"):
        S.Compose(["blur"])


def test_shift_dataset_makes_a_new_domain_with_the_same_labels():
    ds = load_dataset("mnist", split="test", transform=ImageTransform(32, 3))
    before = ds.images.clone()
    shifted = S.shift_dataset(ds, "blur0.5", seed=1)
    assert shifted.name == "mnist+blur0.5:test" and shifted.domain == "mnist+blur0.5"
    assert shifted.classes == ds.classes and torch.equal(shifted.targets, ds.targets)
    assert shifted.transform == ds.transform and shifted[0][0].shape == (3, 32, 32)
    assert torch.equal(ds.images, before) and not torch.equal(shifted.images, before)
    with pytest.raises(TypeError, match="'dataset'"):
        S.shift_dataset(load_dataset("fortunes", split="test"), "blur")


def test_domain_pairs_table_lists_the_notebook_pairs():
    table = P.domain_pairs()
    needed = {"font_digits->mnist", "mnist->sklearn_digits", "mnist->opencv_digits", "mnist->mnist+blur",
              "mnist->mnist+invert", "mnist->mnist+colour"}
    assert needed <= set(table["name"])
    available = table.set_index("name")["available"]
    assert available.loc[sorted(needed - {"mnist->opencv_digits"})].all()
    # OpenCV's digits come from a Debian package (or a file a user without root places)
    assert available.loc["mnist->opencv_digits"] == (offline.opencv_digits_file() is not None)
    assert {"name", "source", "target", "description", "available"} <= set(table.columns)


def test_load_pair_returns_source_and_target_splits():
    src_tr, src_te, tgt_tr, tgt_te = P.load_pair("font_digits->mnist")
    assert src_tr.domain == "fonts" and tgt_te.domain == "mnist"
    assert src_tr.classes == tgt_tr.classes == DIGITS
    assert len(src_tr) == 4000 and len(tgt_te) == 1000
    model_t = ImageTransform(32, 3)
    pair = P.load_pair("mnist->mnist+blur", transform=model_t)
    assert [d.domain for d in pair] == ["mnist", "mnist", "mnist+blur0.5", "mnist+blur0.5"]
    assert all(d.transform == model_t for d in pair)
    assert torch.equal(pair[1].targets, pair[3].targets)
    assert not torch.equal(pair[1].images, pair[3].images)
    assert torch.equal(pair[3].images, P.load_pair("mnist->mnist+blur")[3].images)  # reproducible
    free = P.load_pair("mnist->mnist+noise0.2+rotate0.3", seed=1)
    assert free[2].domain == "mnist+noise0.2+rotate0.3"


def test_load_pair_errors():
    with pytest.raises(UnknownDatasetError, match="Did you mean 'mnist'.*named pair 'font_digits->mnist'"):
        P.load_pair("font_digits->mnsit")
    with pytest.raises(UnknownDatasetError, match=r"Did you mean 'mnist->mnist\+blur'"):
        P.load_pair("mnist_blur")
    with pytest.raises(UnknownNameError, match="Did you mean 'invert'"):
        P.load_pair("mnist->mnist+inverse")
    with pytest.raises(DataError, match="different classes"):
        P.load_pair("mnist->fashion_mnist")


def test_shifted_images_stay_a_valid_image_dataset():
    ds = ImageDataset(torch.randint(0, 256, (5, 1, 12, 12), dtype=torch.uint8), [0, 1, 0, 1, 0], ["a", "b"],
                      name="tiny")
    out = S.shift_dataset(ds, S.Compose([S.Colour(1.0), S.Elastic(0.5)]))
    assert out.images.shape == (5, 3, 12, 12) and out.name == "tiny+colour1+elastic0.5"


def test_shifts_is_the_public_module():
    assert tlw.shifts is S and tlw.shifts.make_shift("invert") == S.Invert(1.0)
    with pytest.raises(TypeError, match="'spec'"):
        S.make_shift(3)
    with pytest.raises(ValueError, match="'seed'"):
        S.shift_dataset(load_dataset("mnist", split="test"), "blur", seed=0.5)


def test_a_domain_gives_the_same_images_wherever_it_is_loaded():
    blurred_test = load_domain("mnist+blur0.5", split="test", seed=1)
    as_target = P.load_pair("mnist->mnist+blur", seed=1)
    as_source = P.load_pair("mnist+blur0.5->mnist", seed=1)
    assert torch.equal(as_target[3].images, blurred_test.images)
    assert torch.equal(as_source[1].images, blurred_test.images)
    assert torch.equal(as_target[2].images, load_domain("mnist+blur0.5", split="train", seed=1).images)
    # train and test draw the shift differently; a seed changes the draw, not the digits
    noisy = [load_domain("mnist+noise0.5", split="test", seed=k) for k in (0, 1)]
    assert torch.equal(noisy[0].targets, noisy[1].targets) and not torch.equal(noisy[0].images, noisy[1].images)
    with pytest.raises(TypeError, match="'spec'"):
        load_domain(None)
    with pytest.raises(tlw.DataError, match="fortunes"):
        load_domain("fortunes")
