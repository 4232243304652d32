"""Synthesised speech, speech features, the speaker encoder's card and the speech plots (fast)."""

from __future__ import annotations

import importlib
import io
import wave
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import tlworkbench as tlw
from tlworkbench import plots, speech
from tlworkbench.data import speech_sets as ss
from tlworkbench.errors import DataError, InvalidParameterError, MissingAssetError
from tlworkbench.experiments.speech_transfer import draw_budget
from tlworkbench.training import WEIGHT_DECAY_GRID


def _espeak() -> None:
    if not ss.has_espeak():
        with pytest.raises(MissingAssetError) as err:
            ss.synthesize("one")
        pytest.skip(str(err.value))


def _speech_packages() -> None:
    try:
        speech.require_speech()
    except MissingAssetError as err:
        pytest.skip(str(err))


def test_missing_espeak_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(ss.shutil, "which", lambda name: None)
    monkeypatch.setattr(ss.espeak_library, "library_files", lambda: None)  # neither the program nor the wheel
    assert not ss.has_espeak()
    with pytest.raises(MissingAssetError, match=r"sudo apt-get install espeak-ng"):
        ss.synthesize("one")
    with pytest.raises(MissingAssetError, match=r"sudo apt-get install espeak-ng"):
        ss.synthesize_clips(cache=False)


def test_missing_speech_packages_name_the_extra(monkeypatch):
    real = importlib.import_module

    def fake(name, *args):
        if name.startswith(("librosa", "resemblyzer")):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args)

    monkeypatch.setattr(speech.importlib, "import_module", fake)
    with pytest.raises(MissingAssetError, match=r"pip install 'tlworkbench\[speech\]'"):
        speech.mfcc_features([np.ones(1600, np.float32)])
    with pytest.raises(MissingAssetError, match=r"pip install 'tlworkbench\[speech\]'"):
        speech.SpeakerEncoder()


@pytest.mark.parametrize("kwargs", [{"rate": 20}, {"pitch": 120}, {"text": "  "}])
def test_synthesize_rejects_bad_arguments(kwargs):
    args = {"text": "one", **kwargs}
    with pytest.raises(InvalidParameterError):
        ss.synthesize(args.pop("text"), **args)


def test_wav_stream_is_read_without_its_sizes():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(ss.SAMPLE_RATE)
        w.writeframes(np.array([0, 16384, -32768], dtype="<i2").tobytes())
    np.testing.assert_allclose(ss._read_wav(buffer.getvalue()), [0.0, 0.5, -1.0])
    with pytest.raises(tlw.errors.CorruptFileError):
        ss._read_wav(b"not a wav")


def test_synthesis_is_deterministic_and_voices_differ():
    _espeak()
    a = ss.synthesize("seven", voice="en+m3")
    assert a.dtype == np.float32 and a.ndim == 1 and 0.2 < len(a) / ss.SAMPLE_RATE < 2 and np.abs(a).max() > 0.05
    np.testing.assert_array_equal(a, ss.synthesize("seven", voice="en+m3"))
    assert not np.array_equal(a, ss.synthesize("seven", voice="en+f2"))
    fast = ss.synthesize("The cat sat on the mat.", rate=320)
    assert len(fast) < 0.75 * len(ss.synthesize("The cat sat on the mat.", rate=170))


def test_the_plan_splits_texts_before_any_clip_and_draws_in_range():
    plan = ss._plan(ss.VOICES, tuple(ss.CONDITIONS), seed=0)
    assert len(plan) == len(ss.VOICES) * (len(ss.TEXTS) + 4 * (len(ss.TEXTS) - len(ss.TRAIN_TEXTS)))
    train, test = plan[plan["split"] == "train"], plan[plan["split"] == "test"]
    assert set(train["text"]).isdisjoint(test["text"]) and (train["condition"] == "normal").all()
    assert len(ss.TRAIN_TEXTS) == 30 and len(set(ss.TEXTS)) == 40
    for condition, ((r0, r1), (p0, p1)) in ss.CONDITIONS.items():
        part = plan[plan["condition"] == condition]
        assert part["rate"].between(r0, r1).all() and part["pitch"].between(p0, p1).all()
    pd.testing.assert_frame_equal(plan, ss._plan(ss.VOICES, tuple(ss.CONDITIONS), seed=0))
    # one voice fewer leaves the other voices' clips as they were
    fewer = ss._plan(ss.VOICES[:3], ("normal",), seed=0)
    pd.testing.assert_frame_equal(fewer, plan[(plan["condition"] == "normal") & plan["voice"].isin(ss.VOICES[:3])]
                                  .reset_index(drop=True))


def test_clips_are_cached_in_the_data_folder(tmp_path, monkeypatch):
    _espeak()
    monkeypatch.setenv("TLW_DATA", str(tmp_path))
    waves, table = ss.synthesize_clips(voices=("en+m1", "en+f2"), conditions=("fast",))
    assert len(waves) == len(table) == 2 * 10 and (table["split"] == "test").all()
    stored = list((Path(tmp_path) / "espeak_voices").glob("*.npz"))
    assert len(stored) == 1
    again, table2 = ss.synthesize_clips(voices=("en+m1", "en+f2"), conditions=("fast",))
    for a, b in zip(waves, again):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(table, table2)


def test_speech_dataset_subsets_and_batches():
    waves = [np.full(n, 0.1, np.float32) for n in (10, 20, 30, 40)]
    table = pd.DataFrame({"voice": ["a", "b", "a", "b"], "text": list("wxyz")})
    data = ss.clips_dataset(waves, table, voices=("a", "b"))
    assert data.modality == "speech" and data.targets.tolist() == [0, 1, 0, 1] and len(data) == 4
    sub = data.subset([1, 3], name="b only")
    assert sub.table["text"].tolist() == ["x", "z"] and len(sub.waveforms[1]) == 40 and sub.name == "b only"
    x, y = sub.with_transform(lambda ws: [len(w) for w in ws]).get_batch(torch.tensor([0, 1]))
    assert x == [20, 40] and y.tolist() == [1, 1]
    with pytest.raises(InvalidParameterError):
        data.with_transform("mfcc")
    with pytest.raises(InvalidParameterError):
        ss.SpeechDataset(waves, [0, 1, 0, 1], ["a", "b"], table=table.iloc[:3])


def test_the_zoo_and_the_registry_list_the_speech_assets():
    models = tlw.list_models().set_index("name")
    card = models.loc["resemblyzer"]
    assert card["modality"] == "speech" and card["licence"] == "Apache-2.0"
    assert card["params"] == 1_423_616  # a 3-layer LSTM over 40 mel bands and a 256x256 layer
    if importlib.util.find_spec("resemblyzer") is not None:
        assert card["offline"]
        dist = importlib.metadata.distribution("resemblyzer")
        assert "License :: OSI Approved :: Apache Software License" in dist.metadata.get_all("Classifier")
    with pytest.raises(InvalidParameterError, match="tlworkbench.speech"):
        tlw.load_model("resemblyzer")
    sets = tlw.list_datasets().set_index("name")
    row = sets.loc["espeak_voices"]
    assert row["modality"] == "speech" and row["classes"] == len(ss.VOICES) and "GPL-3.0" in row["licence"]


def test_nearest_centroid_uses_the_direction_of_each_class_mean():
    x = np.array([[1.0, 0.1], [2.0, 0.0], [0.0, 1.0], [0.1, 3.0]])
    y = np.array([5, 5, 7, 7])
    # far along the first axis but pointing along the second: cosine, not distance
    assert speech.nearest_centroid(x, y, [[0.2, 9.0], [9.0, 0.5]]).tolist() == [7, 5]
    with pytest.raises(InvalidParameterError):
        speech.nearest_centroid(x, y, np.ones((2, 3)))


def test_tuned_probe_chooses_its_penalty_on_validation_and_refits():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 10)
    x = rng.normal(size=(30, 5)) + 3 * np.eye(3, 5)[y]
    probe, choice = speech.tuned_probe(x, y, num_classes=4)
    assert list(choice.table["weight_decay"]) == list(WEIGHT_DECAY_GRID) and choice.best in WEIGHT_DECAY_GRID
    assert probe.out_features == 4
    assert (probe(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy() == y).mean() > 0.9
    with pytest.raises(DataError, match="at least 2 examples"):
        speech.tuned_probe(x[::10], y[::10])


def test_draw_budget_is_per_class_and_seeded():
    labels = np.repeat([0, 1, 2], 6)
    idx = draw_budget(labels, 2, seed=1)
    assert np.bincount(labels[idx]).tolist() == [2, 2, 2]
    np.testing.assert_array_equal(idx, draw_budget(labels, 2, seed=1))
    assert not np.array_equal(idx, draw_budget(labels, 2, seed=2))
    with pytest.raises(DataError):
        draw_budget(labels, 7, seed=0)


def test_features_of_a_clip_and_the_encoder_hears_the_voice():
    _espeak()
    _speech_packages()
    clips = [ss.synthesize(t, voice=v) for t, v in (("Open the door, please.", "en+m1"),
                                                     ("The sky is clear tonight.", "en+m1"),
                                                     ("Open the door, please.", "en+f2"))]
    ready = speech.prepare_waveforms(clips, ss.SAMPLE_RATE)
    mfcc = speech.mfcc_features(ready)
    assert mfcc.shape == (3, 2 * speech.N_MFCC) and np.isfinite(mfcc).all()
    emb = speech.SpeakerEncoder().embed(ready)
    assert emb.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # the same voice saying another sentence is closer than another voice saying the same one
    assert emb[0] @ emb[1] > emb[0] @ emb[2]
    with pytest.raises(DataError):
        speech.prepare_waveforms([np.zeros(100, np.float32)], ss.SAMPLE_RATE)


def test_speech_plots_draw_what_they_are_given(pyplot):
    ax = plots.plot_spectrogram(np.sin(np.arange(8000) / 3.0), 16000, title="tone")
    assert ax.get_title() == "tone" and ax.get_ylim()[1] == 5000 and len(ax.images) == 1
    runs = pd.DataFrame({"condition": ["normal", "fast"] * 4, "representation": ["a"] * 4 + ["b"] * 4,
                         "accuracy": [0.9, 0.7, 0.8, 0.6, 0.8, 0.75, 0.7, 0.65]})
    ax = plots.plot_condition_scores(runs)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["normal", "fast"]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, [0.85, 0.65, 0.75, 0.7])
    assert len(ax.get_lines()) == 4 and [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(InvalidParameterError):
        plots.plot_spectrogram(np.ones((2, 100)), 16000)
    with pytest.raises(InvalidParameterError):
        plots.plot_condition_scores(runs, y="voice")
