"""eSpeak NG as a library, through ``ctypes``: synthesised speech without the ``espeak-ng`` program.

The Debian package ``espeak-ng`` needs root. The PyPI wheel ``espeakng-loader`` (manylinux and
macOS builds) ships eSpeak NG's shared library with its voice data and only says where they
are; no maintained Python library synthesises audio through that wheel (the projects that
depend on it ask it for phonemes, and the Python wrappers of eSpeak either run the program or
load the system's library). So the few calls that synthesis needs are bound here, from
eSpeak NG's ``speak_lib.h``: ``espeak_Initialize`` in synchronous mode with the wheel's data,
``espeak_SetSynthCallback`` collecting the 16-bit samples, ``espeak_SetVoiceByName``,
``espeak_SetParameter`` for the rate and the pitch, ``espeak_Synth`` and ``espeak_Synchronize``.

The library keeps one voice and one set of parameters per process, so calls are serialised by a
lock, and it is loaded afresh for every clip (see :func:`_loaded`). It speaks at 22,050 Hz, as the program does; the two engines are different builds (the
wheel's eSpeak NG version may differ from the system's), so their samples need not be equal.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import param_error
from ..errors import CorruptFileError, MissingAssetError, UnknownNameError

__all__ = ["LIBRARY_INSTALL", "has_library", "library_files", "variants", "version", "synthesize"]

#: The command that installs the library route (no root needed).
LIBRARY_INSTALL = "pip install espeakng-loader"

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # a missing data folder is an error code, not exit()
_RATE, _PITCH = 1, 3  # espeak_PARAMETER
_POS_CHARACTER = 1
# as the program synthesises: UTF-8 text, [[phonemes]] allowed, a pause at the end
_FLAGS = 0x1 | 0x100 | 0x1000  # espeakCHARS_UTF8 | espeakPHONEMES | espeakENDPAUSE
_EE_OK = 0

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def library_files() -> tuple[Path, Path] | None:
    """``(shared library, espeak-ng-data folder)`` of the ``espeakng-loader`` wheel, or ``None``."""
    if importlib.util.find_spec("espeakng_loader") is None:
        return None
    import espeakng_loader

    lib = Path(espeakng_loader.get_library_path())
    data = lib.parent / "espeak-ng-data"  # get_data_path() raises when it is missing
    return (lib, data) if lib.is_file() and (data / "phontab").is_file() else None


def has_library() -> bool:
    """Whether the ``espeakng-loader`` wheel, with its library and voice data, is installed."""
    return library_files() is not None


def variants() -> list[str]:
    """The voice variants in the wheel's data (what may follow a ``+``: ``m3``, ``f2``, ``croak``...).

    Raises:
        MissingAssetError: the wheel is not installed.
    """
    files = library_files()
    if files is None:
        raise MissingAssetError(f"The eSpeak NG library is not installed. Install it with: {LIBRARY_INSTALL}")
    return sorted(p.name for p in (files[1] / "voices" / "!v").iterdir() if p.is_file())


class _Engine:
    """The lock over the library and the samples its callback collects."""

    lock = threading.Lock()
    chunks: list[np.ndarray] = []


@_CALLBACK
def _collect(wav: Any, n: int, events: Any) -> int:
    if wav and n > 0:
        _Engine.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
    return 0  # 0: go on synthesising


@contextmanager
def _loaded() -> Iterator[tuple[Any, int]]:
    """``(library, sample rate)``: loaded and initialised afresh, unloaded on leaving (under the lock).

    eSpeak NG keeps state from one synthesis to the next that no call resets (the phase of its
    pitch flutter, at least; ``espeak_Terminate`` and a new ``espeak_Initialize`` leave it): the
    same call twice gave clips a few samples apart. The program starts afresh for every clip;
    loading the library afresh (about 20 ms) gives the same clip for the same call, as it does.
    """
    files = library_files()
    if files is None:
        raise MissingAssetError(f"The eSpeak NG library is not installed. Install it with: {LIBRARY_INSTALL}")
    lib_path, data = files
    try:
        lib = ctypes.CDLL(str(lib_path))
    except OSError as err:
        raise MissingAssetError(f"The eSpeak NG library {str(lib_path)!r} does not load ({err}). Reinstall it "
                                f"with: pip install --force-reinstall espeakng-loader") from err
    try:
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data).encode(), _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise CorruptFileError(f"eSpeak NG could not start with the voice data in {str(data)!r}. Reinstall "
                                   "it with: pip install --force-reinstall espeakng-loader")
        lib.espeak_SetSynthCallback(_collect)
        try:
            yield lib, rate
        finally:
            lib.espeak_Terminate()
    finally:
        handle = lib._handle
        del lib
        _unload(handle)


def _unload(handle: int) -> None:
    """Close the library, so that the next load starts from its initial state."""
    import _ctypes

    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        close(handle)


def version() -> str:
    """The library's eSpeak NG version and the wheel's, e.g. ``"eSpeak NG 1.52.0 (espeakng-loader 0.2.4)"``.

    Raises:
        MissingAssetError: the wheel is not installed.
    """
    with _Engine.lock, _loaded() as (lib, _):
        info = lib.espeak_Info(None).decode(errors="replace")
    return f"eSpeak NG {info} (espeakng-loader {importlib.metadata.version('espeakng-loader')})"


def synthesize(text: str, *, voice: str = "en", rate: int = 175, pitch: int = 50) -> tuple[np.ndarray, int]:
    """Speak ``text`` with the library: ``(int16 samples, sample rate)``.

    Arguments are not checked here beyond what the library refuses;
    :func:`tlworkbench.data.speech_sets.synthesize` checks them.

    Args:
        text: what to say.
        voice: an eSpeak voice, with a variant after ``+`` (``"en+f2"``).
        rate: words per minute.
        pitch: base pitch, 0 to 99.

    Raises:
        MissingAssetError: the wheel is not installed.
        UnknownNameError: a variant that the data do not hold (the library would speak the
            language's own voice instead, without a word).
        CorruptFileError: an unknown voice, or synthesis failed.
    """
    variant = str(voice).partition("+")[2]
    if variant and variant not in variants():
        raise param_error("voice", "synthesize", "an eSpeak voice whose variant after '+' is one of "
                          "espeak_library.variants()", voice, error=UnknownNameError)
    with _Engine.lock, _loaded() as (lib, rate_hz):
        if lib.espeak_SetVoiceByName(str(voice).encode()) != _EE_OK:
            raise CorruptFileError(f"eSpeak NG has no voice {voice!r} in the data of espeakng-loader (variants "
                                   "follow a '+': 'en+m3', 'en+f2', 'en+croak').")
        lib.espeak_SetParameter(_RATE, int(rate), 0)
        lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        raw = text.encode("utf-8")
        _Engine.chunks = []
        try:
            done = lib.espeak_Synth(raw, len(raw) + 1, 0, _POS_CHARACTER, 0, _FLAGS, None, None)
            lib.espeak_Synchronize()
            chunks = _Engine.chunks
        finally:
            _Engine.chunks = []
        if done != _EE_OK or not chunks:
            raise CorruptFileError(f"The eSpeak NG library failed for voice {voice!r} (error {done}).")
        return np.concatenate(chunks).astype(np.int16, copy=False), rate_hz
