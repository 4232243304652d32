"""Safe reading and writing of weight files.

Every file is read with ``torch.load(..., weights_only=True)`` and, where a sha256 is recorded
(beside the file as ``<file>.sha256``, or in the model card), checked before it is unpickled.
Writes go to a temporary file in the same folder and are renamed into place, so an interrupted
write never leaves a half-written file in the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .errors import CorruptFileError, IncompatibleWeightsError, MissingAssetError

__all__ = [
    "sha256_file",
    "atomic_write_bytes",
    "save_state_dict",
    "load_state_dict",
    "load_into",
    "read_card",
]


def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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


def save_state_dict(state: Mapping[str, Any], path: str | os.PathLike, *,
                    card: Mapping[str, Any] | None = None) -> str:
    """Save a state dict (or any ``weights_only``-loadable object) atomically.

    Writes ``path``, then ``path.sha256`` and, when given, the model card as ``path.json``.

    Returns:
        The sha256 of the written file.
    """
    import io

    path = Path(path)
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(path, data)
    if card is not None:
        atomic_write_bytes(path.with_suffix(path.suffix + ".json"),
                           json.dumps({**card, "sha256": digest}, indent=2, default=str).encode())
    atomic_write_bytes(path.with_suffix(path.suffix + ".sha256"), (digest + "\n").encode())
    return digest


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """Read the model card written beside a weight file, or an empty dict."""
    card = Path(str(path) + ".json")
    if not card.exists():
        return {}
    return json.loads(card.read_text())


def load_state_dict(path: str | os.PathLike, *, sha256: str | None = None,
                    what: str = "weight file") -> dict[str, Any]:
    """Read a state dict safely.

    Args:
        path: the file.
        sha256: the expected digest; when ``None``, a ``<path>.sha256`` file beside it is used
            if there is one.
        what: how the file is named in error messages.

    Raises:
        MissingAssetError: the file does not exist.
        CorruptFileError: the digest differs, or the file cannot be unpickled safely.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingAssetError(f"The {what} {str(path)!r} does not exist.")
    side = Path(str(path) + ".sha256")
    if sha256 is None and side.exists():
        sha256 = side.read_text().split()[0]
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise CorruptFileError(
                f"The {what} {str(path)!r} is corrupt or was changed: its sha256 is {actual[:12]}..., "
                f"expected {sha256[:12]}.... Delete it so that it is fetched or rebuilt again."
            )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for truncated or foreign files
        raise CorruptFileError(
            f"The {what} {str(path)!r} cannot be read as a PyTorch state dict "
            f"({type(err).__name__}: {err}). Delete it so that it is fetched or rebuilt again."
        ) from err
    if not isinstance(state, Mapping):
        raise CorruptFileError(f"The {what} {str(path)!r} holds a {type(state).__name__}, not a state dict.")
    return dict(state)


def load_into(module: torch.nn.Module, state: Mapping[str, Any], *, what: str = "weights",
              ignore: tuple[str, ...] = ()) -> None:
    """Load ``state`` into ``module`` strictly, with an error that lists what does not fit.

    Args:
        module: the target module.
        state: the state dict.
        what: how the weights are named in the error.
        ignore: key prefixes that may be missing from ``state`` (a replaced head).

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
            f"The {what} do not fit the architecture: {'; '.join(parts)}. "
            "Check that the file belongs to this model name."
        )
    keep = {k: v for k, v in state.items() if k in own and not k.startswith(ignore)}
    module.load_state_dict(keep, strict=False)
