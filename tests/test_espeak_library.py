"""eSpeak NG through the library of the espeakng-loader wheel, and the choice of engine (fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tlworkbench.data import espeak_library as el
from tlworkbench.data import speech_sets as ss
from tlworkbench.errors import MissingAssetError, UnknownNameError


def _library() -> None:
    if not el.has_library():
        with pytest.raises(MissingAssetError, match="pip install espeakng-loader"):
            el.synthesize("one")
        pytest.skip(f"the eSpeak NG library is not installed ({el.LIBRARY_INSTALL})")


def _hide_program(monkeypatch) -> None:
    """As on a machine without the Debian package: no espeak-ng on PATH, and no way to run it."""
    monkeypatch.setattr(ss.shutil, "which", lambda name: None)

    def no_program(*args, **kwargs):
        raise AssertionError(f"the espeak-ng program was run: {args}")

    monkeypatch.setattr(ss.subprocess, "run", no_program)


def test_every_voice_of_the_set_is_in_the_wheels_data_and_speaks():
    _library()
    assert {v.partition("+")[2] for v in ss.VOICES} <= set(el.variants())
    clips = {}
    for voice in ss.VOICES:
        pcm, rate = el.synthesize("seven", voice=voice)
        assert rate == ss.SAMPLE_RATE == 22050 and pcm.dtype == np.int16
        assert 0.3 < len(pcm) / rate < 1.5 and np.abs(pcm).max() > 0.2 * 32768  # a spoken word, not silence
        clips[voice] = pcm
    again, _ = el.synthesize("seven", voice=ss.VOICES[0])
    np.testing.assert_array_equal(again, clips[ss.VOICES[0]])  # the same call, the same samples
    # every voice sounds its own way: no two clips are the same samples
    distinct = {c.tobytes() for c in clips.values()}
    assert len(distinct) == len(ss.VOICES)
    with pytest.raises(UnknownNameError, match="variants"):
        el.synthesize("seven", voice="en+nobody")


def test_rate_and_pitch_reach_the_library():
    _library()
    text = "The cat sat on the mat."
    fast, _ = el.synthesize(text, voice="en+m1", rate=320)
    slow, _ = el.synthesize(text, voice="en+m1", rate=120)
    normal, _ = el.synthesize(text, voice="en+m1", rate=170)
    assert len(fast) < 0.75 * len(normal) < 0.75 * len(slow)
    high, _ = el.synthesize(text, voice="en+m1", rate=170, pitch=90)
    assert not np.array_equal(high, normal)
    # the parameters are set on each call, not left over from the last one
    np.testing.assert_array_equal(el.synthesize(text, voice="en+m1", rate=170)[0], normal)


def test_synthesize_uses_the_library_when_the_program_is_missing(monkeypatch, tmp_path):
    _library()
    _hide_program(monkeypatch)
    assert ss.espeak_engine() == "library" and ss.has_espeak()
    wave = ss.synthesize("seven", voice="en+m3", rate=180, pitch=40)
    pcm, _ = el.synthesize("seven", voice="en+m3", rate=180, pitch=40)
    assert wave.dtype == np.float32
    np.testing.assert_array_equal(wave, pcm.astype(np.float32) / 32768.0)
    with pytest.raises(MissingAssetError, match="sudo apt-get install espeak-ng"):
        ss.synthesize("seven", engine="program")
    # a whole recipe, cached under a key of the library's own
    monkeypatch.setenv("TLW_DATA", str(tmp_path))
    waves, table = ss.synthesize_clips(voices=("en+m1", "en+f2"), conditions=("fast",))
    assert len(waves) == len(table) == 20 and all(np.abs(w).max() > 0.1 for w in waves)
    stored = list(Path(tmp_path, "espeak_voices").glob("*.npz"))
    assert len(stored) == 1
    again, _ = ss.synthesize_clips(voices=("en+m1", "en+f2"), conditions=("fast",))
    for a, b in zip(waves, again):
        np.testing.assert_array_equal(a, b)


def test_the_two_engines_keep_their_clips_apart(monkeypatch, tmp_path):
    _library()
    if ss.espeak_path() is None:
        pytest.skip(f"the eSpeak NG program is not installed ({ss.ESPEAK_INSTALL})")
    monkeypatch.setenv("TLW_DATA", str(tmp_path))
    recipe = {"voices": ("en+m1",), "conditions": ("fast",)}
    by_program, _ = ss.synthesize_clips(**recipe)
    with monkeypatch.context() as m:
        _hide_program(m)
        by_library, _ = ss.synthesize_clips(**recipe)
    assert len(list(Path(tmp_path, "espeak_voices").glob("*.npz"))) == 2
    # the same words, about as long, from two builds of eSpeak NG
    for a, b in zip(by_program, by_library):
        assert 0.8 < len(a) / len(b) < 1.25
    # with the program back, its own clips come back from the cache
    for a, b in zip(by_program, ss.synthesize_clips(**recipe)[0]):
        np.testing.assert_array_equal(a, b)


def test_without_program_or_library_the_error_names_both_routes(monkeypatch):
    _hide_program(monkeypatch)
    monkeypatch.setattr(el, "library_files", lambda: None)
    assert ss.espeak_engine() is None and not ss.has_espeak()
    for call in (lambda: ss.synthesize("one"), lambda: ss.synthesize_clips(cache=False)):
        with pytest.raises(MissingAssetError) as err:
            call()
        assert "sudo apt-get install espeak-ng" in str(err.value) and "pip install espeakng-loader" in str(err.value)
    with pytest.raises(MissingAssetError, match="pip install espeakng-loader"):
        el.synthesize("one")
