"""The feature cache and the fingerprints that key it.

A frozen backbone gives the same features every epoch, so a linear probe needs one forward pass
over the data, not one per epoch. :func:`extract_features` computes them in eval mode and keeps
them in a :class:`FeatureCache` under a key made of four things: the model (its name and a
fingerprint of the backbone's weights and buffers), the data (name, length, a hash of the
targets and of the pixels or texts), the transform the data is read through, and the depth.
Change any of them and the key changes, so a cached tensor is never served for other inputs.

The cache lives in memory and, when a folder is given (``cache_dir=`` or ``TLW_FEATURE_CACHE``),
on disk as well, each file written atomically with its checksum inside; opening the folder clears
the temporary files that killed writes left there. In memory, features of a model whose backbone
has since changed are dropped when that model's new features arrive: no other model can ask for
them, and repeated fine-tuning of one model would otherwise fill the memory budget.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._validate import check_int, param_error
from ..errors import CorruptFileError
from ..zoo.weights import load_state_dict, remove_orphaned_temporaries, save_state_dict

__all__ = ["FeatureCache", "default_cache", "fingerprint_model", "fingerprint_data"]

_CACHE_ENV = "TLW_FEATURE_CACHE"


# --- fingerprints ------------------------------------------------------------------------------


def _new_hash() -> Any:
    # sha256 runs on the CPU's SHA extensions: 65 ms per 100 MB here, blake2b 198 ms, md5 202 ms
    return hashlib.sha256()


def _hash_tensor(h: Any, t: torch.Tensor) -> None:
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.contiguous()  # the memory format must not change the fingerprint
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    if t.numel():
        h.update(t.reshape(-1).view(torch.uint8).numpy())  # the bytes in place, not a copy


def fingerprint_model(model: nn.Module) -> str:
    """A short hash of the backbone's parameters and buffers (the whole model if it has none).

    Buffers count: BatchNorm running statistics change what the backbone computes.
    """
    part = getattr(model, "backbone", model)
    h = _new_hash()
    for name, t in part.state_dict().items():
        h.update(name.encode())
        _hash_tensor(h, t)
    return h.hexdigest()[:32]


def fingerprint_data(dataset: Any) -> str:
    """A short hash of a data set: name, length, all targets and every byte of its pixels or texts.

    Every byte counts, so that an edit of a few images gives another key. The cost is a sha256
    pass over the pixels: 65 ms for a 100 MB image tensor on the machine this was measured on
    (one core; blake2b took 198 ms), small beside the backbone pass the key saves.
    """
    h = _new_hash()
    h.update(f"{getattr(dataset, 'name', type(dataset).__name__)}|{len(dataset)}".encode())
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        _hash_tensor(h, torch.as_tensor(targets))
    images = getattr(dataset, "images", None)
    texts = getattr(dataset, "texts", None)
    if isinstance(images, torch.Tensor):
        _hash_tensor(h, images)
    elif texts is not None:
        for t in texts:
            h.update(str(t).encode("utf-8", "replace"))
            h.update(b"\0")
    else:
        raise param_error("dataset", "fingerprint_data", "a data set with .images or .texts", dataset)
    return h.hexdigest()[:32]


# --- the cache ---------------------------------------------------------------------------------


class FeatureCache:
    """Features by key, in memory (least recently used dropped first) and optionally on disk.

    Args:
        directory: a folder for ``.pt`` files; ``None`` reads ``TLW_FEATURE_CACHE`` at each
            lookup (unset: memory only).
        max_bytes: memory budget; the least recently used entries go first when it is passed.

    Attributes:
        hits: lookups answered from memory or disk.
        misses: features computed because no entry was there.
        disk_hits: the part of ``hits`` read from disk.

    Example:
        >>> cache = FeatureCache()
        >>> f, y = extract_features(model, train, cache=cache)     # doctest: +SKIP
        >>> cache.misses                                            # doctest: +SKIP
        1
    """

    def __init__(self, directory: str | os.PathLike | None = None, *, max_bytes: int = 2 << 30) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.max_bytes = check_int(max_bytes, "max_bytes", "FeatureCache", minimum=0)
        self._memory: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        # key -> (the model that computed the entry, its backbone's fingerprint then)
        self._owners: dict[str, tuple[weakref.ref, str]] = {}
        self._swept: set[Path] = set()
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0

    def __repr__(self) -> str:
        return (f"FeatureCache(entries={len(self._memory)}, bytes={self.nbytes}, hits={self.hits}, "
                f"misses={self.misses}, directory={str(self._folder(None)) if self._folder(None) else None!r})")

    def __len__(self) -> int:
        return len(self._memory)

    def __contains__(self, key: object) -> bool:
        return key in self._memory

    @property
    def nbytes(self) -> int:
        """Bytes held in memory."""
        return sum(f.numel() * f.element_size() + y.numel() * y.element_size() for f, y in self._memory.values())

    @staticmethod
    def key(model: nn.Module, dataset: Any, *, depth: str | None = None, weights: str | None = None) -> str:
        """The cache key of ``(model weights, data, transform, depth)``.

        ``weights``: :func:`fingerprint_model` of ``model`` when it is already known.
        """
        parts = {
            "model": getattr(model, "name", type(model).__name__),
            "weights": weights if weights is not None else fingerprint_model(model),
            "data": fingerprint_data(dataset),
            "transform": repr(getattr(dataset, "transform", None)),
            "depth": depth,
        }
        digest = hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=16).hexdigest()
        return f"{parts['model']}-{digest}"

    def _folder(self, directory: str | os.PathLike | None) -> Path | None:
        if directory is not None:
            folder = Path(directory)
        elif self.directory is not None:
            folder = self.directory
        else:
            env = os.environ.get(_CACHE_ENV, "").strip()
            folder = Path(env) if env else None
        if folder is not None and folder not in self._swept and folder.is_dir():
            self._swept.add(folder)
            remove_orphaned_temporaries(folder)  # what killed writes left, once per folder
        return folder

    def get(self, key: str, *, directory: str | os.PathLike | None = None
            ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The ``(features, labels)`` stored under ``key``, or ``None``."""
        if key in self._memory:
            self._memory.move_to_end(key)
            self.hits += 1
            return self._memory[key]
        folder = self._folder(directory)
        path = folder / f"{key}.pt" if folder is not None else None
        if path is not None and path.is_file():
            state = load_state_dict(path, what="feature cache file")
            if not isinstance(state.get("features"), torch.Tensor) or not isinstance(state.get("labels"), torch.Tensor):
                raise CorruptFileError(f"The feature cache file {str(path)!r} holds no features and labels. "
                                       "Delete it so that they are computed again.")
            entry = (state["features"], state["labels"])
            self._remember(key, entry)
            self.hits += 1
            self.disk_hits += 1
            return entry
        return None

    def put(self, key: str, features: torch.Tensor, labels: torch.Tensor, *,
            directory: str | os.PathLike | None = None, persist: bool = True, model: nn.Module | None = None,
            weights: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Store an entry in memory and, when ``persist`` and a folder is set, on disk.

        Args:
            key: from :meth:`key`.
            features: the features.
            labels: the labels.
            directory: the folder (default: the cache's, else ``TLW_FEATURE_CACHE``).
            persist: write to the folder too.
            model: the model that computed them, with ``weights``, its :func:`fingerprint_model`:
                the entries this model computed with other weights leave memory.

        Returns:
            The stored ``(features, labels)`` (CPU tensors).
        """
        entry = (features.detach().cpu(), labels.detach().cpu())
        if model is not None and weights is not None:
            for old, (ref, fp) in list(self._owners.items()):
                if ref() is model and fp != weights:
                    self._memory.pop(old, None)
                    del self._owners[old]
            self._owners[key] = (weakref.ref(model), weights)
        self._remember(key, entry)
        folder = self._folder(directory) if persist else None
        if folder is not None:
            save_state_dict({"features": entry[0], "labels": entry[1]}, folder / f"{key}.pt")
        return entry

    def _remember(self, key: str, entry: tuple[torch.Tensor, torch.Tensor]) -> None:
        self._memory[key] = entry
        self._memory.move_to_end(key)
        while len(self._memory) > 1 and self.nbytes > self.max_bytes:
            self._owners.pop(self._memory.popitem(last=False)[0], None)

    def clear(self, *, disk: bool = False, directory: str | os.PathLike | None = None) -> None:
        """Forget every entry in memory (and delete the ``.pt`` files on disk when ``disk``)."""
        self._memory.clear()
        self._owners.clear()
        folder = self._folder(directory)
        if disk and folder is not None and folder.is_dir():
            for path in folder.glob("*.pt*"):
                path.unlink(missing_ok=True)


_DEFAULT: list[FeatureCache] = []


def default_cache() -> FeatureCache:
    """The process-wide cache used when ``cache=True`` (made on first use)."""
    if not _DEFAULT:
        _DEFAULT.append(FeatureCache())
    return _DEFAULT[0]


def _resolve_cache(cache: bool | FeatureCache | None) -> FeatureCache | None:
    if cache is True:
        return default_cache()
    if cache is None or cache is False:
        return None
    if isinstance(cache, FeatureCache):
        return cache
    raise param_error("cache", "extract_features", "True, False or a FeatureCache", cache)

