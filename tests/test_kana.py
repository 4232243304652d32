"""The kana glyph set: rendered from Debian's Japanese fonts, one class per glyph, fonts recorded."""

from __future__ import annotations

import numpy as np
import pytest

from tlworkbench.config import get_profile
from tlworkbench.data import list_datasets, shared_images
from tlworkbench.data import kana
from tlworkbench.errors import MissingAssetError


@pytest.fixture(scope="module")
def fonts():
    try:
        return kana.kana_fonts()
    except MissingAssetError as err:
        pytest.skip(str(err))


def test_the_scripts_have_46_glyphs_each_and_romanised_names():
    assert len(kana.HIRAGANA) == len(kana.KATAKANA) == len(kana.ROMAJI) == 46
    assert len(set(kana.HIRAGANA + kana.KATAKANA)) == 92 and len(set(kana.ROMAJI)) == 46


def test_render_kana_draws_every_glyph_in_every_font(fonts):
    x, y, f, names = kana.render_kana("アイウ", per_font=2, seed=0, fonts=fonts)
    n = 3 * len(fonts) * 2
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [len(fonts) * 2] * 3 and np.bincount(f).tolist() == [6] * len(fonts)
    assert names == [name for name, _ in fonts]
    assert (x.reshape(n, -1).max(1) > 0).all()  # no blank image: every font has the glyphs
    again = kana.render_kana("アイウ", per_font=2, seed=0, fonts=fonts)[0]
    assert np.array_equal(x, again)  # reproducible from the seed


def test_the_splits_are_the_two_scripts_with_no_shared_image(fonts):
    prof = get_profile("quick")
    train, ftrain, names = kana.load_kana("train", prof, 0, with_fonts=True)
    test = kana.load_kana("test", prof, 0)
    assert train.classes[:3] == ["a", "i", "u"] and test.classes[:3] == ["A", "I", "U"]
    assert len(train) == len(test) == 46 * len(fonts) * kana.RENDERS_PER_FONT["quick"]
    assert len(ftrain) == len(train) and len(names) == len(fonts)
    assert shared_images(train.images.numpy(), test.images.numpy())["shared"] == 0


def test_a_missing_font_folder_raises_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(kana, "KANA_FONTS", tuple((n, f, str(tmp_path)) for n, f, _ in kana.KANA_FONTS))
    monkeypatch.setenv("TLW_DATA", str(tmp_path))
    with pytest.raises(MissingAssetError, match="sudo apt-get install fonts-ipafont-gothic"):
        kana.kana_fonts()


def test_the_card_is_registered():
    row = list_datasets().set_index("name").loc["kana"]
    assert row["classes"] == 46 and "IPA" in row["licence"]
