"""Unit tests of tlworkbench.text and the text sets: tiny inputs, fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import tlworkbench as tlw
from tlworkbench.data import offline, registry, text_sets
from tlworkbench.errors import DataError, InvalidParameterError, MissingAssetError, UnknownNameError
from tlworkbench.experiments.text_transfer import duplicates, paired_gains, split_budget
from tlworkbench.text import C_GRID, TopLayers, embed_texts, fine_tune_top, fit_tfidf, pad_hidden, tune_tfidf

_STATUS = """Package: tool{i}
Status: install ok installed
Section: {section}
Description: {synopsis} {i}
 A long description of tool {i}.
 .
 Second paragraph.

"""


def _status(tmp_path, counts):
    blocks = []
    for section, (n, synopsis) in counts.items():
        blocks += [_STATUS.format(i=f"{section}{i}", section=section, synopsis=synopsis) for i in range(n)]
    blocks.append("Package: gone\nStatus: deinstall ok config-files\nSection: admin\nDescription: removed\n\n")
    path = tmp_path / "status"
    path.write_text("".join(blocks))
    return path


@pytest.fixture(scope="module")
def minilm():
    try:
        return tlw.load_model("minilm", num_classes=2)
    except MissingAssetError as err:
        pytest.skip(str(err))


def test_dpkg_records_are_parsed_and_the_sections_become_classes(tmp_path, monkeypatch):
    counts = {s: (15 + k, f"{s} thing") for k, s in enumerate(text_sets.PACKAGE_SECTIONS)}
    counts["libs"] = (40, "shared library")
    monkeypatch.setenv("TLW_DPKG_STATUS", str(_status(tmp_path, counts)))
    monkeypatch.setattr(registry, "_CACHE", {})  # the synthetic set must not stay in the session's cache
    records = text_sets.read_package_records()
    assert len(records) == sum(n for n, _ in counts.values())  # the removed package is not read
    r = next(r for r in records if r.name == "toolperl0")
    assert (r.section, r.synopsis, r.long) == ("perl", "perl thing perl0",
                                               "A long description of tool perl0. Second paragraph.")
    assert text_sets.package_texts([r], "full") == ["perl thing perl0. A long description of tool perl0. "
                                                    "Second paragraph."]
    train = tlw.load_dataset("debian_packages", split="train")
    test = tlw.load_dataset("debian_packages", split="test")
    assert train.classes == list(text_sets.PACKAGE_SECTIONS) and len(train) + len(test) == 15 * 5 + 10
    assert not set(train.texts) & set(test.texts)
    with pytest.raises(UnknownNameError, match="field"):
        text_sets.package_texts(records, "title")


def test_too_few_packages_of_a_section_and_a_missing_status_file_are_explained(tmp_path, monkeypatch):
    counts = {s: (20, s) for s in text_sets.PACKAGE_SECTIONS}
    counts["perl"] = (3, "perl")
    with pytest.raises(DataError, match=r"'perl': 3"):
        text_sets.section_records(text_sets.read_package_records(_status(tmp_path, counts)))
    monkeypatch.setenv("TLW_DPKG_STATUS", str(tmp_path / "nowhere"))
    with pytest.raises(MissingAssetError, match="TLW_DPKG_STATUS"):
        text_sets.read_package_records()
    assert "debian_packages" in set(tlw.list_datasets()["name"])


def test_missing_fortunes_name_the_debian_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(offline, "FORTUNES_DIR", tmp_path)
    with pytest.raises(MissingAssetError, match="sudo apt-get install fortunes fortunes-min"):
        offline.load_fortunes("train", tlw.get_profile("quick"), 0)


def test_embeddings_come_back_in_the_order_of_the_texts(minilm):
    texts = ["a very long sentence about disks filling up on a database server at night", "hi",
             "the pod keeps crashing", "tea"]
    emb = embed_texts(minilm, texts, batch_size=2, keep_top=2)
    alone = torch.cat([embed_texts(minilm, [t]).features for t in texts])
    assert emb.features.shape == (4, 384)
    torch.testing.assert_close(emb.features, alone, atol=1e-5, rtol=1e-4)
    assert [h.shape[0] for h in emb.hidden][1] < [h.shape[0] for h in emb.hidden][0]  # padding removed
    with pytest.raises(InvalidParameterError, match="keep_top"):
        embed_texts(minilm, texts, keep_top=7)
    with pytest.raises(InvalidParameterError, match="model"):
        embed_texts(torch.nn.Linear(2, 2), texts)


def test_top_layers_start_as_the_probe_and_fine_tuning_learns(minilm):
    texts = ["disk full", "disk quota exceeded", "no space left on device", "tasty soup", "soup recipe",
             "a bowl of soup"] * 2
    y = np.array([0, 0, 0, 1, 1, 1] * 2)
    emb = embed_texts(minilm, texts, keep_top=2)
    head = torch.nn.Linear(384, 2)
    net = TopLayers(minilm, 2, head).eval()
    with torch.no_grad():
        torch.testing.assert_close(net(*pad_hidden(emb.hidden)), head(emb.features), atol=1e-4, rtol=1e-4)
    best, tuned, scores = fine_tune_top(minilm, head, (emb.hidden[:6], y[:6]), (emb.hidden[6:], y[6:]), lr=1e-3,
                                        epochs=3, batch_size=3)
    assert len(scores) == 4 and best == max(scores) and best == 1.0
    assert tuned.score(emb.hidden[6:], y[6:])[0] == best
    assert not any(p.requires_grad is False for p in tuned.parameters())
    assert all(p.grad is None for p in minilm.parameters())  # the model itself is left alone


def test_tfidf_chooses_c_on_validation():
    train = (["disk full", "disk error", "tasty soup", "soup recipe"], [0, 0, 1, 1])
    val = (["disk quota", "fish soup"], [0, 1])
    choice = tune_tfidf(train, val)
    assert choice.best in C_GRID and choice.score == 1.0 and list(choice.table["C"]) == list(C_GRID)
    assert fit_tfidf(*train).predict(["soup"]).tolist() == [1]
    with pytest.raises(InvalidParameterError, match="C"):
        fit_tfidf(*train, C=0.0)


def test_budgets_nest_and_gains_pair_on_the_seed():
    labels = np.repeat([0, 1, 2], 30)
    tr10, val10 = split_budget(labels, ["a", "b", "c"], 10, 0)
    tr20, val20 = split_budget(labels, ["a", "b", "c"], 20, 0)
    assert len(tr10) + len(val10) == 30 and set(tr10) | set(val10) <= set(tr20) | set(val20)
    tr, val = split_budget(labels, ["a", "b", "c"], None, 1)
    assert len(tr) == 72 and len(val) == 18 and not set(tr) & set(val)
    runs = pd.DataFrame({"seed": [0, 1, 2] * 2, "budget": "10", "arm": ["tfidf"] * 3 + ["probe:minilm"] * 3,
                         "accuracy": [0.3, 0.32, 0.31, 0.6, 0.65, 0.62]})
    g = paired_gains(runs, [("probe:minilm", "tfidf")]).iloc[0]
    assert g["n"] == 3 and g["verdict"] == "a better" and g["mean"] == pytest.approx(31.3, abs=0.1)
    assert "MiniLM probe better" in g["interval"]
    assert duplicates(["A  Cat", "dog"], ["a cat", "bird", "DOG"]) == 2
