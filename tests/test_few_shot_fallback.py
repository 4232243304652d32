"""Notebook 06 without root: Japanese fonts from TLW_DATA/fonts, and animal_mnist where kana or
Fashion-MNIST is absent (availability made absent by pointing their folders at empty ones)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tlworkbench.data import kana, list_datasets, offline
from tlworkbench.errors import MissingAssetError, UnknownNameError
from tlworkbench.experiments import few_shot as fs


@pytest.fixture(scope="module")
def installed_fonts():
    try:
        return kana.kana_fonts()
    except MissingAssetError as err:
        pytest.skip(str(err))


def _hide_debian_fonts(monkeypatch, tmp_path):
    monkeypatch.setattr(kana, "KANA_FONTS", tuple((n, f, str(tmp_path / "absent")) for n, f, _ in kana.KANA_FONTS))
    monkeypatch.setenv("TLW_DATA", str(tmp_path / "data"))


def _hide_fashion(monkeypatch, tmp_path):
    monkeypatch.setattr(offline, "FASHION_DIR", tmp_path / "absent_fashion")
    monkeypatch.setenv("TLW_DATA", str(tmp_path / "data"))


def test_animals_replace_both_sets_when_kana_and_fashion_are_absent(monkeypatch, tmp_path):
    _hide_debian_fonts(monkeypatch, tmp_path)
    _hide_fashion(monkeypatch, tmp_path)
    table = list_datasets().set_index("name")["available"]
    assert not table["kana"] and not table["fashion_mnist"] and table["animal_mnist"]
    targets = fs.choose_targets()
    assert (targets.few_shot, targets.zero_shot) == ("animal_mnist", "animal_mnist")
    # one line, naming both sets and how to install the preferred ones
    assert "\n" not in targets.reason and targets.reason.startswith("Few-shot set: animal_mnist")
    assert kana.KANA_INSTALL in targets.reason and "sudo apt-get install dataset-fashion-mnist" in targets.reason
    assert str(kana.font_folder()) in targets.reason and str(tmp_path / "data" / "fashion_mnist") in targets.reason


def test_only_the_half_whose_set_is_absent_falls_back(monkeypatch, tmp_path):
    if not list_datasets().set_index("name").loc["fashion_mnist", "available"]:
        pytest.skip("Fashion-MNIST is not installed here")
    _hide_debian_fonts(monkeypatch, tmp_path)
    targets = fs.choose_targets()
    assert (targets.few_shot, targets.zero_shot) == ("animal_mnist", "fashion_mnist")
    assert "zero-shot set: fashion_mnist (available)" in targets.reason


def test_the_preferred_sets_are_kept_where_installed(installed_fonts):
    if not list_datasets().set_index("name").loc["fashion_mnist", "available"]:
        pytest.skip("Fashion-MNIST is not installed here")
    targets = fs.choose_targets()
    assert (targets.few_shot, targets.zero_shot) == ("kana", "fashion_mnist")


def test_fonts_copied_into_the_data_folder_are_found_and_drawn(monkeypatch, tmp_path, installed_fonts):
    _hide_debian_fonts(monkeypatch, tmp_path)
    folder = tmp_path / "data" / "fonts"
    folder.mkdir(parents=True)
    copied = installed_fonts[:kana._MIN_FONTS]
    for _, path in copied:
        shutil.copy(path, folder / path.name)
    (folder / "broken.ttf").write_bytes(b"not a font")  # passed over, not an error
    assert kana.font_folder() == folder
    found = kana.kana_fonts()
    assert sorted(p.name for _, p in found) == sorted(p.name for _, p in copied)
    assert all(p.parent == folder for _, p in found)
    # a known file keeps its typeface's name
    assert {n for n, _ in found} == {n for n, _ in copied}
    x, y, f, names = kana.render_kana("アあ", per_font=1, seed=0, fonts=found)
    assert x.shape == (2 * len(found), 28, 28) and (x.reshape(len(x), -1).max(1) > 0).all()


def test_too_few_fonts_name_the_install_command_and_the_folder(monkeypatch, tmp_path, installed_fonts):
    _hide_debian_fonts(monkeypatch, tmp_path)
    folder = tmp_path / "data" / "fonts"
    folder.mkdir(parents=True)
    _, path = installed_fonts[0]
    shutil.copy(path, folder / path.name)
    import matplotlib

    # a Latin font (no kana glyphs) does not count
    shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", folder)
    with pytest.raises(MissingAssetError) as err:
        kana.kana_fonts()
    assert "1 fonts with every kana glyph found" in str(err.value)
    assert kana.KANA_INSTALL in str(err.value) and str(folder) in str(err.value)


def test_the_animal_split_keeps_choice_and_test_classes_apart():
    classes = offline.ANIMAL_CLASSES
    val = set(fs.ANIMAL_VAL_CLASSES)
    assert len(val) == 5 and val <= set(classes)
    assert len(set(classes) - val) == 5  # the test classes, never used for a choice


def test_every_zero_shot_class_has_one_description():
    assert list(fs.descriptions_for("animal_mnist")) == offline.ANIMAL_CLASSES
    assert list(fs.descriptions_for("fashion_mnist")) == list(offline.FASHION_CLASSES)
    sentences = list(fs.descriptions_for("animal_mnist").values())
    assert len(set(sentences)) == 10 and all(s.endswith(".") for s in sentences)
    with pytest.raises(UnknownNameError, match="kana"):
        fs.descriptions_for("kana")


def test_examples_show_each_test_class_without_fonts():
    test = {"labels": np.repeat(np.arange(5), 4), "fonts": None, "images": np.arange(20 * 4).reshape(20, 2, 2),
            "classes": ["bird", "cow", "elephant", "horse", "zebra"]}
    ex = fs.few_shot_examples({"test": test, "font_names": None})
    assert ex["labels"].tolist() == [0, 1, 2, 3, 4] and ex["ncols"] == 5
    assert ex["caption"] == "test classes: bird, cow, elephant, horse, zebra"


def test_an_unknown_set_is_refused_before_any_work():
    with pytest.raises(UnknownNameError, match="few_shot"):
        fs.run_few_shot_zero_shot(few_shot="omniglot")
    with pytest.raises(UnknownNameError, match="zero_shot"):
        fs.run_few_shot_zero_shot(zero_shot="kana")
