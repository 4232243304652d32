"""Speech features: MFCC statistics and a pretrained speaker encoder's embeddings, and the two
classifiers used on them.

* :func:`mfcc_features`: the mean and standard deviation over time of 20 mel-frequency cepstral
  coefficients (Davis and Mermelstein, 1980), a classic hand-made description of a voice;
* :class:`SpeakerEncoder`: Resemblyzer's speaker encoder, a three-layer LSTM over 40 mel bands
  trained for speaker verification with the generalised end-to-end loss (Wan et al., 2018),
  whose 256-d embedding of an utterance is meant to stay the same for one speaker whatever
  they say. Its weights ship inside the ``resemblyzer`` package (zoo card ``"resemblyzer"``).

Both read the same 16 kHz waveform, volume-normalised with long silences trimmed (Resemblyzer's
``preprocess_wav``), so they differ only in what they make of it. :func:`nearest_centroid` (a
fixed rule, for one example per class) and :func:`tuned_probe` (a logistic regression whose
penalty is chosen on a validation split of the budget) classify either representation alike.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._validate import check_int, param_error
from .config import resolve_progress
from .data import validation_split
from .errors import CorruptFileError, DataError, MissingAssetError
from .training import WEIGHT_DECAY_GRID, choose_on_validation, fit_probe, probe_accuracy
from .training.tuning import GridChoice
from .zoo import get_spec
from .zoo.weights import sha256_file

__all__ = ["SPEECH_INSTALL", "SPEECH_RATE", "ENCODER", "require_speech", "prepare_waveforms", "mfcc_features",
           "SpeakerEncoder", "embed_speakers", "nearest_centroid", "tuned_probe"]

SPEECH_INSTALL = "pip install 'tlworkbench[speech]'"
#: The rate both representations read (Resemblyzer's).
SPEECH_RATE = 16000
#: The zoo name of the speaker encoder.
ENCODER = "resemblyzer"
N_MFCC = 20


def require_speech() -> tuple[Any, Any]:
    """``(librosa, resemblyzer.audio)``, imported now.

    Raises:
        MissingAssetError: either is not installed (with the install command).
    """
    try:
        librosa = importlib.import_module("librosa")
        audio = importlib.import_module("resemblyzer.audio")
    except ImportError as err:
        raise MissingAssetError(f"Speech features need librosa and resemblyzer ({err}). "
                                f"Install them with: {SPEECH_INSTALL}") from err
    return librosa, audio


def prepare_waveforms(waveforms: Sequence[np.ndarray], sample_rate: int) -> list[np.ndarray]:
    """Resample to 16 kHz, normalise the volume and trim long silences (Resemblyzer's ``preprocess_wav``).

    Raises:
        MissingAssetError: librosa or resemblyzer is missing.
        DataError: a clip that is empty or silent.
    """
    _, audio = require_speech()
    out = []
    for i, wav in enumerate(waveforms):
        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1 or len(wav) == 0 or not np.any(wav):
            raise DataError(f"Clip {i} is empty or silent (shape {wav.shape}); every clip needs sound.")
        ready = audio.preprocess_wav(wav, source_sr=int(sample_rate))
        out.append(ready if len(ready) else wav)  # a clip the voice detector drops entirely stays as it was
    return out


def mfcc_features(waveforms: Sequence[np.ndarray], *, n_mfcc: int = N_MFCC) -> np.ndarray:
    """Mean and standard deviation over time of ``n_mfcc`` MFCCs (25 ms windows, 10 ms hop) of
    16 kHz waveforms (:func:`prepare_waveforms`): ``(n, 2 * n_mfcc)``.

    Example:
        >>> mfcc_features([np.sin(np.arange(16000) / 5.0).astype(np.float32)]).shape  # doctest: +SKIP
        (1, 40)
    """
    n_mfcc = check_int(n_mfcc, "n_mfcc", "mfcc_features", minimum=2, maximum=80)
    librosa, _ = require_speech()
    rows = []
    for wav in waveforms:
        m = librosa.feature.mfcc(y=np.asarray(wav, dtype=np.float32), sr=SPEECH_RATE, n_mfcc=n_mfcc, n_fft=400,
                                 hop_length=160, n_mels=40)
        rows.append(np.concatenate([m.mean(1), m.std(1)]))
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), 2 * n_mfcc)


class SpeakerEncoder:
    """Resemblyzer's pretrained speaker encoder on the CPU, its weight file checked against the zoo card.

    Raises:
        MissingAssetError: resemblyzer (or librosa) is not installed.
        CorruptFileError: the weight file differs from the recorded sha256.

    Example:
        >>> encoder = SpeakerEncoder()  # doctest: +SKIP
        >>> encoder.embed(prepare_waveforms([wav], 22050)).shape  # doctest: +SKIP
        (1, 256)
    """

    def __init__(self) -> None:
        require_speech()
        spec = get_spec(ENCODER)
        path = spec.weights_file()
        if path is None or not path.is_file():
            raise MissingAssetError(f"Resemblyzer's weight file is missing. Install it with: {SPEECH_INSTALL}")
        if spec.sha256 is not None and sha256_file(path) != spec.sha256:
            raise CorruptFileError(f"Resemblyzer's weight file {str(path)!r} differs from the recorded sha256; "
                                   f"reinstall it with: pip install --force-reinstall resemblyzer")
        from resemblyzer import VoiceEncoder

        self.model = VoiceEncoder(device="cpu", verbose=False, weights_fpath=path)
        self.spec = spec

    def embed(self, waveforms: Sequence[np.ndarray], *, progress: bool | None = None) -> np.ndarray:
        """One unit-length 256-d embedding per 16 kHz waveform (the mean of 1.6 s windows)."""
        from tqdm.auto import tqdm

        rows = [self.model.embed_utterance(np.asarray(w, dtype=np.float32))
                for w in tqdm(waveforms, desc="speaker embeddings", disable=not resolve_progress(progress),
                              leave=False)]
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)


def embed_speakers(waveforms: Sequence[np.ndarray], sample_rate: int, *, progress: bool | None = None) -> np.ndarray:
    """Speaker embeddings of raw clips: :func:`prepare_waveforms`, then :class:`SpeakerEncoder`."""
    return SpeakerEncoder().embed(prepare_waveforms(waveforms, sample_rate), progress=progress)


def _check_xy(x: Any, y: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise param_error("x", func, "an (n, d) array with one label per row", getattr(x, "shape", x))
    return x, y


def nearest_centroid(x_train: Any, y_train: Any, x_test: Any) -> np.ndarray:
    """Predict the class whose mean direction is closest by cosine similarity: each example is
    scaled to unit length, each class's mean too (a fixed rule with nothing to tune or estimate,
    the scoring speaker encoders are trained for).

    Example:
        >>> nearest_centroid([[0, 1], [1, 0]], [0, 1], [[0.1, 2.0], [3.0, 0.2]]).tolist()
        [0, 1]
    """
    x_train, y_train = _check_xy(x_train, y_train, "nearest_centroid")
    x_test = np.asarray(x_test, dtype=np.float64)
    if x_test.ndim != 2 or x_test.shape[1] != x_train.shape[1]:
        raise param_error("x_test", "nearest_centroid", f"an (n, {x_train.shape[1]}) array", x_test.shape)

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    classes = np.unique(y_train)
    centroids = unit(np.stack([unit(x_train)[y_train == c].mean(0) for c in classes]))
    return classes[np.argmax(unit(x_test) @ centroids.T, axis=1)]


class _Rows:
    """Row indices with labels: what :func:`~tlworkbench.data.validation_split` needs to carve a split."""

    def __init__(self, rows: np.ndarray, labels: np.ndarray, name: str = "budget") -> None:
        self.rows, self.targets, self.name = rows, torch.as_tensor(labels), name
        self.classes = [str(c) for c in range(int(labels.max()) + 1)]

    def subset(self, idx: Any, *, name: str | None = None) -> _Rows:
        idx = np.asarray(idx, dtype=int)
        return _Rows(self.rows[idx], self.targets.numpy()[idx], name or self.name)


def tuned_probe(x_train: Any, y_train: Any, *, grid: Sequence[float] = WEIGHT_DECAY_GRID, seed: int = 0,
                num_classes: int | None = None) -> tuple[torch.nn.Linear, GridChoice]:
    """A logistic-regression probe whose weight decay is chosen on a validation split (a fifth of
    each class, at least one example) carved from the training examples, then refitted on all of them.

    Returns:
        ``(probe, choice)``: the refitted probe and the validation table.

    Raises:
        DataError: a class with fewer than 2 examples (use :func:`nearest_centroid`).

    Example:
        >>> rng = np.random.default_rng(0); y = np.repeat([0, 1], 5)
        >>> x = rng.normal(size=(10, 3)) + 4 * y[:, None]
        >>> probe, choice = tuned_probe(x, y)
        >>> choice.best in WEIGHT_DECAY_GRID
        True
    """
    x, y = _check_xy(x_train, y_train, "tuned_probe")
    features, labels = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    n = int(labels.max()) + 1 if num_classes is None else num_classes
    fit, val = validation_split(_Rows(np.arange(len(y)), y), seed=seed)

    def run(weight_decay: float) -> float:
        probe = fit_probe(features[fit.rows], labels[fit.rows], num_classes=n, weight_decay=weight_decay, seed=seed)
        return probe_accuracy(probe, features[val.rows], labels[val.rows])

    choice = choose_on_validation(run, tuple(grid), name="weight_decay", progress=False)
    return fit_probe(features, labels, num_classes=n, weight_decay=choice.best, seed=seed), choice
