"""Safe reading and writing of weight files, their digests and their cards.

A file written here is *sealed*: a ``torch.save`` archive followed by one line that records the
sha256 of every byte before it, so the digest travels with the content and no second file can
fall out of step with it (``torch.load`` reads such a file as it is: zip readers look for the
archive's directory from the end and skip what follows). Every file is read with
``torch.load(..., weights_only=True)`` after its digest is checked: a sealed file against the
digest inside it, a plain one (published weights, or a file saved elsewhere) against the sha256
given by the model card or a ``<file>.sha256`` beside it. Writes go to a temporary file in the
same folder, named after the writing host and process, and one rename puts it into place, so an
interrupted write never leaves a half-written file; :func:`remove_orphaned_temporaries` clears
what a killed writer left. A card is the JSON file ``<file>.json`` beside a weight file: where the weights came from
and what their head outputs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..errors import CorruptFileError, IncompatibleWeightsError, MissingAssetError

__all__ = [
    "sha256_file",
    "atomic_write_bytes",
    "temporary_prefix",
    "remove_orphaned_temporaries",
    "save_state_dict",
    "load_state_dict",
    "load_into",
    "read_card",
    "card_path",
]

_REBUILD = "Delete it so that it is fetched or rebuilt again."
#: The last line of a sealed file: this marker, the hex sha256 of every byte before the line, b"\n".
_SEAL = b"\ntlw-sha256:"
_SEAL_LEN = len(_SEAL) + 64 + 1
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
_TEMPORARY = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def temporary_prefix(name: str) -> str:
    """The start of the name of a temporary file that this process writes for ``name``.

    It names the host and the process, so that :func:`remove_orphaned_temporaries` can tell a
    file whose writer is gone from one that is still being written.
    """
    return f".{name}.{_HOST}.{os.getpid()}."


def _alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would not merely probe there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_orphaned_temporaries(folder: str | os.PathLike, *, max_age: float = 3600.0) -> list[Path]:
    """Delete the temporary files that interrupted writes left in ``folder``.

    A temporary file (``.<name>.<...>.tmp``) is an orphan when its writer, named in it, was a
    process of this host that no longer runs, or when it is older than ``max_age`` seconds
    (any writer: a write takes seconds, and a process on another host cannot be asked).

    Args:
        folder: the folder; nothing happens when it does not exist.
        max_age: seconds after which any temporary file counts as an orphan.

    Returns:
        The files deleted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    now = time.time()
    for path in folder.glob(".*.tmp"):
        match = _TEMPORARY.match(path.name)
        try:
            old = now - path.stat().st_mtime > max_age
        except FileNotFoundError:  # its writer renamed it meanwhile
            continue
        gone = match is not None and match["host"] == _HOST and not _alive(int(match["pid"]))
        if old or gone:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def card_path(path: str | os.PathLike) -> Path:
    """Where the card of the weight file ``path`` lives: ``<path>.json``."""
    return Path(str(path) + ".json")


def _digest_path(path: str | os.PathLike) -> Path:
    return Path(str(path) + ".sha256")


def save_state_dict(state: Mapping[str, Any], path: str | os.PathLike, *,
                    card: Mapping[str, Any] | None = None) -> str:
    """Save a state dict (or any ``weights_only``-loadable mapping) atomically, sealed with its digest.

    Writes ``path`` in one rename (the serialised state and its sha256 together), then, when
    given, the card as ``path.json``. A ``path.sha256`` left by an earlier version is removed.

    Returns:
        The sha256 of the serialised state (recorded inside the file and on the card).
    """
    path = Path(path)
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(path, data + _SEAL + digest.encode() + b"\n")
    _digest_path(path).unlink(missing_ok=True)
    if card is not None:
        atomic_write_bytes(card_path(path), json.dumps({**card, "sha256": digest}, indent=2, default=str).encode())
    return digest


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """Read the card written beside the weight file ``path``; an empty dict when there is none.

    Raises:
        CorruptFileError: the card is not a JSON object (a truncated or hand-edited file).
    """
    card = card_path(path)
    if not card.exists():
        return {}
    fix = (f"Delete {str(card)!r} and the weight file {str(path)!r} beside it so that they are "
           "fetched or rebuilt again.")
    try:
        content = json.loads(card.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"The card {str(card)!r} is not valid JSON ({err}). {fix}") from err
    if not isinstance(content, dict):
        raise CorruptFileError(f"The card {str(card)!r} holds a JSON {type(content).__name__}, "
                               f"not an object. {fix}")
    return content


def _recorded_digest(path: Path) -> str | None:
    side = _digest_path(path)
    if not side.exists():
        return None
    words = side.read_text(encoding="utf-8", errors="replace").split()
    if not words:
        raise CorruptFileError(f"The digest file {str(side)!r} is empty. Delete it and the weight file "
                               f"{str(path)!r} so that they are fetched or rebuilt again.")
    return words[0]


def load_state_dict(path: str | os.PathLike, *, sha256: str | None = None,
                    what: str = "weight file") -> dict[str, Any]:
    """Read a state dict safely.

    A sealed file (see :func:`save_state_dict`) is checked against the digest inside it; a
    ``<path>.sha256`` beside it is then not needed, and a stale one is ignored.

    Args:
        path: the file.
        sha256: the expected digest of a plain file; when ``None``, a ``<path>.sha256`` file
            beside it is used if there is one.
        what: how the file is named in error messages.

    Raises:
        MissingAssetError: the file does not exist.
        CorruptFileError: the digest differs or its file is empty, or the file cannot be
            unpickled safely.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingAssetError(f"The {what} {str(path)!r} does not exist.")
    sealed = _seal_of(path)
    if sealed is not None and sha256 is None:
        # the digest inside is the one that counts; a digest file beside it may be from an earlier write
        recorded, actual = sealed
        if actual != recorded:
            raise CorruptFileError(f"The {what} {str(path)!r} is corrupt or was changed: its content does not "
                                   f"match the sha256 recorded inside it. {_REBUILD}")
    else:
        if sha256 is None:
            sha256 = _recorded_digest(path)
        if sha256 is not None:
            actual = sha256_file(path)
            if actual != sha256:
                raise CorruptFileError(
                    f"The {what} {str(path)!r} is corrupt or was changed: its sha256 is {actual[:12]}..., "
                    f"expected {sha256[:12]}.... {_REBUILD}"
                )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise CorruptFileError(
            f"The {what} {str(path)!r} cannot be read as a PyTorch state dict "
            f"({type(err).__name__}: {err}). {_REBUILD}"
        ) from err
    if not isinstance(state, Mapping):
        raise CorruptFileError(f"The {what} {str(path)!r} holds a {type(state).__name__}, not a state dict. "
                               f"{_REBUILD}")
    return dict(state)


def _seal_of(path: Path) -> tuple[str, str] | None:
    """``(recorded, actual)`` sha256 of a sealed file; ``None`` for a file without a seal."""
    size = path.stat().st_size
    if size < _SEAL_LEN:
        return None
    with open(path, "rb") as f:
        f.seek(size - _SEAL_LEN)
        tail = f.read()
        if not (tail.startswith(_SEAL) and tail.endswith(b"\n")):
            return None
        f.seek(0)
        h = hashlib.sha256()
        left = size - _SEAL_LEN
        while left:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return tail[len(_SEAL):-1].decode("ascii", "replace"), h.hexdigest()


def load_into(module: torch.nn.Module, state: Mapping[str, Any], *, what: str = "weights",
              ignore: tuple[str, ...] = (), fix: str = "Check that the file belongs to this model name.") -> None:
    """Load ``state`` into ``module`` strictly, with an error that lists what does not fit.

    Args:
        module: the target module.
        state: the state dict.
        what: how the weights are named in the error.
        ignore: key prefixes that may be missing from ``state`` (a replaced head).
        fix: what the error tells the caller to do.

    Raises:
        IncompatibleWeightsError: missing or unexpected keys, or shapes that differ.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state and not k.startswith(ignore)]
    unexpected = [k for k in state if k not in own and not k.startswith(ignore)]
    shapes = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and hasattr(v, "shape") and tuple(v.shape) != tuple(own[k].shape)
        and not k.startswith(ignore)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if shapes:
            parts.append(f"shape mismatches {shapes[:3]}{' ...' if len(shapes) > 3 else ''}")
        raise IncompatibleWeightsError(
            f"The {what} do not fit the architecture: {'; '.join(parts)}. {fix}"
        )
    keep = {k: v for k, v in state.items() if k in own and not k.startswith(ignore)}
    module.load_state_dict(keep, strict=False)
