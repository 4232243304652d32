"""Spoken clips synthesised offline with eSpeak NG: a speaker-identification set with no recording.

Every clip is one short text (a digit, a word or a sentence) spoken by one of :data:`VOICES`,
eSpeak NG's voice variants of English (``en+m1``, ``en+f2``, ``en+croak``...), which differ in
pitch, formants and breathiness. The voice is the label. In the ``normal`` condition each clip
gets its own speaking rate and pitch, drawn around eSpeak's defaults from a fixed seed; the
shifted conditions speak the held-out texts :data:`CONDITIONS` faster, slower, higher or lower.

Texts are split before any clip is made: the training split speaks :data:`TRAIN_TEXTS` and the
test split the other texts, so a model that tells voices apart cannot do it by the words.

The clips are synthesised on first use into ``data_home()/espeak_voices`` (a second or two per
hundred clips) and read back from there afterwards; the same eSpeak NG version gives the same
samples. Two engines can speak them: the ``espeak-ng`` program (Debian's package, the first
choice) and, for a user without root, the library of the ``espeakng-loader`` wheel
(:mod:`.espeak_library`). The cache is keyed by the engine and its version, so clips of the two
are never mixed. This is synthetic speech: one synthesiser, one language, no noise, no microphones or
rooms, so it says how representations cope with voice and speaking style, not how they fare on
recorded speakers.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._validate import check_choice, check_names, param_error
from ..config import Profile, data_home
from ..errors import CorruptFileError, MissingAssetError
from . import espeak_library
from .containers import _labels, _Labelled

__all__ = ["VOICES", "TEXTS", "TRAIN_TEXTS", "CONDITIONS", "SAMPLE_RATE", "ENGINES", "ESPEAK_INSTALL",
           "SpeechDataset", "espeak_path", "espeak_engine", "has_espeak", "synthesize", "synthesize_clips",
           "clips_dataset", "load_espeak_voices"]

#: The two routes to eSpeak NG: the program (root) or the library of a wheel (no root).
ESPEAK_INSTALL = f"sudo apt-get install espeak-ng (or, without root: {espeak_library.LIBRARY_INSTALL})"
#: ``"program"``: the ``espeak-ng`` program; ``"library"``: :mod:`.espeak_library`.
ENGINES = ("program", "library")
#: eSpeak NG's output rate (Hz).
SAMPLE_RATE = 22050
#: The speakers: eSpeak NG voice variants of English (``espeak-ng --voices=variant``).
VOICES = ("en+m1", "en+m2", "en+m3", "en+m4", "en+m7", "en+f1", "en+f2", "en+f3", "en+f4", "en+croak")
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_WORDS = ("yes", "no", "stop", "go", "left", "right", "up", "down", "on", "off",
          "hello", "water", "window", "morning", "yellow")
_SENTENCES = ("The cat sat on the mat.", "Open the door, please.", "It is cold today.", "Where is the station?",
              "I like green tea.", "The train leaves at noon.", "Turn off the light.", "We walked to the river.",
              "Please call me later.", "The sky is clear tonight.", "She reads a book.",
              "Bring two cups of coffee.", "The shop opens at nine.", "Let us meet on Monday.",
              "My phone is on the table.")
#: What is spoken: ten digits, fifteen words and fifteen short sentences.
TEXTS = _DIGITS + _WORDS + _SENTENCES
#: The texts of the training split (three in four of each kind); the test split speaks the others.
TRAIN_TEXTS = tuple(t for i, t in enumerate(TEXTS) if i % 4 != 3)
#: ``condition -> (rate range in words per minute, pitch range 0-99)``; each clip draws from its range.
CONDITIONS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "normal": ((150, 200), (40, 60)),
    "fast": ((300, 340), (40, 60)),
    "slow": ((90, 110), (40, 60)),
    "high pitch": ((150, 200), (85, 95)),
    "low pitch": ((150, 200), (5, 15)),
}
_RECIPE_VERSION = 1


def espeak_path() -> str | None:
    """The ``espeak-ng`` program on ``PATH``, or ``None``."""
    return shutil.which("espeak-ng")


def espeak_engine() -> str | None:
    """The engine that speaks: ``"program"`` when ``espeak-ng`` is on ``PATH``, else ``"library"``
    when the ``espeakng-loader`` wheel is installed, else ``None``."""
    if espeak_path() is not None:
        return "program"
    return "library" if espeak_library.has_library() else None


def has_espeak() -> bool:
    """Whether eSpeak NG is installed (the program or the library)."""
    return espeak_engine() is not None


def _require_espeak(engine: str | None = None) -> str:
    """The engine to use (``engine`` when given and installed)."""
    found = espeak_engine() if engine is None else engine
    if found == "program" and espeak_path() is None:
        found = None
    if found == "library" and not espeak_library.has_library():
        found = None
    if found is None:
        wanted = {None: "the eSpeak NG program or its library", "program": "the eSpeak NG program",
                  "library": "the eSpeak NG library"}[engine]
        raise MissingAssetError(f"Synthesised speech needs {wanted}, which is not installed. Install the program "
                                f"with: sudo apt-get install espeak-ng, or, without root, the library with: "
                                f"{espeak_library.LIBRARY_INSTALL}")
    return found


def _read_wav(raw: bytes) -> np.ndarray:
    """The samples of eSpeak's WAV output as float32 in [-1, 1]; ``--stdout`` leaves the sizes unset."""
    start = raw.find(b"data")
    if not raw.startswith(b"RIFF") or start < 0:
        raise CorruptFileError("eSpeak NG did not write a WAV stream; run `espeak-ng --stdout hello` to check it.")
    pcm = raw[start + 8:]
    pcm = pcm[: len(pcm) // 2 * 2]
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def synthesize(text: str, *, voice: str = "en", rate: int = 175, pitch: int = 50,
               engine: str | None = None) -> np.ndarray:
    """Speak ``text`` with eSpeak NG: float32 samples at :data:`SAMPLE_RATE`.

    Args:
        text: what to say.
        voice: an eSpeak voice, with a variant after ``+`` (``"en+f2"``).
        rate: words per minute (80 to 450).
        pitch: base pitch, 0 to 99.
        engine: one of :data:`ENGINES`; ``None``: the program when it is installed, else the
            library (:func:`espeak_engine`).

    Raises:
        MissingAssetError: eSpeak NG is not installed (with the commands that install it).
        InvalidParameterError: a rate or pitch out of range, or an empty text.
        CorruptFileError: eSpeak NG failed.

    Example:
        >>> wav = synthesize("seven", voice="en+m3")  # doctest: +SKIP
        >>> wav.dtype, wav.ndim  # doctest: +SKIP
        (dtype('float32'), 1)
    """
    func = "synthesize"
    if not isinstance(text, str) or not text.strip():
        raise param_error("text", func, "a non-empty str", text)
    if not isinstance(rate, (int, np.integer)) or not 80 <= rate <= 450:
        raise param_error("rate", func, "an int from 80 to 450 (words per minute)", rate)
    if not isinstance(pitch, (int, np.integer)) or not 0 <= pitch <= 99:
        raise param_error("pitch", func, "an int from 0 to 99", pitch)
    if engine is not None:
        check_choice(engine, "engine", func, ENGINES)
    if _require_espeak(engine) == "library":
        pcm, rate_hz = espeak_library.synthesize(text, voice=str(voice), rate=int(rate), pitch=int(pitch))
        if rate_hz != SAMPLE_RATE:
            raise CorruptFileError(f"The eSpeak NG library speaks at {rate_hz} Hz, not {SAMPLE_RATE} Hz.")
        return pcm.astype(np.float32) / 32768.0
    program = espeak_path()
    done = subprocess.run([program, "-v", str(voice), "-s", str(int(rate)), "-p", str(int(pitch)), "--stdout",
                           text], capture_output=True, check=False, timeout=60)
    if done.returncode != 0 or not done.stdout:
        raise CorruptFileError(f"espeak-ng failed for voice {voice!r}: {done.stderr.decode(errors='replace').strip()}"
                               " (list the voices with: espeak-ng --voices=variant)")
    return _read_wav(done.stdout)


def _plan(voices: Sequence[str], conditions: Sequence[str], seed: int) -> pd.DataFrame:
    """One row per clip: which text, voice, condition, rate and pitch (drawn from a fixed seed)."""
    rows = []
    for condition in conditions:
        (r0, r1), (p0, p1) = CONDITIONS[condition]
        texts = TEXTS if condition == "normal" else tuple(t for t in TEXTS if t not in TRAIN_TEXTS)
        for voice in voices:
            # one stream per (condition, voice): adding a voice leaves the others' clips unchanged
            key = int.from_bytes(hashlib.sha256(f"{seed}|{condition}|{voice}".encode()).digest()[:4], "little")
            rng = np.random.default_rng(key)
            for text in texts:
                rows.append({"text": text, "voice": voice, "condition": condition,
                             "rate": int(rng.integers(r0, r1 + 1)), "pitch": int(rng.integers(p0, p1 + 1)),
                             "split": "train" if text in TRAIN_TEXTS else "test"})
    return pd.DataFrame(rows)


def _version(engine: str) -> str:
    """What identifies the engine's samples in the cache key (the program's key is its version line)."""
    if engine == "library":
        return f"library: {espeak_library.version()}"
    done = subprocess.run([espeak_path(), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def synthesize_clips(*, voices: Sequence[str] = VOICES, conditions: Sequence[str] = tuple(CONDITIONS),
                     seed: int = 0, cache: bool = True,
                     progress: Callable[[Any], Any] | None = None) -> tuple[list[np.ndarray], pd.DataFrame]:
    """Every clip of the recipe: ``(waveforms, table)``, synthesised once and then read from the cache.

    Args:
        voices: eSpeak voices (the speakers).
        conditions: keys of :data:`CONDITIONS`; ``"normal"`` speaks every text, the others the test texts.
        seed: the seed of the rates and pitches of the clips.
        cache: keep the clips in ``data_home()/espeak_voices`` (keyed by the recipe, the engine
            and its version).
        progress: wraps the iterable of clips (``tqdm``) when given.

    Returns:
        The float32 waveforms at :data:`SAMPLE_RATE`, and one row per clip: ``text``, ``voice``,
        ``condition``, ``rate``, ``pitch``, ``split``, ``seconds``.

    Raises:
        MissingAssetError: eSpeak NG is not installed.
        UnknownNameError: an unknown condition.
    """
    func = "synthesize_clips"
    conditions = check_names(conditions, "conditions", func, tuple(CONDITIONS))
    voices = [str(v) for v in voices]
    plan = _plan(voices, conditions, seed)
    engine = _require_espeak()
    recipe = json.dumps({"v": _RECIPE_VERSION, "espeak": _version(engine), "plan": plan.to_dict("list")},
                        sort_keys=True)
    path = data_home() / "espeak_voices" / f"{hashlib.sha256(recipe.encode()).hexdigest()[:16]}.npz"
    if cache and path.is_file():
        try:
            with np.load(path) as stored:
                flat, ends = stored["pcm"], stored["ends"]
            waves = [w.astype(np.float32) / 32768.0 for w in np.split(flat, ends[:-1])]
            return waves, plan.assign(seconds=[len(w) / SAMPLE_RATE for w in waves])
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a partial write: synthesise again
    rows = plan.itertuples(index=False)
    waves = [synthesize(r.text, voice=r.voice, rate=r.rate, pitch=r.pitch, engine=engine)
             for r in (progress(rows) if progress is not None else rows)]
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        pcm = np.concatenate([np.round(w * 32768.0).clip(-32768, 32767).astype(np.int16) for w in waves])
        buffer = io.BytesIO()
        np.savez_compressed(buffer, pcm=pcm, ends=np.cumsum([len(w) for w in waves]))
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)
        waves = [np.round(w * 32768.0).clip(-32768, 32767).astype(np.float32) / 32768.0 for w in waves]
    return waves, plan.assign(seconds=[len(w) / SAMPLE_RATE for w in waves])


class SpeechDataset(_Labelled):
    """Waveforms and labels, with one table row of facts per clip (text, condition, rate, pitch).

    Args:
        waveforms: float32 arrays, one per clip.
        targets: class indices.
        classes: class names (the voices).
        table: one row per clip.
        sample_rate: samples per second.
        name: the set's name.
        domain: its domain label.
        transform: applied to the list of waveforms of a batch by :meth:`get_batch`.

    Raises:
        DataError: labels that do not match the clips or the classes.
        InvalidParameterError: a table whose length differs from the clips'.
    """

    def __init__(self, waveforms: Sequence[np.ndarray], targets: Any, classes: Sequence[str], *, table: pd.DataFrame,
                 sample_rate: int = SAMPLE_RATE, name: str = "speech", domain: str | None = None,
                 transform: Callable | None = None) -> None:
        self.waveforms = list(waveforms)
        self.targets = _labels(targets, len(self.waveforms), classes, name, "clips")
        if len(table) != len(self.waveforms):
            raise param_error("table", "SpeechDataset", f"one row per clip ({len(self.waveforms)})", len(table))
        self.table = table.reset_index(drop=True)
        self.classes = list(classes)
        self.sample_rate = int(sample_rate)
        self.name = name
        self.domain = domain or name.split(":")[0]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.waveforms)

    def __repr__(self) -> str:
        return f"SpeechDataset({self.name!r}, n={len(self)}, classes={len(self.classes)})"

    @property
    def modality(self) -> str:
        """``"speech"``."""
        return "speech"

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.waveforms[i], int(self.targets[i])

    def get_batch(self, idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
        """The waveforms at ``idx`` (through the transform when there is one) and their labels."""
        waves = [self.waveforms[int(i)] for i in idx]
        return (self.transform(waves) if self.transform is not None else waves), self.targets[idx]

    def with_transform(self, transform: Any) -> SpeechDataset:
        """The same clips, batches passed through ``transform`` (a function of a list of waveforms)."""
        if not callable(transform):
            raise param_error("transform", "with_transform", "a function of a list of waveforms", transform)
        return SpeechDataset(self.waveforms, self.targets, self.classes, table=self.table,
                             sample_rate=self.sample_rate, name=self.name, domain=self.domain, transform=transform)

    def subset(self, indices: Sequence[int] | np.ndarray | torch.Tensor, *, name: str | None = None) -> SpeechDataset:
        """The clips at ``indices`` (same classes, domain and transform)."""
        idx = np.asarray(indices, dtype=int)
        return SpeechDataset([self.waveforms[i] for i in idx], self.targets[torch.as_tensor(idx)], self.classes,
                             table=self.table.iloc[idx], sample_rate=self.sample_rate, name=name or self.name,
                             domain=self.domain, transform=self.transform)


def clips_dataset(waves: Sequence[np.ndarray], table: pd.DataFrame, *, voices: Sequence[str] = VOICES,
                  name: str = "espeak_voices") -> SpeechDataset:
    """A :class:`SpeechDataset` of clips labelled by voice (the order of ``voices``)."""
    index = {v: i for i, v in enumerate(voices)}
    return SpeechDataset(waves, np.array(table["voice"].map(index), dtype=np.int64), list(voices), table=table, name=name)


def load_espeak_voices(split: str, profile: Profile | None = None, seed: int = 0) -> SpeechDataset:
    """The registry's ``espeak_voices``: ``train`` is the training texts in the normal condition;
    ``test`` is the other texts in every condition (column ``condition`` of ``.table``).

    The clips do not depend on ``seed`` (the registry's signature has it for generated sets):
    their rates and pitches come from the fixed seed 0.

    Raises:
        MissingAssetError: eSpeak NG is not installed.
    """
    check_choice(split, "split", "load_espeak_voices", ("train", "test"))
    waves, table = synthesize_clips()
    keep = np.flatnonzero(table["split"].to_numpy() == split)
    data = clips_dataset(waves, table)
    return data.subset(keep, name=f"espeak_voices:{split}")
