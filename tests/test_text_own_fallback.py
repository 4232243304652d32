"""Notebooks 08 and 10 without Debian's data packages: the choices they make, and the emoji set's
route without root. Availability is changed through the paths the catalogue reads (fortunes'
folder, dpkg's status file, the emoji font and list), so the functions decide as on such a machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tlworkbench.data import emoji, offline
from tlworkbench.errors import MissingAssetError
from tlworkbench.experiments import own_data_sets
from tlworkbench.experiments import text_transfer as tx
from tlworkbench.experiments.text_transfer import result as tx_result

_EMOJI_LIST = """# group: Animals & Nature
# subgroup: animal-mammal
1F98A                                                  ; fully-qualified     # 🦊 E3.0 fox
1F431                                                  ; fully-qualified     # 🐱 E0.6 cat face
# subgroup: animal-bird
1F426                                                  ; fully-qualified     # 🐦 E0.6 bird
"""


@pytest.fixture
def fortunes_absent(monkeypatch, tmp_path):
    monkeypatch.setattr(offline, "FORTUNES_DIR", tmp_path / "no-fortunes")


@pytest.fixture
def packages_present(monkeypatch, tmp_path):
    status = tmp_path / "status"
    status.write_text("Package: x\nSection: admin\nDescription: a tool\n")
    monkeypatch.setenv("TLW_DPKG_STATUS", str(status))


@pytest.fixture
def emoji_absent(monkeypatch, tmp_path):
    """Debian's emoji font and list look absent, and TLW_DATA is an empty folder of the test's own."""
    monkeypatch.setattr(emoji, "EMOJI_FONT", tmp_path / "system" / "NotoColorEmoji.ttf")
    monkeypatch.setattr(emoji, "EMOJI_TEST", tmp_path / "system" / "emoji-test.txt")
    monkeypatch.setenv("TLW_DATA", str(tmp_path / "home"))
    emoji.emoji_by_subgroup.cache_clear()
    emoji._font.cache_clear()
    yield tmp_path / "home"
    emoji.emoji_by_subgroup.cache_clear()
    emoji._font.cache_clear()
    emoji._glyph.cache_clear()


def test_notebook_08_leaves_the_general_task_out_without_fortunes(fortunes_absent, packages_present):
    assert tx.text_tasks() == (tx.DOMAIN,)
    note = tx.task_note(tx.text_tasks())
    assert "fortunes" in note and "sudo apt-get install fortunes fortunes-min" in note and note.count("\n") == 0


def test_notebook_08_runs_both_tasks_with_fortunes(monkeypatch, tmp_path, packages_present):
    (tmp_path / "games").mkdir()
    (tmp_path / "games" / "computers").write_text("A fortune.\n%\n")
    monkeypatch.setattr(offline, "FORTUNES_DIR", tmp_path / "games")
    assert tx.text_tasks() == (tx.GENERAL, tx.DOMAIN) and tx.task_note(tx.text_tasks()) == ""


def test_notebook_08_stops_naming_both_sets_without_the_package_descriptions(monkeypatch, tmp_path, fortunes_absent):
    monkeypatch.setenv("TLW_DPKG_STATUS", str(tmp_path / "no-status"))
    with pytest.raises(MissingAssetError) as err:
        tx.text_tasks()
    assert "debian_packages" in str(err.value) and "'fortunes' (sudo apt-get install fortunes" in str(err.value)
    with pytest.raises(MissingAssetError):
        tx.run_text_transfer(profile="quick")  # before any embedding


def _package_result(seeds=(0, 1, 2, 3, 4)) -> tx.TextTransferResult:
    """A result of the package task alone, built by the experiment's own table functions from
    accuracies that put the probe 20 points above TF-IDF and the SRE encoder 10 below the generic one."""
    rng = np.random.default_rng(0)
    base = {"tfidf": 0.5, "probe:minilm": 0.7, "probe:minilm_sre": 0.6}
    rows = [{"seed": s, "budget": b, "arm": a, "test": t,
             "accuracy": base[a] - 0.05 * (t == "long") + rng.normal(0, 0.01)}
            for s in seeds for b in ("10", "all") for a in base for t in tx.FIELDS]
    domain = pd.DataFrame(rows)
    shift = pd.DataFrame([{"seed": s, "encoder": e, "test": t, "mmd2": 0.1 * (t == "long"), "a_distance": 1.0}
                          for s in seeds for e in tx.ENCODERS for t in tx.FIELDS])
    synopses = domain[domain["test"] == "synopsis"]
    shift_gains, shift_summary = tx_result._shift_tables(domain, shift)
    result = tx.TextTransferResult(
        pd.DataFrame(), pd.DataFrame(), domain, shift,
        tx.paired_gains(synopses, [("probe:minilm_sre", "probe:minilm")]).assign(task="packages"),
        shift_gains, shift_summary, package_gains=tx.paired_gains(synopses, [("probe:minilm", "tfidf")]),
        tasks=(tx.DOMAIN,))
    result.summary = tx_result._summary(result)
    return result


def test_notebook_08_conclusion_without_fortunes_speaks_of_the_packages_only():
    result = _package_result()
    text = tx.conclude(result)
    assert "ortunes" not in text and "Fine-tuning" not in text
    for b in ("10", "all"):
        g = result.package_gains.set_index("budget").loc[b]
        assert g["verdict"] == "a better" and g["n"] == 5 and g["interval"] in text
    assert "domain pretraining hurts" in text
    assert list(result.summary.index.get_level_values("task").unique()) == ["package synopses (technical)"]


def test_emoji_missing_names_the_apt_line_and_the_folder(emoji_absent):
    assert not emoji.has_emoji()
    with pytest.raises(MissingAssetError) as err:
        emoji.emoji_by_subgroup()
    assert emoji.EMOJI_INSTALL in str(err.value) and str(emoji_absent / "emoji") in str(err.value)


def test_emoji_files_copied_into_the_data_folder_are_found(emoji_absent):
    folder = emoji_absent / "emoji"
    folder.mkdir(parents=True)
    (folder / "emoji-test.txt").write_text(_EMOJI_LIST, encoding="utf-8")
    (folder / "NotoColorEmoji.ttf").write_bytes(b"font")
    assert emoji.has_emoji() and emoji.emoji_files() == (folder / "NotoColorEmoji.ttf", folder / "emoji-test.txt")
    groups = emoji.emoji_by_subgroup()
    assert [name for _, name in groups["animal-mammal"]] == ["fox", "cat face"] and len(groups["animal-bird"]) == 1


def test_the_copied_emoji_font_renders(emoji_absent):
    real = [Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"), Path("/usr/share/unicode/emoji/emoji-test.txt")]
    if not all(p.is_file() for p in real):
        pytest.skip("Debian's emoji font and list are not installed here to copy")
    (emoji_absent / "emoji").mkdir(parents=True)
    for p in real:
        shutil.copy(p, emoji_absent / "emoji" / p.name)
    image = emoji.render_emoji(emoji.emoji_by_subgroup()["food-fruit"][0][0], 48, np.random.default_rng(0))
    assert image.shape == (48, 48, 3) and image.std() > 10


def test_notebook_10_falls_back_to_a_folder_of_animal_mnist(emoji_absent, monkeypatch):
    if offline.package_dir("animal_mnist") is None:
        pytest.skip("animal-mnist is not installed")
    monkeypatch.setattr(own_data_sets, "FALLBACK_PER_CLASS", {("train", "quick"): 4, ("test", "quick"): 2})
    default = own_data_sets.default_data(profile="quick", seed=0)
    assert default.name == "animal_mnist" and Path(default.path).parent.parent == emoji_absent
    assert emoji.EMOJI_INSTALL in default.note and default.note.count("\n") == 0
    audit = own_data_sets.audit_data(default.path)
    counts = audit["counts"]
    assert len(counts) == 10 and (counts["train"] == 4).all() and (counts["test"] == 2).all()
    files = audit["files"]
    assert files["item"].is_unique  # each silhouette is its own item: validation by item is a plain split
    assert own_data_sets.default_data(profile="quick", seed=0).path == default.path  # reused, not rewritten


def test_notebook_10_default_is_the_emoji_set_where_it_is_installed(monkeypatch, tmp_path):
    written = []
    monkeypatch.setattr(own_data_sets, "has_emoji", lambda: True)
    monkeypatch.setattr(own_data_sets, "write_emoji_folder",
                        lambda *, profile, seed: written.append((profile.name, seed)) or tmp_path / "emoji")
    default = own_data_sets.default_data(profile="quick", seed=3)
    assert default == (str(tmp_path / "emoji"), "emoji", "") and written == [("quick", 3)]
